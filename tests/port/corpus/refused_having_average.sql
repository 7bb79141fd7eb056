-- Refused: HAVING over an average, which a late pane can push below the bar after the cell was emitted.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(*) AS events
FROM ride_events
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
HAVING AVG(eta_seconds) > 100 AND SUM(eta_seconds) < 900
