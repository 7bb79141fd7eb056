-- Exercises string functions: lower() as a key, upper(), substring() and concat() (NULL when a part is NULL) in values.
SELECT
  lower(city) AS city,
  window.start AS window_start,
  window.end AS window_end,
  MAX(upper(event_type)) AS last_type,
  MIN(substring(event_id, 1, 4)) AS id_prefix,
  COUNT(DISTINCT concat(event_type, '/', driver_id)) AS typed_drivers
FROM ride_events
GROUP BY lower(city), window(event_time, '1 minute')
