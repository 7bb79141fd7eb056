-- Refused: an unknown UDF (surge_multiplier) whose meaning parity cannot know.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  SUM(surge_multiplier(eta_seconds, city)) AS surge
FROM ride_events
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
