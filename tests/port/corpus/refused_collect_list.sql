-- Refused: collect_list, a list whose order is not defined across panes.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  collect_list(driver_id) AS drivers
FROM ride_events
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
