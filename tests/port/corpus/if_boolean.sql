-- Exercises IF over a nullable boolean (NULL takes the else branch) and a NOT filter that drops null rows.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  SUM(IF(available, 1, 0)) AS available_pings,
  COUNT(*) AS pings
FROM ride_events
WHERE event_type = 'driver_ping' AND NOT (available IS FALSE)
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
