-- Exercises SUM over doubles with nulls: nulls skipped, NULL for a cell whose values are all null.
SELECT
  geohash(lat, lon, 5) AS geohash5,
  window.start AS window_start,
  window.end AS window_end,
  SUM(eta_seconds) AS eta_seconds_total
FROM ride_events
GROUP BY geohash(lat, lon, 5), window(event_time, '1 minute')
