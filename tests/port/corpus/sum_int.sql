-- Exercises SUM over integers (CAST of a double truncates toward zero): an exact integer sum, NULL when all are null.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  SUM(CAST(eta_seconds AS INT)) AS eta_seconds_total
FROM ride_events
WHERE event_type = 'ride_requested'
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
