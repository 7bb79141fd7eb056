-- Refused: GROUP BY an hour bucket (date_trunc) instead of window(event_time, ...): session-time-zone dependent.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  date_trunc('HOUR', event_time) AS hour,
  COUNT(*) AS events
FROM ride_events
GROUP BY geohash(lat, lon, 6), date_trunc('HOUR', event_time)
