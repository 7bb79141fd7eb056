-- Exercises a CASE key (null when the event has no position), ORDER BY ordinals and aliases (dropped), IF, COALESCE.
SELECT
  CASE WHEN lat IS NULL THEN NULL ELSE geohash(lat, lon, 6) END AS geohash6,
  COALESCE(city, 'unknown') AS city,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(*) AS events,
  SUM(IF(event_type = 'ride_requested', 1, 0)) AS requests,
  MAX(eta_seconds) - MIN(eta_seconds) AS eta_spread
FROM ride_events
GROUP BY 1, 2, window(event_time, '1 minute')
ORDER BY 1, window_start, events DESC
