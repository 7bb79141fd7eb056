"""A second project, unlike the demo: a food-delivery `orders` log (base 2026-11-26 08:00 UTC, 75 minutes).

Its columns are not the ride events': `store_id` int32, `basket` decimal(10,2) (null for 1 in 20 orders),
`items` int64, `zone` a nullable string (null for 1 in 3), `courier_id` a nullable string, `tip` a nullable double.
Every order arrives 0.5-20 s after it is placed (nothing late for a 2m lateness). Planted:

- a tie for Spark's decimal average: 32 orders of store 99, zone 'east', in the 08:20 window, whose baskets add up to
  an odd number of cents, so AVG(basket) (scale 4 more than the column's: 6) ends in a 5 at the 7th decimal after an
  even 6th, which Spark rounds half up and half-even rounding (Python's default) down;
- a cell with only null baskets (store 98, 08:40): SUM/MIN/MAX/AVG of it are NULL on both sides.
"""

from __future__ import annotations

import datetime as dt
import decimal
import random

import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema([
    pa.field("event_id", pa.string()), pa.field("event_time", TIMESTAMP), pa.field("ingest_time", TIMESTAMP),
    pa.field("store_id", pa.int32()), pa.field("basket", pa.decimal128(10, 2)), pa.field("items", pa.int64()),
    pa.field("zone", pa.string()), pa.field("courier_id", pa.string()), pa.field("tip", pa.float64()),
])
BASE = dt.datetime(2026, 11, 26, 8, tzinfo=dt.UTC)
MINUTES = 75

STORE_SALES = """\
-- Sales per store and zone per 5 minutes: revenue (decimal), basket range and mean, items (int), couriers.
SELECT store_id, zone, window.start AS window_start, window.end AS window_end,
       SUM(basket) AS revenue, MIN(basket) AS smallest, MAX(basket) AS largest, AVG(basket) AS mean_basket,
       SUM(CASE WHEN basket >= 50.00 THEN basket END) AS large_revenue,
       SUM(items) AS items, AVG(tip) AS mean_tip, COUNT(DISTINCT courier_id) AS couriers, COUNT(*) AS orders
FROM orders
GROUP BY 1, 2, window(event_time, '5 minutes')
"""

BASKET_BANDS = """\
-- Orders per basket band (a CASE key over the decimal, null without a basket) and zone per 5 minutes.
SELECT CASE WHEN basket IS NULL THEN NULL WHEN basket >= 50 THEN 'large' ELSE 'small' END AS band,
       COALESCE(zone, 'unzoned') AS zone,
       window.start AS window_start, window.end AS window_end,
       COUNT(*) AS orders, SUM(items) AS items, SUM(items) / COUNT(*) AS items_per_order,
       MAX(tip) AS top_tip, COUNT(DISTINCT store_id) AS stores
FROM orders
WHERE items > 0
GROUP BY 1, 2, window(event_time, '5 minutes')
HAVING COUNT(*) >= 2
ORDER BY 1, 2, window_start
"""

QUERIES = {"store_sales": STORE_SALES, "basket_bands": BASKET_BANDS}


def orders(seed: int = 7, count: int = 300) -> pa.Table:
    """The log of the module docstring."""
    rng = random.Random(seed)
    rows = []

    def order(event_id: str, moment: dt.datetime, store: int, basket: decimal.Decimal | None, zone: str | None) -> None:
        rows.append({"event_id": event_id, "event_time": moment,
                     "ingest_time": moment + dt.timedelta(seconds=rng.uniform(0.5, 20)), "store_id": store,
                     "basket": basket, "items": rng.randint(1, 9), "zone": zone,
                     "courier_id": rng.choice(["c1", "c2", "c3", "c4", None]), "tip": rng.choice([None, 0.5, 1.25, 2.0])})

    for i in range(count):
        moment = BASE + dt.timedelta(seconds=rng.uniform(0, MINUTES * 60))
        basket = None if rng.random() < 0.05 else decimal.Decimal(rng.randint(100, 9999)) / 100
        order(f"o{i}", moment, rng.choice([1, 2, 3, 17]), basket, rng.choice(["north", "south", None]))
    cents = [rng.randint(100, 9999) for _ in range(32)]
    # An odd total makes the mean (total / 3200) end in a 5 at its 7th decimal; an even 6th decimal below it is
    # where half up (Spark) and half even (Python's default) part.
    while sum(cents) % 2 == 0 or sum(cents) * 3125 // 10 % 2:
        cents[0] += 1
    for i, cent in enumerate(cents):
        order(f"tie{i}", BASE + dt.timedelta(minutes=20, seconds=5 + i), 99, decimal.Decimal(cent) / 100, "east")
    for i in range(3):
        order(f"nobasket{i}", BASE + dt.timedelta(minutes=40, seconds=10 + i), 98, None, "north")
    return pa.Table.from_pylist(rows, schema=SCHEMA)
