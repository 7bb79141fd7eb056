"""`parity tap`: read what models would read from the online store into the served log."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType
from typing import Annotated, Optional

import typer

from parity.cli import ProjectOption, UsageError, app, duration, parse_time
from parity.errors import EXIT_ERROR
from parity.units import DAY_US


@app.command()
def tap(
    feature: Annotated[str, typer.Argument(help="Feature name.")],
    store: Annotated[str, typer.Option("--store", help="The online store's URL, e.g. redis://127.0.0.1:6379/0.")],
    rate: Annotated[str, typer.Option("--rate", help="At most this many reads a second (200/s, 12000/m).")] = "200/s",
    for_: Annotated[str, typer.Option("--for", help="How long to tap, on the tap's clock (10m, 1h).")] = "10m",
    keys: Annotated[Optional[int], typer.Option("--keys", help="At most N keys per pass (lowest cell hash first).")] = None,  # noqa: UP045
    clock: Annotated[str, typer.Option("--clock", help="wall, or simulated (a replay, see --start and --speed).")] = "wall",
    start: Annotated[str, typer.Option(help="simulated clock: the instant the tap starts at, ISO-8601 UTC.")] = "",
    speed: Annotated[float, typer.Option(help="simulated clock: simulated seconds per wall second.")] = 60.0,
    project: ProjectOption = Path("."),
) -> None:
    """Sample a feature's keys from the online store at a bounded rate into the served log; never writes to the store. Example: `parity tap ride_requests --store redis://127.0.0.1:6379/0 --rate 200/s --for 10m`.

    Reads the cells the check samples, due at each instant; survives a store restart (the reads it missed are
    counted and reported); exits after --for, so it runs from cron. Exit 0, or 2 when every read was missed.
    """
    from parity.errors import OnlineStoreError
    from parity.online import open_source
    from parity.online_store import Retry, open_store
    from parity.redact import redact_url
    from parity.served_log import Clock, ServedLogWriter, log_schema
    from parity.settings import load_settings
    from parity.spec import load_feature
    from parity.tap import CompressedClock, TapClock, WallClock, known_keys, parse_rate, run_tap

    settings = load_settings(project)
    spec = load_feature(feature, settings.project)
    try:
        per_second = parse_rate(rate)
    except ValueError as exc:
        raise UsageError(f"--rate: {exc}") from None
    length = duration(for_, "--for")
    if keys is not None and keys <= 0:
        raise UsageError(f"--keys: {keys} must be at least 1")
    kinds = {c.value: c for c in Clock}
    if clock not in kinds:
        raise UsageError(f"--clock: {clock!r} is not one of {', '.join(kinds)}")
    ticking: TapClock
    if kinds[clock] is Clock.SIMULATED:
        if not start:
            raise UsageError("--clock simulated needs --start, the simulated instant the tap starts at")
        if speed <= 0:
            raise UsageError(f"--speed: {speed} must be positive")
        ticking = CompressedClock(parse_time(start, "--start"), speed)
        typer.echo(f"{feature}: tapping on a simulated clock from {start}, {speed:g}x faster than the wall", err=True)
    else:
        ticking = WallClock()
    begin = ticking.now_us()
    parts = open_source(settings.online_log).read(spec.name, begin - DAY_US, begin + length)
    universe, schema = known_keys(parts, spec)
    if universe.empty:
        raise UsageError(f"{feature}: the online log holds no keys around {start or 'now'}; stream the feature first")
    writer = ServedLogWriter(settings.served_reads, spec, log_schema(spec, schema), ticking.kind)
    # One attempt per call: the tap's own loop retries with backoff and counts the reads it missed meanwhile.
    once = Retry(attempts=1)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)  # a sidecar is stopped with SIGTERM: flush, then exit
    try:
        result = run_tap(spec, lambda: open_store(store, retry=once), universe, writer, ticking, duration_us=length,
                         rate_per_s=per_second, limit=keys, unreachable=(OnlineStoreError, OSError))
    finally:
        signal.signal(signal.SIGTERM, previous)
    typer.echo(result.describe(redact_url(store)))
    if result.missed:
        typer.echo(f"warning: {feature}: the store was unreachable ({result.error}); {result.missed} reads missed "
                   "and not in the served log; the next tap carries on", err=True)
    if result.reads == 0 and result.missed:
        raise typer.Exit(EXIT_ERROR)
