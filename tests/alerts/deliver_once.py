"""Deliver the outbox in its own process, for the concurrency test: `python deliver_once.py PROJECT DATABASE GO`.

Waits until the file GO exists (so two processes start delivering at the same moment), then delivers every
pending notification and prints one line per delivery: `key sent|not-sent detail`.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

from parity import results_store as store
from parity.alerts import deliver_pending
from parity.settings import load_settings


def main() -> None:
    project, database, go = sys.argv[1:4]
    settings = replace(load_settings(project), database=database)
    engine = store.connect(database)
    while not Path(go).exists():
        time.sleep(0.005)
    for delivery in deliver_pending(engine, settings):
        print(delivery.key, "sent" if delivery.sent else "not-sent", delivery.detail or "")
    engine.dispose()


if __name__ == "__main__":
    main()
