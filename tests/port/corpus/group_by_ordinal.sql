-- Exercises GROUP BY ordinals, as analysts write them: 1 is the geohash key, the window is grouped by name.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(DISTINCT rider_id) AS riders
FROM ride_events
WHERE event_type = 'ride_requested'
GROUP BY 1, window(event_time, '1 minute')
