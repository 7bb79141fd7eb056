"""Alert channels: one `Message` rendered into each channel's payload and sent.

A channel is a `Sender` (a function) in the `SENDERS` registry, keyed by the `type` a rule names:
console (a line on stderr), jsonl (an append-only file), webhook (generic JSON), slack (incoming-webhook
message) and pagerduty (Events API v2). Adding a channel is adding a function and a registry entry.

Delivery calls `send`, never a sender directly: whatever a sender raises becomes one `DeliveryFailed` for that
notification alone, with a secret-free detail.

Secrets (webhook URLs, routing keys) are read from the environment at send time and never leave this module:
payloads carry no URL, failure details are scrubbed of every secret value, and the message of an unexpected
exception in a channel that holds secrets is withheld (it may quote a piece of one, e.g. a URL's port).
Receivers can drop a repeated delivery by the message's stable `key` (`id` in JSON bodies, the
`Idempotency-Key` header) or, in PagerDuty, by the incident's `dedup_key`; the JSONL channel drops it itself.
"""

from __future__ import annotations

import enum
import fcntl
import http.client
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from parity.alerts.rules import Channel, Severity
from parity.publish import UnsafeName, inside
from parity.units import iso


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
        return iso(self.time_us)

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
    def __call__(self, message: Message, channel: Channel, project: Path, *, again: bool) -> None:
        """Deliver `message` or raise DeliveryFailed. `again`: an earlier attempt may have delivered it already."""


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


def send_console(message: Message, channel: Channel, project: Path, *, again: bool) -> None:
    state = "RESOLVED" if message.kind is NotificationKind.RESOLVE else message.severity.upper()
    print(f"[parity alert] {state} {message.feature} {message.condition} (rule {message.rule}): {message.summary}",
          file=sys.stderr, flush=True)


def send_jsonl(message: Message, channel: Channel, project: Path, *, again: bool) -> None:
    """Append one JSON line, in one write, under an exclusive lock on the file, then fsync.

    The file must be inside the project (`parity.publish.inside`, links followed). Writers take turns on the
    lock, so a line never interleaves with another process's. A file that does not end in a newline (a write
    that never finished, or a file someone else wrote) gets a newline first: its last line is kept as it is,
    never cut, and this line starts on a line of its own. Only when `again` (an earlier attempt may have written
    this message before the process died) is the file searched for the key, and only a whole, parseable line
    with that `id` counts: a first attempt costs one append, not a re-read.
    """
    assert channel.path is not None
    try:
        path = inside(project, channel.path)
    except UnsafeName as exc:
        raise DeliveryFailed(f"jsonl path: {exc}") from None
    line = (json.dumps(webhook_body(message), sort_keys=True) + "\n").encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            if not _ends_in_newline(handle):
                line = b"\n" + line
            if again and _has_line_with_id(handle, message.key):
                return
            _write_all(handle.fileno(), line)
            os.fsync(handle.fileno())
    except OSError as exc:
        raise DeliveryFailed(f"cannot append to {path}: {exc.strerror or type(exc).__name__}") from None


def _ends_in_newline(handle: Any) -> bool:
    """Is the file empty or its last byte a newline?"""
    size = os.fstat(handle.fileno()).st_size
    if size == 0:
        return True
    handle.seek(size - 1)
    return bool(handle.read(1) == b"\n")


def _has_line_with_id(handle: Any, key: str) -> bool:
    handle.seek(0)
    needle = key.encode()
    for raw in handle:
        if needle in raw:
            try:
                if json.loads(raw).get("id") == key:
                    return True
            except (ValueError, AttributeError):
                continue
    return False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def send_webhook(message: Message, channel: Channel, project: Path, *, again: bool) -> None:
    url = channel.url or _secret(channel.url_env)
    _post_json(url, webhook_body(message), channel, headers={"Idempotency-Key": message.key})


def send_slack(message: Message, channel: Channel, project: Path, *, again: bool) -> None:
    _post_json(_secret(channel.url_env), slack_body(message), channel, headers={})


def send_pagerduty(message: Message, channel: Channel, project: Path, *, again: bool) -> None:
    assert channel.url is not None
    _post_json(channel.url, pagerduty_body(message, _secret(channel.routing_key_env)), channel, headers={})


SENDERS: dict[str, Sender] = {
    "console": send_console,
    "jsonl": send_jsonl,
    "webhook": send_webhook,
    "slack": send_slack,
    "pagerduty": send_pagerduty,
}


def send(message: Message, channel: Channel, project: Path, *, again: bool = False) -> None:
    """Deliver `message` through its channel's sender. Raises only `DeliveryFailed`, its detail free of secrets."""
    secrets = [value for name in channel.secret_envs if (value := os.environ.get(name))]
    try:
        SENDERS[channel.type](message, channel, project, again=again)
    except DeliveryFailed as exc:
        raise DeliveryFailed(_scrub(exc.detail, secrets)) from None
    except Exception as exc:  # noqa: BLE001 (a sender's bug or unforeseen input fails this notification, not the run)
        said = f": {_scrub(str(exc).splitlines()[0] if str(exc) else '', secrets)}" if not channel.secret_envs else ""
        raise DeliveryFailed(f"unexpected {type(exc).__name__} in the {channel.type} channel{said}") from None


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
    where = f"${channel.url_env}" if channel.url_env else "url"
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryFailed(f"{where} is not an http(s) URL such as https://host/path; fix the value (not shown)")
    try:
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "parity-alerts", **headers},
            method="POST",
        )
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
    except (ValueError, http.client.InvalidURL):  # a bad port, a control character: their messages quote the URL
        raise DeliveryFailed(f"{where} is not a valid URL; fix the value (not shown)") from None
    except http.client.HTTPException as exc:
        raise DeliveryFailed(f"bad HTTP response: {type(exc).__name__}") from None


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text
