-- Exercises an outer SELECT over the aggregating CTE (as demand_supply.sql): a ratio of two of its columns.
WITH counts AS (
  SELECT
    geohash(lat, lon, 5) AS geohash5,
    window.start AS window_start,
    window.end AS window_end,
    COUNT(*) AS events,
    COUNT(driver_id) AS with_driver
  FROM ride_events
  GROUP BY geohash(lat, lon, 5), window(event_time, '1 minute')
)
SELECT
  geohash5,
  window_start,
  window_end,
  events,
  try_divide(with_driver, events) AS driver_share
FROM counts
