-- Planted: Spark's `/` gives 1.5 minutes for 90 seconds; the job's `//` gives 1.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  MAX(eta_seconds) / 60 AS max_eta_minutes
FROM ride_events
WHERE event_type = 'ride_requested' AND eta_seconds IS NOT NULL
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
