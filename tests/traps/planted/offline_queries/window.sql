-- Planted: 1-minute windows offline and in the spec; the job re-windows into 2 minutes.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(DISTINCT event_id) AS requests
FROM ride_events
WHERE event_type = 'ride_requested'
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
