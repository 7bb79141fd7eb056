-- Demand/supply per geohash5 cell over 5-minute windows sliding by 1 minute.
-- ratio = requests / available drivers; a cell with no available driver has ratio NULL
-- (try_divide; the realtime job emits None), never infinity and never an error.
WITH demand_supply AS (
  SELECT
    geohash(lat, lon, 5) AS geohash5,
    window.start AS window_start,
    window.end AS window_end,
    COUNT(DISTINCT CASE WHEN event_type = 'ride_requested' THEN event_id END) AS requests,
    COUNT(DISTINCT CASE WHEN event_type = 'driver_ping' AND available THEN driver_id END) AS drivers
  FROM ride_events
  WHERE event_type IN ('ride_requested', 'driver_ping')
  GROUP BY geohash(lat, lon, 5), window(event_time, '5 minutes', '1 minute')
)
SELECT
  geohash5,
  window_start,
  window_end,
  requests,
  drivers,
  try_divide(CAST(requests AS DOUBLE), CAST(drivers AS DOUBLE)) AS ratio
FROM demand_supply
