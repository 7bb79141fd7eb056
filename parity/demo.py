"""`make demo`: the main job end to end on the embedded example project.

generate events -> lint -> stream every feature on Beam -> `parity run --all` (each settled hour of every
feature checked against Spark and recorded) -> `parity history` ->
then a copy of one feature with an injected defect (a missing filter), checked with alerts on, which
opens an incident. Each step is the real `parity` command, printed before it runs. It ends with the paths of
`reports/index.html` and of the buggy port's HTML report, and a screenshot of that report
(`reports/demo-report.png`, where Chromium is installed).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

START = "2026-11-26T08:00:00Z"
END = "2026-11-26T10:00:00Z"
DEFECT_END = "2026-11-26T08:20:00Z"  # twenty minutes of the broken port open the incident
COARSE_END = "2026-11-26T08:10:00Z"  # ten minutes show the diagnosis
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
    print(closing_table([root / "reports", broken / "reports", coarse / "reports"]))
    buggy = max((broken / "reports" / "ride_requests").glob("*.html"))
    shot = screenshot(buggy, root / "reports" / "demo-report.png")
    print(f"\ndemo finished in {time.monotonic() - started:.0f}s")
    print(f"reports of every feature: {root / 'reports' / 'index.html'}")
    print(f"report of the buggy port: {buggy}")
    print(f"its screenshot: {shot}" if isinstance(shot, Path) else f"no screenshot: {shot}")


def closing_table(report_dirs: list[Path]) -> str:
    """Per feature checked, from its latest JSON report (the demo's last hour): verdict, agreement, agreement net
    of late data, the lateness that would reach the bar, and the cause of most divergent cells."""
    lines = [f"\n{'feature':<30} {'verdict':<10} {'agreement':>10} {'net':>9} {'lateness needed':>16}  top cause"]
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
            lines.append(f"{name:<30} {result['verdict']:<10} {result['agreement']:>10.4%} "
                         f"{result['agreement_net_of_explained']:>9.4%} {result.get('lateness_needed') or '-':>16}  {top}")
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
