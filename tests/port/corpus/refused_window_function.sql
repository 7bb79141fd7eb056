-- Refused: a window function (ROW_NUMBER OVER) keeping each rider's first request.
WITH ranked AS (
  SELECT event_time, lat, lon, ROW_NUMBER() OVER (PARTITION BY rider_id ORDER BY event_time) AS n
  FROM ride_events
)
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(*) AS first_requests
FROM ranked
WHERE n = 1
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
