-- Exercises a geohash5 key over 5-minute tumbling windows (coarser cells, longer windows).
SELECT
  geohash(lat, lon, 5) AS geohash5,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(DISTINCT event_id) AS events
FROM ride_events
GROUP BY geohash(lat, lon, 5), window(event_time, '5 minutes')
