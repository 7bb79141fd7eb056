"""History: agreement per checked hour of a feature, from the ledger (`parity history`).

Each hour shows its newest check (a recheck after a configuration change, or after its inputs changed, replaces
the earlier one), and what the earlier checks of that hour said: the ledger keeps every verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parity.ledger import HourRecord

SPARKS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True, slots=True)
class History:
    """The newest check of each hour of `feature` from `since_us` on, oldest hour first."""

    feature: str
    since_us: int | None
    hours: tuple[HourRecord, ...]
    earlier: tuple[tuple[HourRecord, ...], ...] = ()  # per hour of `hours`, its earlier checks, oldest first


def history(feature: str, records: list[HourRecord], since_us: int | None) -> History:
    """`records` (the ledger rows of the feature) -> the newest check per hour, the hours `since_us` back from the
    newest checked hour (all when None)."""
    newest: dict[int, HourRecord] = {}
    before: dict[int, list[HourRecord]] = {}
    for record in records:  # in the order recorded: a later check of an hour replaces an earlier one
        if record.start_us in newest:
            before.setdefault(record.start_us, []).append(newest[record.start_us])
        newest[record.start_us] = record
    hours = sorted(newest.values(), key=lambda r: r.start_us)
    first = None
    if since_us is not None and hours:
        first = hours[-1].start_us - since_us
        hours = [r for r in hours if r.start_us > first]
    return History(feature, first, tuple(hours), tuple(tuple(before.get(r.start_us, ())) for r in hours))


def to_json(found: History) -> list[dict[str, Any]]:
    from parity.units import iso

    return [
        {"start": iso(r.start_us), "end": iso(r.end_us), "agreement": r.agreement, "verdict": r.verdict.value,
         "causes": {cause.value: count for cause, count in r.causes.items()}, "run_id": r.run_id,
         "config_hash": r.config_hash,
         "earlier": [{"verdict": e.verdict.value, "agreement": e.agreement, "run_id": e.run_id} for e in earlier],
         **({"served": r.served} if r.served is not None else {})}
        for r, earlier in zip(found.hours, found.earlier or [()] * len(found.hours), strict=True)
    ]


def sparkline(values: list[float]) -> str:
    """One block per value, scaled between the lowest and the highest (all full when they are equal)."""
    if not values:
        return ""
    low, high = min(values), max(values)
    if high == low:
        return SPARKS[-1] * len(values)
    return "".join(SPARKS[round((v - low) / (high - low) * (len(SPARKS) - 1))] for v in values)


def to_text(found: History) -> str:
    from parity.units import iso

    if not found.hours:
        return f"{found.feature}: no checked hours in the ledger; run `parity run {found.feature}` first"
    agreements = [r.agreement for r in found.hours]
    lines = [
        (f"{found.feature}: {len(found.hours)} hours {iso(found.hours[0].start_us)} .. "
         f"{iso(found.hours[-1].end_us)}, agreement {min(agreements):.3%} .. {max(agreements):.3%}"),
        sparkline(agreements),
    ]
    for r, earlier in zip(found.hours, found.earlier or [()] * len(found.hours), strict=True):
        divergent = {cause: count for cause, count in r.causes.items() if count}
        causes = ", ".join(f"{cause.value} {count}" for cause, count in sorted(divergent.items(), key=lambda c: -c[1]))
        was = "; ".join(f"{e.verdict.value} {e.agreement:.3%}" for e in earlier)
        lines.append(f"{iso(r.start_us)}  {r.agreement:>8.3%}  {r.verdict.value:<12} {r.compared:>7} cells  "
                     f"{causes or '-'}  {r.run_id}" + (f"  (re-checked; earlier: {was})" if earlier else ""))
        if r.served is not None:
            lines.append(f"{'':20}  served {_share(r.served.get('served_agreement'))} of {r.served.get('reads')} reads, "
                         f"freshness p50/p95/p99 {_seconds(r.served.get('freshness_p50_s'))}/"
                         f"{_seconds(r.served.get('freshness_p95_s'))}/{_seconds(r.served.get('freshness_p99_s'))}, "
                         f"{_share(r.served.get('within_sla'))} within the SLA ({r.served.get('clock')} clock)")
    return "\n".join(lines)


def _share(value: object) -> str:
    return "n/a" if not isinstance(value, (int, float)) else f"{value:.3%}"


def _seconds(value: object) -> str:
    return "n/a" if not isinstance(value, (int, float)) else f"{value:.1f}s"
