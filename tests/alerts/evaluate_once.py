"""Run evaluate_alerts in its own process, for the crash tests: `python evaluate_once.py PROJECT DATABASE RESULT`.

RESULT is a CheckResult as JSON, or a JSON list of them. With `--pause-in-transaction MARKER` the process writes MARKER right after
queueing its first notification, inside the still-open transaction, and then waits to be killed.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from parity.alerts import evaluate_alerts, outbox
from parity.result import CheckResult, Verdict
from parity.settings import load_settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("project")
    parser.add_argument("database")
    parser.add_argument("result")
    parser.add_argument("--pause-in-transaction")
    args = parser.parse_args()
    if args.pause_in_transaction:
        enqueue = outbox.enqueue

        def enqueue_then_wait(conn, notification):  # type: ignore[no-untyped-def]
            enqueue(conn, notification)
            Path(args.pause_in_transaction).write_text("in transaction")
            time.sleep(600)

        outbox.enqueue = enqueue_then_wait
    data = json.loads(args.result)
    results = [CheckResult(**{**one, "verdict": Verdict(one["verdict"])}) for one in
               (data if isinstance(data, list) else [data])]
    settings = replace(load_settings(args.project), database=args.database)
    for change in evaluate_alerts(results, settings):
        print(change.action, change.incident.rule, change.incident.condition)


if __name__ == "__main__":
    main()
