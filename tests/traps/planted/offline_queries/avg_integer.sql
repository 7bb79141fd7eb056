-- Planted: AVG over integers is a double in Spark; the job floors its mean.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  AVG(CAST(eta_seconds AS BIGINT)) AS avg_eta_seconds
FROM ride_events
WHERE event_type = 'ride_requested' AND eta_seconds IS NOT NULL
GROUP BY geohash(lat, lon, 6), window(event_time, '5 minutes')
