-- Exercises CASE inside aggregates: a conditional sum (ELSE 0) and a conditional count (no ELSE: NULL is not counted).
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  SUM(CASE WHEN eta_seconds > 300 THEN 1 ELSE 0 END) AS slow_quotes,
  COUNT(CASE WHEN event_type = 'ride_requested' THEN 1 END) AS requests
FROM ride_events
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
