-- Refused: a join (requests matched to the driver pings of the same cell); parity ports one stream of one source.
SELECT
  geohash(r.lat, r.lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(*) AS matched
FROM ride_events r
JOIN ride_events d ON r.driver_id = d.driver_id
GROUP BY geohash(r.lat, r.lon, 6), window(r.event_time, '1 minute')
