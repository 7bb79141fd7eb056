"""Alert channels: one `Message` rendered into each channel's payload and sent.

A channel is a `Sender` (a function) in the `SENDERS` registry, keyed by the `type` a rule names:
console (a line on stderr), jsonl (an append-only file), webhook (generic JSON), slack (incoming-webhook
message) and pagerduty (Events API v2). Adding a channel is adding a function and a registry entry.

Secrets (webhook URLs, routing keys) are read from the environment at send time and never leave this module:
payloads carry no URL, and failure details are scrubbed of every secret value before they are returned.
Receivers can drop a repeated delivery by the message's stable `key` (`id` in JSON bodies, the
`Idempotency-Key` header) or, in PagerDuty, by the incident's `dedup_key`.
"""

from __future__ import annotations

import enum
import json
import os
import sys
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from parity.alerts.rules import Channel, Severity


class NotificationKind(enum.StrEnum):
    TRIGGER = "trigger"
    RESOLVE = "resolve"
    TEST = "test"


@dataclass(frozen=True, slots=True)
class Message:
    """Everything a notification says, free of secrets; every channel's payload is rendered from it."""

    key: str  # stable per notification: receivers dedupe on it
    kind: NotificationKind
    rule: str
    feature: str
    incident_id: str
    dedup_key: str  # stable per incident: PagerDuty groups trigger and resolve on it
    condition: str
    severity: Severity
    summary: str
    time_us: int
    details: dict[str, Any] = field(default_factory=dict)
    report_url: str | None = None  # the HTML report of the check that triggered it (`report_base_url` set)

    @property
    def time_iso(self) -> str:
        return datetime.fromtimestamp(self.time_us / 1e6, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Message:
        return cls(
            **{
                **data,
                "kind": NotificationKind(data["kind"]),
                "severity": Severity(data["severity"]),
                "details": dict(data.get("details") or {}),
            }
        )


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of delivering one notification in this run."""

    key: str
    rule: str
    feature: str
    kind: NotificationKind
    destination: str  # secret-free: env var names, not their values
    sent: bool
    attempts: int  # made in this run
    detail: str | None  # why it failed (secret-free), or why it was not tried

    def __str__(self) -> str:
        """One line for `parity alerts test`."""
        if self.sent:
            return f"sent {self.kind} to {self.destination} ({self.attempts} attempt{'s' if self.attempts != 1 else ''})"
        return f"not sent {self.kind} to {self.destination}: {self.detail}"


class DeliveryFailed(Exception):
    """One send did not succeed; `detail` is safe to store and print (no secrets)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Sender(Protocol):
    def __call__(self, message: Message, channel: Channel, project: Path) -> None:
        """Deliver `message` or raise DeliveryFailed."""


# --- payloads ----------------------------------------------------------------------------------------------


def webhook_body(message: Message) -> dict[str, Any]:
    """The generic JSON webhook body: the message itself plus an ISO timestamp; `id` is the dedupe key."""
    body = message.to_json()
    body["id"] = body.pop("key")
    body["time"] = message.time_iso
    return body


_SLACK_ICON = {
    NotificationKind.TRIGGER: ":rotating_light:",
    NotificationKind.RESOLVE: ":white_check_mark:",
    NotificationKind.TEST: ":wrench:",
}


def slack_body(message: Message) -> dict[str, Any]:
    """A Slack incoming-webhook message: `text` (the notification fallback) and Block Kit blocks."""
    state = "RESOLVED" if message.kind is NotificationKind.RESOLVE else message.severity.upper()
    title = f"{_SLACK_ICON[message.kind]} [{state}] {message.feature}: {message.condition} (rule {message.rule})"
    fields = [
        {"type": "mrkdwn", "text": f"*Feature*\n{message.feature}"},
        {"type": "mrkdwn", "text": f"*Condition*\n{message.condition}"},
        {"type": "mrkdwn", "text": f"*Severity*\n{message.severity}"},
        {"type": "mrkdwn", "text": f"*Rule*\n{message.rule}"},
    ]
    link = f"\n<{message.report_url}|Open the report>" if message.report_url else ""
    return {
        "text": f"{title}\n{message.summary}{link}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*\n{message.summary}{link}"}},
            {"type": "section", "fields": fields},
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"incident {message.dedup_key} · notification {message.key}"},
                ],
            },
        ],
    }


def pagerduty_body(message: Message, routing_key: str) -> dict[str, Any]:
    """A PagerDuty Events API v2 event: trigger (with payload) or resolve, grouped by the incident's dedup_key."""
    if message.kind is NotificationKind.RESOLVE:
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": message.dedup_key}
    links = [{"href": message.report_url, "text": "parity report"}] if message.report_url else []
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": message.dedup_key,
        **({"links": links} if links else {}),
        "payload": {
            "summary": message.summary[:1024],
            "source": "parity",
            "severity": str(message.severity),
            "timestamp": message.time_iso,
            "component": message.feature,
            "group": message.rule,
            "class": message.condition,
            "custom_details": {**message.details, "notification": message.key},
        },
    }


# --- senders -----------------------------------------------------------------------------------------------


def send_console(message: Message, channel: Channel, project: Path) -> None:
    state = "RESOLVED" if message.kind is NotificationKind.RESOLVE else message.severity.upper()
    print(f"[parity alert] {state} {message.feature} {message.condition} (rule {message.rule}): {message.summary}",
          file=sys.stderr, flush=True)


def send_jsonl(message: Message, channel: Channel, project: Path) -> None:
    """Append one JSON line; a message whose key is already in the file is not written again."""
    assert channel.path is not None
    path = Path(channel.path)
    path = path if path.is_absolute() else project / path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and f'"id": "{message.key}"' in path.read_text():
            return
        with path.open("a") as handle:
            handle.write(json.dumps(webhook_body(message), sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise DeliveryFailed(f"cannot append to {path}: {exc.strerror}") from exc


def send_webhook(message: Message, channel: Channel, project: Path) -> None:
    url = channel.url or _secret(channel.url_env)
    _post_json(url, webhook_body(message), channel, headers={"Idempotency-Key": message.key})


def send_slack(message: Message, channel: Channel, project: Path) -> None:
    _post_json(_secret(channel.url_env), slack_body(message), channel, headers={})


def send_pagerduty(message: Message, channel: Channel, project: Path) -> None:
    assert channel.url is not None
    _post_json(channel.url, pagerduty_body(message, _secret(channel.routing_key_env)), channel, headers={})


SENDERS: dict[str, Sender] = {
    "console": send_console,
    "jsonl": send_jsonl,
    "webhook": send_webhook,
    "slack": send_slack,
    "pagerduty": send_pagerduty,
}


def missing_secrets(channel: Channel) -> list[str]:
    """Names of the environment variables this channel needs and that are unset or empty."""
    return [name for name in channel.secret_envs if not os.environ.get(name)]


def _secret(env: str | None) -> str:
    value = os.environ.get(env or "")
    if not value:
        raise DeliveryFailed(f"environment variable {env} is unset")
    return value


def _post_json(url: str, body: dict[str, Any], channel: Channel, headers: dict[str, str]) -> None:
    secrets = [value for name in channel.secret_envs if (value := os.environ.get(name))]
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "parity-alerts", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=channel.timeout_us / 1e6) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(_scrub(f"HTTP {exc.code} {exc.reason}", secrets)) from None
    except urllib.error.URLError as exc:
        raise DeliveryFailed(_scrub(f"connection failed: {exc.reason}", secrets)) from None
    except TimeoutError:
        raise DeliveryFailed(f"no response within {channel.timeout_us / 1e6:g}s") from None
    except OSError as exc:
        raise DeliveryFailed(_scrub(f"connection failed: {exc.strerror or type(exc).__name__}", secrets)) from None


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text
