-- Exercises MIN and MAX over doubles and strings: nulls skipped, NULL when no value.
SELECT
  geohash(lat, lon, 5) AS geohash5,
  window.start AS window_start,
  window.end AS window_end,
  MIN(eta_seconds) AS min_eta,
  MAX(eta_seconds) AS max_eta,
  MIN(driver_id) AS first_driver
FROM ride_events
GROUP BY geohash(lat, lon, 5), window(event_time, '1 minute')
