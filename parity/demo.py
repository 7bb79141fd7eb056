"""`make demo`: the main job end to end on the embedded example project.

generate events -> lint -> stream every feature on Beam -> `parity run --all` (each settled hour of every
feature checked against Spark and recorded) -> `parity history` ->
then served parity: a local Redis (`parity.online_store.server`) fed every feature's panes on a compressed
simulated clock while `parity tap`'s loop reads it, checked with `parity check --all --served`, then
ride_requests again into a store whose keys expire too soon (a planted store fault: a 1 s TTL), checked with
`parity check --served` -> then a copy of one feature with an injected defect (a missing filter), checked with
alerts on, which opens an incident. Each step is the real `parity` command, printed before it runs. It ends with the paths of
`reports/index.html` and of the buggy port's HTML report, and a screenshot of that report
(`reports/demo-report.png`, where Chromium is installed).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from parity.served_log import Clock

START = "2026-11-26T08:00:00Z"
END = "2026-11-26T10:00:00Z"
DEFECT_END = "2026-11-26T08:20:00Z"  # twenty minutes of the broken port open the incident
COARSE_END = "2026-11-26T08:10:00Z"  # ten minutes show the diagnosis
SERVED_END = "2026-11-26T08:20:00Z"  # the windows whose reads the served demo checks
SERVED_SPEED = 40.0  # simulated seconds per wall second while the tap reads the store with the planted TTL
HEALTHY_SPEED = 80.0  # and the healthy store, every feature
# The planted store fault: a TTL of 1 s of wall time (the store's TTL is whole seconds on the server's clock),
# 40 simulated seconds, shorter than the minute a value must stay readable after it is due.
FAULT_TTL_S = 1
DURATION = "2h"
RATE = int(os.environ.get("PARITY_DEMO_RATE", "300"))


def run(*args: str, project: Path, ok: tuple[int, ...] = (0,)) -> int:
    shown = " ".join(["parity", *args] + ([] if project == Path.cwd() else ["--project", str(project)]))
    print(f"\n$ {shown}", flush=True)
    started = time.monotonic()
    code = subprocess.call([sys.executable, "-m", "parity.cli", *args, "--project", str(project)])
    print(f"  (exit {code}, {time.monotonic() - started:.0f}s)", flush=True)
    if code not in ok:
        sys.exit(code)
    return code


DEFECTS = {
    # name: (what the port got wrong, the text of realtime_jobs/ride_requests.yaml it replaces, and with what)
    "demo_defect": (("ride_requests counts every ride event, not just requests (no diagnosis names a missing "
                    "filter: its cells stay unexplained)"),
                    "keep: \"event_type == 'ride_requested'\"", "keep: \"event_type != 'driver_ping'\""),
    "demo_coarse": ("ride_requests keys its cells by geohash5 instead of geohash6 (diagnosed: key_mismatch)",
                    "return geohash(row.lat, row.lon, 6)", "return geohash(row.lat, row.lon, 5)"),
}


def defect_project(root: Path, name: str) -> Path:
    """A feature project whose ride_requests job has the defect `DEFECTS[name]`, reading the same event log."""
    _, found, planted = DEFECTS[name]
    project = root / "data" / name
    shutil.rmtree(project, ignore_errors=True)
    (project / "realtime_jobs").mkdir(parents=True)
    (project / "offline_queries").mkdir()
    (project / "alerts").mkdir()
    shutil.copy(root / "offline_queries" / "ride_requests.sql", project / "offline_queries")
    spec = (root / "realtime_jobs" / "ride_requests.yaml").read_text()
    broken = spec.replace(found, planted)
    if broken == spec:
        raise SystemExit(f"demo: could not inject the defect {name} into realtime_jobs/ride_requests.yaml")
    (project / "realtime_jobs" / "ride_requests.yaml").write_text(broken)
    shutil.copy(root / "alerts" / "page_on_breach.yaml", project / "alerts")
    shutil.copy(root / "regions.yaml", project)  # the drill-down's regions: the generator's cities
    (project / "pyproject.toml").write_text(
        "[tool.parity]\n"
        f'event_log = "{root / "data" / "events"}"\n'
        'online_log = "online"\nreports = "reports"\ndatabase = "sqlite:///parity.db"\n'
    )
    return project


def main() -> None:
    root = Path.cwd()
    for folder in ("events", "online", "quarantine"):
        shutil.rmtree(root / "data" / folder, ignore_errors=True)
    (root / "data" / "parity.db").unlink(missing_ok=True)  # a fresh ledger: the demo checks its hours again
    started = time.monotonic()
    print(f"parity demo: ride-hailing events {START} + {DURATION} at {RATE} events/minute")
    run("generate", "--start", START, "--duration", DURATION, "--rate", str(RATE), project=root)
    run("lint", project=root)
    run("list", project=root)
    run("stream", "--all", "--start", START, "--end", END, project=root)
    # The scheduled job: every settled hour not yet checked, each recorded in the ledger (a rerun checks nothing).
    run("run", "--all", "--since", "3h", project=root, ok=(0, 1))
    run("history", "ride_requests", project=root)
    served_demo(root)
    print(f"\nNow the same check on a port with a bug: {DEFECTS['demo_defect'][0]}.")
    broken = defect_project(root, "demo_defect")
    run("stream", "ride_requests", "--start", START, "--end", DEFECT_END, project=broken)
    run("check", "ride_requests", "--start", START, "--end", DEFECT_END, "--alert", project=broken, ok=(1,))
    run("alerts", project=broken)
    print("\nWas it the job's code or the production run? Replay the window and compare all three ways:")
    run("replay", "ride_requests", "--start", START, "--end", DEFECT_END, project=broken)
    print(f"\nAnd a port with a bug parity can name: {DEFECTS['demo_coarse'][0]}.")
    coarse = defect_project(root, "demo_coarse")
    run("stream", "ride_requests", "--start", START, "--end", COARSE_END, project=coarse)
    run("check", "ride_requests", "--start", START, "--end", COARSE_END, project=coarse, ok=(1,))
    print(closing_table([root / "reports", root / "data" / "demo_store_ttl" / "reports", broken / "reports",
                         coarse / "reports"]))
    buggy = max((broken / "reports" / "ride_requests").glob("*.html"))
    shot = screenshot(buggy, root / "reports" / "demo-report.png")
    print(f"\ndemo finished in {time.monotonic() - started:.0f}s")
    print(f"reports of every feature: {root / 'reports' / 'index.html'}")
    print(f"report of the buggy port: {buggy}")
    print(f"its screenshot: {shot}" if isinstance(shot, Path) else f"no screenshot: {shot}")


def served_demo(root: Path) -> None:
    """Stream into a local store while a tap reads it, on a compressed clock, then `parity check --served`:
    healthy, then with keys expiring (a TTL) before their values are due."""
    from parity.online_store.server import LocalServer
    from parity.spec import feature_names

    faulty = store_fault_project(root)
    print("\nServed parity: what models read from the online store. Each feature's panes go into a local Redis on "
          "a simulated clock faster than the wall (each at the instant the replay emitted it), while the tap reads "
          "a sample of keys as a model would; every figure below is on that simulated clock.")
    with LocalServer() as server:
        healthy = server.url.rsplit("/", 1)[0] + "/0"
        for feature in feature_names(root):
            print(f"\n$ (in the demo's process) stream {feature} {START} .. {SERVED_END} into {healthy} with no "
                  f"TTL, {HEALTHY_SPEED:g}x the wall, tapped at 5000 reads/s", flush=True)
            print("  " + tap_replay(root, feature, healthy, None, HEALTHY_SPEED), flush=True)
        run("check", "--all", "--served", "--start", START, "--end", SERVED_END, project=root, ok=(0, 1))
        faulty_url = server.url.rsplit("/", 1)[0] + "/1"
        print(f"\n$ (in the demo's process) stream ride_requests {START} .. {SERVED_END} into {faulty_url} with a "
              f"TTL of {FAULT_TTL_S} s ({FAULT_TTL_S * SERVED_SPEED:g} simulated seconds), {SERVED_SPEED:g}x the "
              "wall, tapped at 5000 reads/s", flush=True)
        print("  " + tap_replay(faulty, "ride_requests", faulty_url, FAULT_TTL_S, SERVED_SPEED), flush=True)
        run("check", "ride_requests", "--served", "--start", START, "--end", SERVED_END, project=faulty, ok=(0, 1))


def store_fault_project(root: Path) -> Path:
    """The demo's features over the same event and online logs, with a served log of their own (what a model
    read from a store whose keys expire too soon)."""
    project = root / "data" / "demo_store_ttl"
    shutil.rmtree(project, ignore_errors=True)
    for folder in ("realtime_jobs", "offline_queries"):
        shutil.copytree(root / folder, project / folder)
    (project / "pyproject.toml").write_text(
        "[tool.parity]\n"
        f'event_log = "{root / "data" / "events"}"\nonline_log = "{root / "data" / "online"}"\n'
        'served_log = "served"\nreports = "reports"\ndatabase = "sqlite:///parity.db"\n'
    )
    return project


def tap_replay(project: Path, feature: str, url: str, ttl_s: int | None, speed: float) -> str:
    """Write the stream's panes of the served demo's windows into the store at their replayed instants while the
    tap reads it (`_ReplayedStore` is the tap's clock), into the project's served log. Returns the tap's summary."""
    from parity.check import read_online
    from parity.online import open_source
    from parity.online_store import open_store
    from parity.sample import window_micros
    from parity.served import replayed_emission
    from parity.served_log import Clock, ServedLogWriter, log_schema
    from parity.settings import load_settings
    from parity.spec import load_feature
    from parity.tap import known_keys, run_tap

    settings = load_settings(project)
    spec = load_feature(feature, settings.project)
    start, end = (int(dt.datetime.fromisoformat(moment).timestamp()) * 1_000_000 for moment in (START, SERVED_END))
    shift = spec.window.size_us + spec.served_rules.delay_us  # the reads due in [start, end)
    rows = read_online(spec, open_source(settings.online_log), start - shift, end + shift).rows
    panes = rows[[*spec.keys, *spec.values]].astype(object).where(rows[[*spec.keys, *spec.values]].notna(), None)
    panes["window_start"] = window_micros(rows["window_start"])
    panes["window_end"] = window_micros(rows["window_end"])
    panes["pane_index"] = rows["pane_index"].astype("int64")
    panes["emitted_at"] = replayed_emission(spec, panes)
    store = open_store(url)
    clock = _ReplayedStore(store, spec, ttl_s, panes.sort_values("emitted_at", kind="stable").to_dict("records"),
                           start + shift, speed)
    parts = open_source(settings.online_log).read(spec.name, start - shift, end + shift)
    keys, schema = known_keys(parts, spec)
    writer = ServedLogWriter(settings.served_reads, spec, log_schema(spec, schema), Clock.SIMULATED)
    try:
        result = run_tap(spec, lambda: open_store(url), keys, writer, clock, duration_us=end - start,
                         rate_per_s=5000)
    finally:
        store.close()
    return result.describe(url)


class _ReplayedStore:
    """A simulated clock on which the stream's panes reach the store: advancing it to `t` waits the wall time
    `t` takes at `SERVED_SPEED`, then writes every pane emitted by `t` (its write time: its replayed emission)."""

    kind: Clock
    speed: float  # clock microseconds per wall microsecond: the tap's rate stays per wall second

    def __init__(self, store: Any, spec: Any, ttl_s: int | None, panes: list[dict[str, Any]], now: int,
                 speed: float) -> None:
        from parity.served_log import Clock

        self.kind, self.speed = Clock.SIMULATED, speed
        self._store, self._spec, self._ttl_s, self._panes, self._next = store, spec, ttl_s, panes, 0
        self.now = now
        self._wall = time.monotonic()
        self._write_until(now)

    def now_us(self) -> int:
        return self.now

    def sleep_until(self, instant_us: int) -> None:
        if instant_us > self.now:
            self._wall += (instant_us - self.now) / 1e6 / self.speed
            time.sleep(max(0.0, self._wall - time.monotonic()))
            self.now = instant_us
        self._write_until(self.now)

    def _write_until(self, instant_us: int) -> None:
        from parity.online_store import Pane

        due = []
        while self._next < len(self._panes) and self._panes[self._next]["emitted_at"] <= instant_us:
            due.append(self._panes[self._next])
            self._next += 1
        for stamp in sorted({int(p["emitted_at"]) for p in due}):
            batch = [Pane({k: p[k] for k in self._spec.keys}, {v: p[v] for v in self._spec.values},
                          int(p["window_start"]), int(p["window_end"]), int(p["pane_index"]))
                     for p in due if int(p["emitted_at"]) == stamp]
            self._store.write(self._spec.name, batch, ttl_s=self._ttl_s, now_us=stamp)


def closing_table(report_dirs: list[Path]) -> str:
    """Per feature checked, from its latest JSON report (the demo's last hour): verdict, agreement, agreement net
    of late data, the lateness that would reach the bar, and the cause of most divergent cells; where the check
    was `--served`, the served agreement, the freshness p99 (on the tap's clock) and the top cause of the reads."""
    lines = [(f"\n{'feature':<34} {'verdict':<10} {'agreement':>10} {'net':>9} {'lateness needed':>16}  "
              f"{'served':>9} {'fresh p99':>10}  top cause")]
    for reports in report_dirs:
        for folder in sorted(p for p in reports.iterdir() if p.is_dir()):
            runs = sorted(folder.glob("*.json"))
            if not runs:
                continue
            result = json.loads(runs[-1].read_text())
            causes = {cause: n for cause, n in result["causes"].items() if n}
            top = max(causes, key=causes.__getitem__) if causes else "-"
            top += "".join(f" ({d['detail']})" for d in result.get("diagnoses", ()) if d["cause"] == top)
            name = folder.name if reports.parent == Path.cwd() else f"{folder.name} ({reports.parent.name})"
            served = result.get("served") or {}
            if served:
                read_causes = {cause: n for cause, n in served["causes"].items() if n}
                top = (max(read_causes, key=read_causes.__getitem__) + " (reads)") if read_causes else top
            agreement = f"{served['served_agreement']:>9.3%}" if served else f"{'-':>9}"
            p99 = served.get("freshness_p99_s")
            fresh = f"{p99:>9.1f}s" if isinstance(p99, (int, float)) else f"{'-':>10}"
            verdict = "breached" if served.get("passed") is False else result["verdict"]  # served below the bar
            lines.append(f"{name:<34} {verdict:<10} {result['agreement']:>10.4%} "
                         f"{result['agreement_net_of_explained']:>9.4%} {result.get('lateness_needed') or '-':>16}  "
                         f"{agreement} {fresh}  {top}")
    return "\n".join(lines)


def screenshot(page: Path, png: Path) -> Path | str:
    """A full-page PNG of an HTML report in headless Chromium (Debian's `chromium`), or why not."""
    browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser_path is None:
        return "chromium is not installed (apt-get install chromium)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_path, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run"])
        tab = browser.new_page(viewport={"width": 1200, "height": 900})
        tab.goto(page.as_uri(), wait_until="load")
        tab.screenshot(path=str(png), full_page=True)
        browser.close()
    return png


if __name__ == "__main__":
    main()
