"""Incidents, not spam: what one check means for one rule, and how it moves that rule's incident for the feature.

Plain functions over immutable values; the store persists what they return.

- `observe(rule, result)` -> `Evidence`: which of the rule's conditions hold (breach / suspect / below / failed)
  and whether the check counts as healthy. A `CheckFailure` holds only `failed` and is never healthy; an
  inconclusive check (input data failed its expectations) or one that compared no cells holds nothing and is
  not healthy either. A change of condition alone (breach -> failed) updates the incident without notifying.
- `step(incident, rule, evidence, now_us)` -> `IncidentChange | None`: one open incident per (feature, rule).
  It opens (notify), escalates when severity rises (notify), reminds when `renotify_after` has passed (notify),
  otherwise updates silently; `resolve_after` consecutive healthy checks resolve it (notify). A check that
  is neither condition nor healthy breaks the streak. Evidence of an hour older than the newest seen (`older`)
  only opens an incident when none is open: incidents follow the newest hour, whatever order results arrive in.
"""

from __future__ import annotations

import enum
import math
import uuid
from dataclasses import dataclass, replace
from typing import Any

from parity.alerts.channels import Delivery, Message, NotificationKind
from parity.alerts.rules import AlertRule, Condition, Measure, Severity
from parity.confidence import Assessment, Decision, assess, cells_needed
from parity.result import CheckFailure, CheckResult, Verdict
from parity.units import iso

_TIE_ORDER = (Condition.BREACH, Condition.FAILED, Condition.BELOW, Condition.FRESHNESS, Condition.SUSPECT)


class IncidentStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Action(enum.StrEnum):
    OPENED = "opened"  # notified
    ESCALATED = "escalated"  # severity rose; notified
    RENOTIFIED = "renotified"  # still open after renotify_after; notified
    UPDATED = "updated"  # still open, nothing new to say
    RECOVERING = "recovering"  # healthy, but not yet for resolve_after checks in a row
    RESOLVED = "resolved"  # notified


NOTIFYING = {Action.OPENED: NotificationKind.TRIGGER, Action.ESCALATED: NotificationKind.TRIGGER,
             Action.RENOTIFIED: NotificationKind.TRIGGER, Action.RESOLVED: NotificationKind.RESOLVE}


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    feature: str
    rule: str
    status: IncidentStatus
    condition: Condition  # the worst condition at the latest check that held one
    severity: Severity  # the highest severity reached
    summary: str  # what the latest check said
    opened_at_us: int
    updated_at_us: int
    last_notified_at_us: int
    resolved_at_us: int | None
    recovery_streak: int
    checks: int  # checks seen while open
    last_run_id: str

    @property
    def dedup_key(self) -> str:
        """Stable for the incident's life: PagerDuty's dedup_key, the id a receiver groups trigger and resolve by."""
        return f"parity/{self.feature}/{self.rule}/{self.id}"

    def __str__(self) -> str:
        """One line for `parity alerts`."""
        since = f"resolved {iso(self.resolved_at_us)}" if self.resolved_at_us else f"open since {iso(self.opened_at_us)}"
        checks = f"{self.checks} check{'s' if self.checks != 1 else ''}"
        return (f"{self.feature} [{self.rule}] {self.severity} {self.condition}, {since}, {checks}: {self.summary}"
                f" (dedup_key {self.dedup_key})")


@dataclass(frozen=True, slots=True)
class Evidence:
    """What one check says about one rule."""

    feature: str
    run_id: str
    held: dict[Condition, Severity]
    healthy: bool
    summary: str
    details: dict[str, Any]

    @property
    def worst(self) -> tuple[Condition, Severity]:
        return max(self.held.items(), key=lambda item: (item[1].rank, -_TIE_ORDER.index(item[0])))


@dataclass(frozen=True, slots=True)
class IncidentChange:
    """One check's effect on one incident. `notification` is what was queued for the rule's channels, if any."""

    incident: Incident
    action: Action
    summary: str
    notification: NotificationKind | None
    deliveries: tuple[Delivery, ...] = ()  # what became of the notification in this run, one per channel

    @property
    def notified(self) -> bool:
        return self.notification is not None

    def __str__(self) -> str:
        """One line for `parity check --alert`."""
        incident = self.incident
        sent = "".join(f"; {delivery}" for delivery in self.deliveries)
        return (f"incident {self.action}: {incident.feature} [{incident.rule}] {incident.severity} "
                f"{incident.condition}: {self.summary}{sent}")


def observe(rule: AlertRule, result: CheckResult | CheckFailure) -> Evidence:
    if isinstance(result, CheckFailure):
        failed = {Condition.FAILED: rule.when[Condition.FAILED]} if Condition.FAILED in rule.when else {}
        summary = f"{result.feature}: check failed (exit code {result.exit_code}): {result.error}"
        details = {"run_id": result.run_id, "start": result.start, "end": result.end, "error": result.error}
        return Evidence(result.feature, result.run_id, failed, False, summary, details)

    agreement = result.agreement if rule.measure is Measure.RAW else result.agreement_net_of_explained
    judged = assess(agreement, result.compared, result.threshold)
    details = _details(result, rule, judged)
    if result.verdict is Verdict.INCONCLUSIVE:
        summary = f"{result.feature}: inconclusive, input data failed its expectations; agreement not judged"
        return Evidence(result.feature, result.run_id, {}, False, summary, details)
    if result.compared == 0 or not math.isfinite(agreement):
        summary = f"{result.feature}: no cells compared; agreement not judged"
        return Evidence(result.feature, result.run_id, {}, False, summary, details)

    held: dict[Condition, Severity] = {}
    if judged.decision is Decision.BREACH and Condition.BREACH in rule.when:
        held[Condition.BREACH] = rule.when[Condition.BREACH]
    if judged.decision is Decision.SUSPECT and Condition.SUSPECT in rule.when:
        held[Condition.SUSPECT] = rule.when[Condition.SUSPECT]
    if rule.bar is not None and agreement < rule.bar:
        held[Condition.BELOW] = rule.when[Condition.BELOW]
    summary = _summary(result, rule, judged)
    within = None if result.served is None else result.served.get("within_sla")
    if Condition.FRESHNESS in rule.when and isinstance(within, (int, float)) and within < result.threshold:
        held[Condition.FRESHNESS] = rule.when[Condition.FRESHNESS]
        assert result.served is not None
        summary += (f"; freshness: {within:.3%} of {result.served['reads']:,} served reads within the "
                    f"{result.served['freshness_sla_s']:g} s SLA (p99 {result.served['freshness_p99_s']:.1f} s, "
                    f"{result.served['clock']} clock), below the {result.threshold:.4%} bar")
        details = details | {"within_sla": within, "freshness_p99_s": result.served["freshness_p99_s"]}
    judges_threshold = Condition.BREACH in rule.when or Condition.SUSPECT in rule.when
    healthy = not held and (judged.decision is Decision.OK or not judges_threshold)
    return Evidence(result.feature, result.run_id, held, healthy, summary, details)


def step(incident: Incident | None, rule: AlertRule, evidence: Evidence, now_us: int, *,
         older: bool = False) -> IncidentChange | None:
    """`older`: the evidence is for an hour before the newest one seen for the feature (results arrived out of
    order, a backfill of past hours). It may open an incident when none is open (a breach found is news once),
    and otherwise changes nothing: an open incident follows the newest hour, never resolved or re-paged by a
    past one."""
    if older and incident is not None:
        return None
    if incident is None:
        if not evidence.held:
            return None
        condition, severity = evidence.worst
        opened = Incident(
            id=uuid.uuid4().hex,
            feature=evidence.feature,
            rule=rule.name,
            status=IncidentStatus.OPEN,
            condition=condition,
            severity=severity,
            summary=evidence.summary,
            opened_at_us=now_us,
            updated_at_us=now_us,
            last_notified_at_us=now_us,
            resolved_at_us=None,
            recovery_streak=0,
            checks=1,
            last_run_id=evidence.run_id,
        )
        return _change(opened, Action.OPENED, evidence)

    seen = replace(incident, updated_at_us=now_us, checks=incident.checks + 1, last_run_id=evidence.run_id)
    if evidence.held:
        condition, severity = evidence.worst
        seen = replace(seen, condition=condition, summary=evidence.summary, recovery_streak=0)
        if severity.rank > incident.severity.rank:
            return _change(replace(seen, severity=severity, last_notified_at_us=now_us), Action.ESCALATED, evidence)
        due = rule.renotify_after_us is not None and now_us - incident.last_notified_at_us >= rule.renotify_after_us
        if due:
            return _change(replace(seen, last_notified_at_us=now_us), Action.RENOTIFIED, evidence)
        return _change(seen, Action.UPDATED, evidence)
    if not evidence.healthy:
        return _change(replace(seen, recovery_streak=0), Action.UPDATED, evidence)
    streak = incident.recovery_streak + 1
    if streak < rule.resolve_after:
        return _change(replace(seen, recovery_streak=streak), Action.RECOVERING, evidence)
    resolved = replace(
        seen,
        status=IncidentStatus.RESOLVED,
        recovery_streak=streak,
        resolved_at_us=now_us,
        last_notified_at_us=now_us,
        summary=f"{evidence.summary}; healthy for {streak} consecutive check{'s' if streak > 1 else ''}",
    )
    return _change(resolved, Action.RESOLVED, evidence)


def message_for(change: IncidentChange, evidence: Evidence, key: str, now_us: int) -> Message:
    """The notification a change sends (only for changes whose action notifies)."""
    assert change.notification is not None
    incident = change.incident
    return Message(
        key=key,
        kind=change.notification,
        rule=incident.rule,
        feature=incident.feature,
        incident_id=incident.id,
        dedup_key=incident.dedup_key,
        condition=str(incident.condition),
        severity=incident.severity,
        summary=incident.summary,
        time_us=now_us,
        details={**evidence.details, "action": str(change.action), "opened_at_us": incident.opened_at_us},
    )



def _change(incident: Incident, action: Action, evidence: Evidence) -> IncidentChange:
    return IncidentChange(incident, action, evidence.summary, NOTIFYING.get(action))


def _summary(result: CheckResult, rule: AlertRule, judged: Assessment) -> str:
    measure = "agreement" if rule.measure is Measure.RAW else "agreement net of explained causes"
    figures = (
        f"{measure} {judged.agreement:.4%} (95% CI {judged.ci_low:.4%} to {judged.ci_high:.4%}) "
        f"over {result.compared:,} compared cells"
    )
    bar = f"; below the rule's bar {rule.bar:.4%}" if rule.bar is not None and judged.agreement < rule.bar else ""
    if judged.decision is Decision.BREACH:
        return f"{result.feature}: breach: {figures} is below the {result.threshold:.4%} threshold{bar}"
    if judged.decision is Decision.SUSPECT:
        more = judged.more_cells_to_settle or 0
        return (
            f"{result.feature}: suspect: {figures} is below the {result.threshold:.4%} threshold, but the sample "
            f"cannot show it; about {more:,} more cells at this rate would settle it{bar}"
        )
    return f"{result.feature}: ok: {figures} meets the {result.threshold:.4%} threshold{bar}"


def _details(result: CheckResult, rule: AlertRule, judged: Assessment) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "start": result.start,
        "end": result.end,
        "measure": str(rule.measure),
        "agreement": judged.agreement,
        "ci_low": judged.ci_low,
        "ci_high": judged.ci_high,
        "threshold": result.threshold,
        "decision": str(judged.decision),
        "compared": result.compared,
        "matched": result.matched,
        "cells_needed": cells_needed(result.threshold),
        "more_cells_to_settle": judged.more_cells_to_settle,
        "agreement_raw": result.agreement,
        "agreement_net_of_explained": result.agreement_net_of_explained,
        "causes": dict(result.causes),
    }
