-- Exercises HAVING that no later pane can undo: a count above a constant (by alias) and a MAX above one.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(*) AS events,
  AVG(eta_seconds) AS avg_eta
FROM ride_events
GROUP BY 1, window(event_time, '1 minute')
HAVING events >= 2 AND (MAX(eta_seconds) > 100 OR geohash6 = '9q8yym')
