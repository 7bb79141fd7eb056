-- Refused: from_utc_timestamp as a key (the local_time porting trap) and date_trunc of event time in a value.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  from_utc_timestamp(event_time, 'America/Los_Angeles') AS local_time,
  window.start AS window_start,
  window.end AS window_end,
  MAX(date_trunc('HOUR', event_time)) AS hour
FROM ride_events
GROUP BY 1, 2, window(event_time, '1 minute')
