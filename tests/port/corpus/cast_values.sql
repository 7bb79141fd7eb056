-- Exercises CAST: a count as a double divided by two, an average truncated to an integer, a count as a string.
SELECT
  geohash(lat, lon, 5) AS geohash5,
  window.start AS window_start,
  window.end AS window_end,
  CAST(COUNT(*) AS DOUBLE) / 2 AS half_events,
  CAST(AVG(eta_seconds) AS BIGINT) AS avg_eta_whole,
  CAST(COUNT(*) AS STRING) AS events_text
FROM ride_events
GROUP BY geohash(lat, lon, 5), window(event_time, '1 minute')
