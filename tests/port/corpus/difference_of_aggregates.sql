-- Exercises expressions over aggregates: a difference of counts and the spread of ETAs (NULL when no ETA).
SELECT
  geohash(lat, lon, 5) AS geohash5,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(*) - COUNT(driver_id) AS without_driver,
  MAX(eta_seconds) - MIN(eta_seconds) AS eta_spread
FROM ride_events
GROUP BY geohash(lat, lon, 5), window(event_time, '1 minute')
