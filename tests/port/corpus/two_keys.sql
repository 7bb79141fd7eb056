-- Exercises two keys: a geohash6 cell and the event type (a null event type is a key value of its own).
SELECT
  geohash(lat, lon, 6) AS geohash6,
  event_type,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(*) AS events
FROM ride_events
GROUP BY geohash(lat, lon, 6), event_type, window(event_time, '1 minute')
