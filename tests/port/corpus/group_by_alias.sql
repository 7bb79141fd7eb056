-- Exercises GROUP BY a select alias (city_key is not a column of ride_events) with a CASE key.
SELECT
  CASE WHEN city IS NULL THEN 'unknown' ELSE lower(city) END AS city_key,
  window.start AS window_start,
  window.end AS window_end,
  SUM(eta_seconds) AS eta_total
FROM ride_events
GROUP BY city_key, window(event_time, '5 minutes')
