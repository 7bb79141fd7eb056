"""Alert rules: `alerts/<name>.yaml`, one rule per file, the file's stem is the rule's name.

    features: [ride_requests, "avg_*"]      # names or globs; default every feature
    when: {breach: critical, failed: error}  # condition -> severity; conditions: breach, suspect, failed, below,
                                             # freshness (`--served`: share of reads within the SLA < threshold)
                                             # (one condition: `condition: breach` and `severity: critical`)
    bar: 0.995                               # only with `below`: agreement below this bar
    agreement: raw                           # or net_of_explained (late arrivals etc. forgiven)
    resolve_after: 2                         # consecutive healthy checks that close an incident
    renotify_after: 4h                       # repeat an unchanged open incident this often
    channels:
      - {type: console}
      - {type: jsonl, path: reports/alerts.jsonl}
      - {type: slack, url_env: PARITY_SLACK_WEBHOOK_URL}
      - {type: pagerduty, routing_key_env: PARITY_PAGERDUTY_ROUTING_KEY}
      - {type: webhook, url_env: PARITY_WEBHOOK_URL}

A channel entry is validated by the channel type its `type` names (`parity.alerts.channels.CHANNELS`): the
keys every channel has (`timeout`, `retries`, `backoff`) here, the rest by the type's own options model.
Secrets (webhook URLs, routing keys) are never written in a rule: a rule names the environment variable
that holds them. Validated strictly at this edge; inside, a rule is a frozen `AlertRule`.
"""

from __future__ import annotations

import enum
import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from parity.alerts.channels import Channel, Severity, channel_types
from parity.errors import AlertRuleError
from parity.units import parse_duration
from parity.yamlfile import load_yaml

__all__ = ["AlertRule", "Condition", "Measure", "Severity", "load_rule", "load_rules"]  # Severity: from channels

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RULE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class Condition(enum.StrEnum):
    BREACH = "breach"  # the 95% interval lies wholly below the threshold
    SUSPECT = "suspect"  # below the threshold, but the interval still covers it
    FAILED = "failed"  # the check could not run
    BELOW = "below"  # agreement below the rule's own bar
    FRESHNESS = "freshness"  # a served check's share of reads within the freshness SLA is below the threshold


class Measure(enum.StrEnum):
    RAW = "raw"  # what models actually received: the check's verdict uses this
    NET_OF_EXPLAINED = "net_of_explained"


@dataclass(frozen=True, slots=True)
class AlertRule:
    name: str
    path: str
    features: tuple[str, ...]
    when: dict[Condition, Severity]
    bar: float | None
    measure: Measure
    resolve_after: int
    renotify_after_us: int | None
    channels: tuple[Channel, ...]
    description: str = ""

    def applies_to(self, feature: str) -> bool:
        return any(fnmatch.fnmatchcase(feature, pattern) for pattern in self.features)


# --- the untrusted edge: pydantic models of the YAML, extra keys forbidden ---------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_duration(value: str) -> str:
    parse_duration(value)
    return value


class _Delivery(_Strict):
    """The keys every channel has; the rest of a channel's entry belongs to its type."""

    timeout: str = "5s"
    retries: int = Field(default=3, ge=0, le=10)
    backoff: str = "1s"

    _durations = field_validator("timeout", "backoff")(_check_duration)


class _Rule(_Strict):
    name: str | None = None  # optional; must equal the file's stem
    description: str = ""
    features: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    when: dict[Condition, Severity] | None = Field(default=None, min_length=1)
    condition: Condition | None = None  # shorthand for a single condition: `condition: breach` + `severity: critical`
    severity: Severity | None = None
    bar: float | None = Field(default=None, gt=0.0, le=1.0)
    agreement: Measure = Measure.RAW
    resolve_after: int = Field(default=2, ge=1)
    renotify_after: str | None = "4h"
    channels: list[dict[str, Any]] = Field(min_length=1)  # each validated by its type (`_channel`)

    _renotify = field_validator("renotify_after")(lambda value: value if value is None else _check_duration(value))

    @property
    def conditions(self) -> dict[Condition, Severity]:
        if self.when is not None:
            return self.when
        assert self.condition is not None and self.severity is not None
        return {self.condition: self.severity}

    @model_validator(mode="after")
    def _conditions(self) -> _Rule:
        if self.when is not None and (self.condition is not None or self.severity is not None):
            raise ValueError("give either `when: {condition: severity, ...}` or `condition` with `severity`, not both")
        if self.when is None and (self.condition is None or self.severity is None):
            raise ValueError("say when to alert: `when: {breach: critical}`, or `condition: breach` + `severity: critical`")
        if Condition.BELOW in self.conditions and self.bar is None:
            raise ValueError("condition `below` needs `bar: <agreement>`, e.g. bar: 0.995")
        if Condition.BELOW not in self.conditions and self.bar is not None:
            raise ValueError("`bar` is only used by condition `below`; add `below: <severity>` to `when` or remove it")
        return self


def load_rules(directory: Path, known_features: list[str] | None = None) -> tuple[AlertRule, ...]:
    """Every rule in `directory/*.yaml`, sorted by name. No directory: no rules.

    `known_features`, when given, makes a plain feature name (not a glob) that names no feature an error.
    """
    if not directory.is_dir():
        return ()
    return tuple(load_rule(path, known_features) for path in sorted(directory.glob("*.yaml")))


def load_rule(path: Path, known_features: list[str] | None = None) -> AlertRule:
    name = path.stem
    if not _RULE_NAME.match(name):
        raise AlertRuleError(str(path), "", "rule file names are lowercase letters, digits, - and _ (the rule's name)")
    try:
        document = load_yaml(path.read_text())
    except OSError as exc:
        raise AlertRuleError(str(path), "", f"cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise AlertRuleError(str(path), "", f"not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    except yaml.YAMLError as exc:
        raise AlertRuleError(str(path), "", f"invalid YAML: {str(exc).splitlines()[0]}") from exc
    if not isinstance(document, dict):
        raise AlertRuleError(str(path), "", "a rule is a YAML mapping with at least `when` and `channels`")
    try:
        raw = _Rule.model_validate(document)
    except ValidationError as exc:
        errors = exc.errors()
        # a misspelled key also makes the key it was meant to be "missing": report the misspelling
        first = next((error for error in errors if error["type"] == "extra_forbidden"), errors[0])
        field = ".".join(str(part) for part in first["loc"])
        # `from None`: pydantic's error echoes input values, and a secret pasted into a rule must not reach a traceback
        raise AlertRuleError(str(path), field, _problem(first)) from None
    if raw.name is not None and raw.name != name:
        raise AlertRuleError(str(path), "name", f"{raw.name!r} differs from the file name; a rule is named by its file")
    if known_features is not None:
        for index, pattern in enumerate(raw.features):
            if not any(ch in pattern for ch in "*?[") and pattern not in known_features:
                choices = ", ".join(sorted(known_features)) or "none defined"
                raise AlertRuleError(str(path), f"features.{index}", f"unknown feature {pattern!r}; known: {choices}")
    return AlertRule(
        name=name,
        path=str(path),
        features=tuple(raw.features),
        when=dict(raw.conditions),
        bar=raw.bar,
        measure=raw.agreement,
        resolve_after=raw.resolve_after,
        renotify_after_us=None if raw.renotify_after is None else parse_duration(raw.renotify_after),
        channels=tuple(_channel(path, index, channel) for index, channel in enumerate(raw.channels)),
        description=raw.description,
    )


def _channel(path: Path, index: int, raw: dict[str, Any]) -> Channel:
    """One channel entry, validated by the registered type it names."""
    where = f"channels.{index}"
    types = channel_types()
    name = raw.get("type")
    kind = types.get(name) if isinstance(name, str) else None
    if kind is None:
        problem = "missing" if name is None else f"unknown channel type {str(name)[:40]!r}"
        raise AlertRuleError(str(path), f"{where}.type", f"{problem}; known types: {', '.join(sorted(types))}")
    limits = {key: value for key, value in raw.items() if key in _Delivery.model_fields}
    rest = {key: value for key, value in raw.items() if key not in _Delivery.model_fields and key != "type"}
    errors: list[Any] = []
    try:
        delivery = _Delivery.model_validate(limits)
    except ValidationError as exc:
        errors += exc.errors()
    try:
        options = kind.options.model_validate(rest, context={"project": path.parent.parent})  # rules: <project>/alerts/
    except ValidationError as exc:
        errors += exc.errors()
    if errors:
        # a misspelled key also makes the key it was meant to be "missing": report the misspelling
        first = next((error for error in errors if error["type"] == "extra_forbidden"), errors[0])
        field = ".".join(str(part) for part in (where, *first["loc"]))
        # `from None`: pydantic's error echoes input values, and a secret pasted into a rule must not reach a traceback
        raise AlertRuleError(str(path), field, _problem(first)) from None
    for secret in kind.secrets:
        value = getattr(options, secret)
        if value is not None and not (isinstance(value, str) and _ENV_NAME.match(value)):
            # never echo the value: a secret pasted here by mistake must not reach an error message
            raise AlertRuleError(str(path), f"{where}.{secret}", "not an environment variable name; write the "
                                 "variable's name (A-Z, 0-9, _), not its value") from None
    return Channel(kind.name, parse_duration(delivery.timeout), delivery.retries, parse_duration(delivery.backoff),
                   options)


def _problem(error: Any) -> str:
    kind = error.get("type")
    if kind == "extra_forbidden":
        return "unknown key; remove it or check its spelling"
    if kind == "enum":
        return f"{error.get('input')!r} is not one of {error.get('ctx', {}).get('expected', '')}"
    message = str(error.get("msg", "invalid value"))
    return message.removeprefix("Value error, ")
