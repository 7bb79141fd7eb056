"""`make bench`: every benchmark, each side by side with its baseline in one run, results also saved as JSON.

    python -m bench                  # all
    python -m bench compare check    # some
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _compare() -> Any:
    from bench import compare_bench

    return compare_bench.main()


def _check() -> Any:
    from bench import check_bench

    return check_bench.main()


def _stream() -> Any:
    from bench import stream_bench

    return stream_bench.main([])


def _geohash() -> Any:
    from bench import geohash_bench

    return geohash_bench.main()


def _store() -> Any:
    from bench import store_bench

    return store_bench.main([])


def _served() -> Any:
    from bench import served_bench

    return served_bench.main([])


BENCHES: dict[str, Callable[[], Any]] = {
    "compare": _compare, "check": _check, "stream": _stream, "geohash": _geohash, "store": _store,
    "served": _served,
}


def main(argv: list[str]) -> int:
    chosen = argv or list(BENCHES)
    unknown = [name for name in chosen if name not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_1m": os.getloadavg()[0]},
    }
    for name in chosen:
        print(f"\n== {name} ==", flush=True)
        started = time.perf_counter()
        results[name] = BENCHES[name]()
        print(f"({name}: {time.perf_counter() - started:.0f} s)", flush=True)
    out = Path("bench/out")
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nresults saved to {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
