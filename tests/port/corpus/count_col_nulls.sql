-- Exercises COUNT(col) with nulls: events without a driver_id are not counted (a row count would count them).
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(driver_id) AS with_driver,
  COUNT(1) AS events
FROM ride_events
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
