"""What the results store holds after runs: ledger rows and recorded check results, per hour."""

from __future__ import annotations

from collections import Counter

from parity import ledger
from parity import results_store as store
from parity.settings import Settings


def ledger_rows(settings: Settings) -> list[ledger.HourRecord]:
    engine = ledger.connect(settings.database)
    try:
        with engine.connect() as conn:
            return ledger.hours(conn)
    finally:
        engine.dispose()


def results_per_hour(settings: Settings) -> Counter[tuple[str, str]]:
    """(feature, range start) -> how many check results (not failures) the store holds for it."""
    engine = store.connect(settings.database)
    try:
        with engine.connect() as conn:
            return Counter((r["feature"], r["start"]) for r in store.recorded_results(conn) if r["kind"] == "result")
    finally:
        engine.dispose()
