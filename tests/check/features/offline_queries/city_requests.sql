-- Ride requests per city per 1-minute tumbling window; a duplicate delivery of the same event_id counts once.
SELECT
  city,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(DISTINCT event_id) AS requests
FROM ride_events
WHERE event_type = 'ride_requested'
GROUP BY city, window(event_time, '1 minute')
