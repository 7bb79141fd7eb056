-- Exercises AVG over integers: Spark gives a double (no integer mean), nulls skipped.
SELECT
  geohash(lat, lon, 5) AS geohash5,
  window.start AS window_start,
  window.end AS window_end,
  AVG(length(city)) AS avg_city_length
FROM ride_events
GROUP BY geohash(lat, lon, 5), window(event_time, '1 minute')
