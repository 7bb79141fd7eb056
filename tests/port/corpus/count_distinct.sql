-- Exercises COUNT(DISTINCT col): distinct riders per cell; a null rider_id is not a rider, duplicates count once.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(DISTINCT rider_id) AS riders
FROM ride_events
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
