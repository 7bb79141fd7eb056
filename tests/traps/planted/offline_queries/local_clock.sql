-- Planted: requests per UTC hour of day offline; the job reads the hour from the machine's local clock.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  hour(event_time) AS hour_of_day,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(*) AS requests
FROM ride_events
WHERE event_type = 'ride_requested'
GROUP BY geohash(lat, lon, 6), hour(event_time), window(event_time, '1 minute')
