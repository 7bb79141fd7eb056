-- Planted: morning-rush requests by Kolkata's clock offline; the job's hours are UTC.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  SUM(CASE WHEN hour(from_utc_timestamp(event_time, 'Asia/Kolkata')) BETWEEN 7 AND 9 THEN 1 ELSE 0 END)
    AS rush_requests
FROM ride_events
WHERE event_type = 'ride_requested'
GROUP BY geohash(lat, lon, 6), window(event_time, '1 hour')
