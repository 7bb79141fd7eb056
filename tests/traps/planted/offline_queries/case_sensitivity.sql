-- Planted: the SQL ignores the case of city; the job compares it as written.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(DISTINCT event_id) AS requests
FROM ride_events
WHERE event_type = 'ride_requested'
  AND lower(city) = 'san francisco'
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
