"""The Redis online store against a real server: values round-trip exactly, the newest-window rule holds against
late panes and concurrent writers (and last-arrival visibly does not), TTLs expire, the store reconnects after a
restart, and a store that cannot be used is one clear line."""

from __future__ import annotations

import datetime as dt
import math
import random
import threading

import numpy as np
import pytest
import redis

from parity.errors import OnlineStoreError
from parity.online_store import ConflictRule, OnlineStore, Pane, Retry, Written, open_store
from parity.online_store.redis import BATCH, store_key
from parity.online_store.server import LocalServer

MINUTE = 60_000_000
FEATURE = "ride_requests"


def pane(key: str, window: int, pane_index: int = 0, **values: object) -> Pane:
    """A pane of the one-minute window number `window` for geohash `key`."""
    return Pane({"geohash6": key}, values or {"requests": window}, window * MINUTE, (window + 1) * MINUTE, pane_index)


def test_every_online_type_round_trips_exactly(store: OnlineStore) -> None:
    values = {
        "big": 2**63 - 1, "past_2_53": 2**53 + 1, "negative": -(2**53) - 3, "zero": 0,
        "tenth": 0.1, "tiny": 5e-324, "minus_zero": -0.0, "inf": math.inf, "third": 1 / 3,
        "null": None, "text": "naïve: s:i:1 ,={}", "empty": "", "yes": True, "no": False,
        "np_int": np.int64(2**62 + 7), "np_float": np.float64(2.5), "np_bool": np.bool_(True),
    }
    store.write(FEATURE, [Pane({"driver_id": 42}, values, 0, MINUTE)], now_us=123)
    [held] = store.read(FEATURE, [{"driver_id": 42}])
    assert held is not None
    expected = {**values, "np_int": 2**62 + 7, "np_float": 2.5, "np_bool": True}
    assert held.values == expected
    for name, value in held.values.items():  # the types too: 1 is not 1.0, True is not 1, None is not ""
        assert type(value) is type(expected[name]), name
    assert math.copysign(1.0, held.values["minus_zero"]) == -1.0
    assert (held.window_start_us, held.window_end_us, held.written_at_us) == (0, MINUTE, 123)


def test_nan_round_trips_as_nan(store: OnlineStore) -> None:
    store.write(FEATURE, [pane("9q8yyk", 1, ratio=math.nan)])
    [held] = store.read(FEATURE, [{"geohash6": "9q8yyk"}])
    assert held is not None and math.isnan(held.values["ratio"])


def test_keys_are_typed_and_canonical(store: OnlineStore) -> None:
    store.write(FEATURE, [Pane({"driver_id": 42, "city": "sf"}, {"requests": 1}, 0, MINUTE)])
    assert store_key({"city": "sf", "driver_id": 42}) == 'parity:{"city":"sf","driver_id":42}'
    held = store.read(FEATURE, [{"city": "sf", "driver_id": 42}, {"driver_id": 42, "city": "sf"},
                                {"city": "sf", "driver_id": "42"}, {"city": "sf", "driver_id": np.int64(42)}])
    assert [h is not None for h in held] == [True, True, False, True]


def test_the_layout_is_one_hash_per_key_with_a_field_per_value(store: OnlineStore, raw: redis.Redis) -> None:
    store.write(FEATURE, [pane("9q8yyk", 3, 1, requests=7)], now_us=99)
    store.write("avg_eta", [pane("9q8yyk", 2, 0, avg_eta_seconds=300.5)], now_us=98)
    assert raw.keys() == ['parity:{"geohash6":"9q8yyk"}']
    assert raw.hgetall('parity:{"geohash6":"9q8yyk"}') == {
        "ride_requests.requests": "i:7", "ride_requests._window_start": str(3 * MINUTE),
        "ride_requests._window_end": str(4 * MINUTE), "ride_requests._pane": "1", "ride_requests._written_at": "99",
        "avg_eta.avg_eta_seconds": "f:300.5", "avg_eta._window_start": str(2 * MINUTE),
        "avg_eta._window_end": str(3 * MINUTE), "avg_eta._pane": "0", "avg_eta._written_at": "98",
    }


def test_a_key_never_written_or_of_another_feature_reads_as_none(store: OnlineStore) -> None:
    store.write("avg_eta", [pane("9q8yyk", 1, avg_eta_seconds=1.0)])
    assert store.read(FEATURE, [{"geohash6": "9q8yyk"}, {"geohash6": "nowhere"}]) == [None, None]


def test_newest_window_keeps_the_newer_window_when_a_late_older_pane_arrives(store: OnlineStore) -> None:
    done = store.write(FEATURE, [pane("9q8yyk", 5, requests=50), pane("9q8yyk", 4, 1, requests=41)])
    [held] = store.read(FEATURE, [{"geohash6": "9q8yyk"}])
    assert held is not None and held.window_end_us == 6 * MINUTE and held.values == {"requests": 50}
    assert done == Written(written=1, kept_newer=1)


def test_last_arrival_lets_a_late_older_pane_overwrite_the_newer_window(store: OnlineStore) -> None:
    done = store.write(FEATURE, [pane("9q8yyk", 5, requests=50), pane("9q8yyk", 4, 1, requests=41)],
                       rule=ConflictRule.LAST_ARRIVAL)
    [held] = store.read(FEATURE, [{"geohash6": "9q8yyk"}])
    assert held is not None and held.window_end_us == 5 * MINUTE and held.values == {"requests": 41}
    assert done == Written(written=2, kept_newer=0)


def test_newest_window_takes_a_later_pane_of_the_same_window_and_never_an_earlier_one(store: OnlineStore) -> None:
    store.write(FEATURE, [pane("a", 5, 0, requests=1), pane("a", 5, 1, requests=2)])  # the LATE pane updates
    store.write(FEATURE, [pane("b", 5, 1, requests=2), pane("b", 5, 0, requests=1)])  # a retried ON_TIME pane does not
    store.write(FEATURE, [pane("c", 5, 1, requests=2), pane("c", 5, 1, requests=2)])  # the same pane again: written
    held = store.read(FEATURE, [{"geohash6": k} for k in "abc"])
    assert [h.values["requests"] if h else None for h in held] == [2, 2, 2]


def test_batches_longer_than_a_round_trip_are_written_and_read_in_order(store: OnlineStore) -> None:
    count = 2 * BATCH + 37
    panes = [pane(f"k{i % (BATCH + 3)}", i, requests=i) for i in range(count)]  # keys repeat across batches
    assert store.write(FEATURE, panes) == Written(written=count)
    keys = [{"geohash6": f"k{i}"} for i in range(BATCH + 3)]
    held = store.read(FEATURE, keys)
    newest = {f"k{i % (BATCH + 3)}": i for i in range(count)}
    assert [h.values["requests"] if h else None for h in held] == [newest[k["geohash6"]] for k in keys]


def test_ttl_sets_expire_on_the_hash_and_the_key_expires(store: OnlineStore, raw: redis.Redis) -> None:
    store.write(FEATURE, [pane("short", 1)], ttl_s=1)
    store.write(FEATURE, [pane("forever", 1)])
    assert 0 < raw.pttl('parity:{"geohash6":"short"}') <= 1000
    assert raw.ttl('parity:{"geohash6":"forever"}') == -1
    import time

    time.sleep(1.1)
    held = store.read(FEATURE, [{"geohash6": "short"}, {"geohash6": "forever"}])
    assert held[0] is None and held[1] is not None


def test_a_zero_ttl_is_refused(store: OnlineStore) -> None:
    with pytest.raises(OnlineStoreError, match="TTL 0 s must be a positive"):
        store.write(FEATURE, [pane("a", 1)], ttl_s=0)


def test_concurrent_writers_never_leave_an_older_window(redis_server: LocalServer, store: OnlineStore) -> None:
    keys, windows, writers = 50, 40, 4
    everything = [pane(f"k{k}", w, requests=w) for k in range(keys) for w in range(windows)]

    def write(seed: int) -> None:
        own = open_store(redis_server.url)
        shuffled = everything[:]
        random.Random(seed).shuffle(shuffled)
        for low in range(0, len(shuffled), 20):  # small batches, so the writers interleave on the server
            own.write(FEATURE, shuffled[low:low + 20])
        own.close()

    threads = [threading.Thread(target=write, args=(seed,)) for seed in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    held = store.read(FEATURE, [{"geohash6": f"k{k}"} for k in range(keys)])
    assert all(h is not None and h.window_end_us == windows * MINUTE for h in held)


def test_the_store_reconnects_after_the_server_restarts() -> None:
    with LocalServer() as server:
        store = open_store(server.url, retry=Retry(attempts=8, backoff_s=0.05))
        store.write(FEATURE, [pane("a", 1)])
        server.restart()  # same port, data gone: the pooled connection is dead
        store.write(FEATURE, [pane("b", 2)])
        assert store.read(FEATURE, [{"geohash6": "a"}, {"geohash6": "b"}])[1] is not None

        server.stop()
        restarter = threading.Timer(0.3, server.start)  # down while the write retries, back before it gives up
        restarter.start()
        try:
            assert store.write(FEATURE, [pane("c", 3)]) == Written(written=1)
        finally:
            restarter.join()
        assert store.read(FEATURE, [{"geohash6": "c"}])[0] is not None
        store.close()


def test_a_store_that_stays_unreachable_is_one_line_naming_it_with_the_password_redacted() -> None:
    with LocalServer() as server:
        port = server.port
    url = f"redis://:hunter2@127.0.0.1:{port}/3"
    with pytest.raises(OnlineStoreError) as caught:
        open_store(url, retry=Retry(attempts=3, backoff_s=0.01))
    message = str(caught.value)
    assert "\n" not in message and "hunter2" not in message
    assert message.startswith(f"online store redis://:***@127.0.0.1:{port}/3: unreachable after 3 attempts")


def test_an_unknown_scheme_names_the_known_ones() -> None:
    with pytest.raises(OnlineStoreError) as caught:
        open_store("dynamodb://table-name")
    assert str(caught.value) == "online store dynamodb://table-name: unknown scheme dynamodb://; known: redis://, rediss://"


def test_a_value_of_no_online_type_is_a_clear_error(store: OnlineStore) -> None:
    with pytest.raises(OnlineStoreError, match=r"ride_requests.at = .*datetime is not an online type"):
        store.write(FEATURE, [pane("a", 1, at=dt.datetime(2026, 1, 1))])
