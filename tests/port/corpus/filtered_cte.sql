-- Exercises a CTE that only filters (no DISTINCT) and a WHERE on the outer query over it.
WITH pings AS (
  SELECT event_id, event_time, lat, lon, driver_id, available
  FROM ride_events
  WHERE event_type = 'driver_ping'
)
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(DISTINCT driver_id) AS drivers
FROM pings
WHERE available
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
