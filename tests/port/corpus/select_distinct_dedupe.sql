-- Exercises a SELECT DISTINCT dedupe CTE (as avg_eta.sql): duplicate deliveries count once in the count and the mean.
WITH requests AS (
  SELECT DISTINCT event_id, event_time, lat, lon, eta_seconds
  FROM ride_events
  WHERE event_type = 'ride_requested'
)
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(*) AS requests,
  AVG(eta_seconds) AS avg_eta_seconds
FROM requests
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
