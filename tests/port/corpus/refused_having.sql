-- Refused: HAVING, a filter over aggregates that later panes may undo.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(*) AS events
FROM ride_events
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
HAVING COUNT(*) > 5
