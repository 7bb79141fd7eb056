"""`make bench-day`: a day at a high rate, stage by stage, through the real CLI.

Generates 24 hours at 3,300 events a minute (4.8M events) into a fresh project holding the four example features,
replays each feature over the day with `parity stream --mode fast` (the batch replay on the FnApiRunner), then
runs `parity run --all --since 24h` over the day. Each stage is its own `parity` process, timed, with the peak
resident memory of its whole process tree (Python, the Spark JVM, Beam's workers) sampled from /proc every 0.2 s.
Prints a table and writes it as JSON beside the other benchmark results.

    python -m bench.day_bench                       # the issue's day: 24 h at 3,300 events/min
    python -m bench.day_bench --hours 2 --rate 600  # a smaller one to try it
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FEATURES = ("ride_requests", "available_drivers", "avg_eta", "demand_supply")
DAY_START = "2026-11-26T00:00:00Z"
PAGE = os.sysconf("SC_PAGE_SIZE")
OUT = REPO / "bench" / "out"  # each stage's whole output, day-<stage>.log (which hours breached, and why)


@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    seconds: float
    peak_rss_mb: float
    events: int
    exit_code: int

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def _tree_rss(root: int) -> int:
    """Resident bytes of `root` and every descendant process, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            statm = Path(entry.path, "statm").read_text().split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(stat.rsplit(")", 1)[1].split()[1])
        rss[pid] = int(statm[1]) * PAGE
    total, stack = 0, [root]
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, ()))
    return total


def run_stage(name: str, args: list[str], project: Path, events: int) -> Stage:
    """Run one `parity` command, timing it and sampling its process tree's memory."""
    began = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "parity.cli", *args, "--project", str(project)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0]

    def sample() -> None:
        while process.poll() is None:
            peak[0] = max(peak[0], _tree_rss(process.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    sampler.join()
    stage = Stage(name, time.perf_counter() - began, peak[0] / 2**20, events, process.returncode)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"day-{name.split(' (')[0].replace(' ', '-').replace('--', '')}.log").write_text(output)
    tail = "\n".join(output.splitlines()[-4:])
    print(f"{name:<28} {stage.seconds:8.1f} s  {stage.events_per_s:10,.0f} events/s  "
          f"peak {stage.peak_rss_mb:7,.0f} MB  exit {stage.exit_code}\n    {tail.replace(chr(10), chr(10) + '    ')}",
          flush=True)
    return stage


def main(argv: list[str]) -> list[Stage]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--rate", type=int, default=3300, help="events per minute")
    parser.add_argument("--mode", default="fast", help="parity stream --mode")
    parser.add_argument("--keep", action="store_true", help="keep the project folder")
    options = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="parity-day-"))
    for folder in ("realtime_jobs", "offline_queries"):
        shutil.copytree(REPO / folder, root / folder)
    (root / "pyproject.toml").write_text('[tool.parity]\nevent_log = "events"\nonline_log = "online"\n'
                                         'reports = "reports"\ndatabase = "sqlite:///parity.db"\n')
    # One hour more than the day, streamed too: the day's last hour settles once later events are in the log
    # (`run` leaves the extra hour alone, as it is not settled).
    span = options.hours + 1
    events = options.rate * 60 * span
    day_end = (dt.datetime.fromisoformat(DAY_START) + dt.timedelta(hours=span)).isoformat()
    print(f"project {root}: {options.hours} h at {options.rate} events/min, load {os.getloadavg()[0]:.1f}",
          flush=True)
    stages = [run_stage("generate", ["generate", "--start", DAY_START, "--duration", f"{span}h",
                                     "--rate", str(options.rate)], root, events)]
    for feature in FEATURES:
        stages.append(run_stage(f"stream {feature}", ["stream", feature, "--start", DAY_START, "--end", day_end,
                                                      "--mode", options.mode], root, events))
    checked = options.rate * 60 * options.hours * len(FEATURES)  # the settled day, per feature
    stages.append(run_stage("run --all (4 features)", ["run", "--all", "--since", f"{span}h"], root, checked))
    stages.append(run_stage("run --all again", ["run", "--all", "--since", f"{span}h"], root, 0))
    print(f"load after: {os.getloadavg()[0]:.1f}")
    if not options.keep:
        shutil.rmtree(root, ignore_errors=True)
    return stages


def as_json(stages: list[Stage]) -> list[dict[str, object]]:
    return [{**asdict(stage), "events_per_s": stage.events_per_s} for stage in stages]


if __name__ == "__main__":
    print(json.dumps(as_json(main(sys.argv[1:])), indent=2))
