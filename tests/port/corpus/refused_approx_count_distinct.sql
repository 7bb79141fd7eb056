-- Refused: approx_count_distinct, a sketch with no exact streaming equivalent.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  approx_count_distinct(rider_id) AS riders
FROM ride_events
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
