-- Refused: percentile (the median ETA) needs every value of the window.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  percentile(eta_seconds, 0.5) AS median_eta
FROM ride_events
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
