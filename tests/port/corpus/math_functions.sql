-- Exercises math functions: abs, round (half away from zero), floor, ceil, sqrt and pow, with nulls.
SELECT
  geohash(lat, lon, 5) AS geohash5,
  window.start AS window_start,
  window.end AS window_end,
  SUM(abs(lon)) AS abs_lon_total,
  MAX(round(eta_seconds / 7, 2)) AS max_rounded,
  SUM(floor(eta_seconds / 60)) AS floor_minutes,
  SUM(ceil(eta_seconds / 60)) AS ceil_minutes,
  AVG(sqrt(eta_seconds)) AS avg_sqrt_eta,
  MAX(pow(eta_seconds, 2)) AS max_squared
FROM ride_events
GROUP BY geohash(lat, lon, 5), window(event_time, '1 minute')
