-- Planted: COUNT(eta_seconds) skips requests without a quoted ETA; the job's Combine `count` counts them.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(eta_seconds) AS quoted
FROM ride_events
WHERE event_type = 'ride_requested'
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
