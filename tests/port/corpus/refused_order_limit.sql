-- Refused: ORDER BY and LIMIT (the busiest cells first); a stream emits cells, not an ordered table.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(*) AS events
FROM ride_events
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
ORDER BY events DESC
LIMIT 10
