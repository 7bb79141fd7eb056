-- Exercises COUNT(*): every ride request counts, duplicates and null fields included.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(*) AS requests
FROM ride_events
WHERE event_type = 'ride_requested'
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
