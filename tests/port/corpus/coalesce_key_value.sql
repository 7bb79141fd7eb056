-- Exercises COALESCE as a key (a null city becomes 'unknown') and inside a value (a missing ETA counts as 0).
SELECT
  COALESCE(city, 'unknown') AS city,
  window.start AS window_start,
  window.end AS window_end,
  SUM(COALESCE(eta_seconds, 0.0)) AS eta_seconds_total,
  COUNT(*) AS events
FROM ride_events
GROUP BY COALESCE(city, 'unknown'), window(event_time, '1 minute')
