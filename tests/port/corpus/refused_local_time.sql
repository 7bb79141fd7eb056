-- Refused: a local-time function (hour of a converted timestamp) and an implicit string-to-number comparison.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  SUM(CASE WHEN hour(from_utc_timestamp(event_time, 'America/Los_Angeles')) < 6 THEN 1 ELSE 0 END) AS night,
  COUNT(CASE WHEN city = 1 THEN 1 END) AS odd
FROM ride_events
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
