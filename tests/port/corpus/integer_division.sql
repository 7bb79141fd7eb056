-- Exercises integer division (div truncates toward zero), % (sign of the dividend) and / (always a double).
SELECT
  geohash(lat, lon, 5) AS geohash5,
  window.start AS window_start,
  window.end AS window_end,
  SUM(CAST(eta_seconds AS INT) div 60) AS whole_minutes,
  SUM(CAST(eta_seconds AS INT) % 60) AS leftover_seconds,
  SUM(CAST(eta_seconds AS INT) / 60) AS minutes
FROM ride_events
WHERE eta_seconds IS NOT NULL
GROUP BY geohash(lat, lon, 5), window(event_time, '1 minute')
