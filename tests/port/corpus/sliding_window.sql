-- Exercises a sliding window: 5-minute windows every minute, each event in five windows.
SELECT
  geohash(lat, lon, 5) AS geohash5,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(*) AS requests
FROM ride_events
WHERE event_type = 'ride_requested'
GROUP BY geohash(lat, lon, 5), window(event_time, '5 minutes', '1 minute')
