-- Exercises try_divide over aggregates: requests per available driver, NULL (not an error) when no driver is available.
SELECT
  geohash(lat, lon, 5) AS geohash5,
  window.start AS window_start,
  window.end AS window_end,
  try_divide(COUNT(CASE WHEN event_type = 'ride_requested' THEN 1 END),
             COUNT(DISTINCT CASE WHEN event_type = 'driver_ping' AND available THEN driver_id END)) AS ratio
FROM ride_events
GROUP BY geohash(lat, lon, 5), window(event_time, '1 minute')
