-- Refused: a subquery with its own aggregate (ETAs above the all-time average).
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(*) AS slow_quotes
FROM ride_events
WHERE eta_seconds > (SELECT AVG(eta_seconds) FROM ride_events)
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
