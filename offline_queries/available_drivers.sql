-- Distinct drivers that reported themselves available, per geohash6 cell per 1-minute tumbling window.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(DISTINCT driver_id) AS drivers
FROM ride_events
WHERE event_type = 'driver_ping' AND available AND driver_id IS NOT NULL
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
