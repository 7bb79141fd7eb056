-- Planted: `DIV` floors in Spark; the job's `/` does not.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  CAST(MAX(eta_seconds) AS BIGINT) DIV 60 AS max_eta_minutes
FROM ride_events
WHERE event_type = 'ride_requested' AND eta_seconds IS NOT NULL
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
