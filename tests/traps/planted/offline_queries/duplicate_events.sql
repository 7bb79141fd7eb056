-- Planted: the SQL deduplicates deliveries by event_id before averaging; the job averages every delivery.
WITH requests AS (
  SELECT DISTINCT event_id, event_time, lat, lon, eta_seconds
  FROM ride_events
  WHERE event_type = 'ride_requested' AND eta_seconds IS NOT NULL
)
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  AVG(eta_seconds) AS avg_eta_seconds
FROM requests
GROUP BY geohash(lat, lon, 6), window(event_time, '5 minutes')
