-- Exercises a WHERE with AND/OR/NOT, IN, LIKE, IS NULL and != (a null city is dropped by != in SQL, kept by Python's !=).
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(*) AS events
FROM ride_events
WHERE (event_type IN ('ride_requested', 'ride_completed') OR event_type LIKE 'driver%')
  AND city != 'sf'
  AND NOT (rider_id IS NULL AND driver_id IS NULL)
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
