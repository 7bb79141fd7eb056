-- Planted: distinct riders offline; the job counts every request (a rider asking twice counts twice).
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(DISTINCT rider_id) AS riders
FROM ride_events
WHERE event_type = 'ride_requested' AND rider_id IS NOT NULL
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
