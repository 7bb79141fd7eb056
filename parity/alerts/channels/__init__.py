"""Alert channels: one `Message` rendered into each channel's payload and sent, through a registry of channel types.

A channel type is one module in this package (or in an installed package, see `docs/extending.md`) that calls
`register(ChannelType(name, options, send, secrets=...))`:

- `options`: a pydantic model (a `ChannelOptions`, extra keys forbidden) of the keys a rule's channel entry may
  hold besides the ones every channel has (`type`, `timeout`, `retries`, `backoff`);
- `send`: a `Sender`, `send(message, options, context)`, which delivers or raises `DeliveryFailed`;
- `secrets`: the option fields that name an environment variable holding a secret (a URL, a routing key). A
  rule never holds a secret, only the variable's name; the value is read at send time and scrubbed, in every
  form (`parity.redact`), from whatever a delivery reports.

The built-in types (console, jsonl, webhook, slack, pagerduty) are the modules of this package, each loaded
here; types of installed packages are loaded from the `parity.alert_channels` entry-point group. Adding a
channel type is adding one module: `parity.alerts.rules` validates a rule's channels through `CHANNELS`.

Delivery calls `send`, never a sender directly: whatever a sender raises becomes one `DeliveryFailed` for that
notification alone, with a secret-free detail. The message of an unexpected exception in a channel that holds
secrets is withheld (it may quote a piece of one, e.g. a URL's port). Receivers can drop a repeated delivery by
the message's stable `key` (`id` in JSON bodies, the `Idempotency-Key` header) or, in PagerDuty, by the
incident's `dedup_key`; the JSONL channel drops it itself.
"""

from __future__ import annotations

import enum
import functools
import importlib
import os
import pkgutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from parity.redact import redact
from parity.units import iso

ENTRY_POINTS = "parity.alert_channels"  # installed packages register channel types under this group


class Severity(enum.StrEnum):
    """PagerDuty's four severities, in rising order."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


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

    @property
    def state(self) -> str:
        """RESOLVED, or the severity in capitals: the word a channel's title leads with."""
        return "RESOLVED" if self.kind is NotificationKind.RESOLVE else self.severity.upper()

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


def json_body(message: Message) -> dict[str, Any]:
    """The generic JSON body (webhook, jsonl): the message itself plus an ISO timestamp; `id` is the dedupe key."""
    body = message.to_json()
    body["id"] = body.pop("key")
    body["time"] = message.time_iso
    return body


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
    """One send did not succeed; `detail` says why (`send` scrubs it of the channel's secrets)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


# --- the seam: options, sender, registry ------------------------------------------------------------------


class ChannelOptions(BaseModel):
    """The keys of a rule's channel entry that belong to its type; unknown keys are an error.

    A rule's entry is validated with `context={"project": <the project's Path>}` (a validator can keep a path
    inside it, as jsonl's does); a channel read back from the store is validated without a context."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class Context:
    """What a sender may need besides the message and its options."""

    project: Path  # relative paths in options resolve here
    timeout_s: float  # the channel's per-attempt timeout
    again: bool  # an earlier attempt may have delivered this message already (drop it if you can tell)
    holds_secrets: bool  # the channel reads a secret: report nothing a receiver said beyond a status code


O = TypeVar("O", bound=ChannelOptions)
O_contra = TypeVar("O_contra", bound=ChannelOptions, contravariant=True)


class Sender(Protocol[O_contra]):
    def __call__(self, message: Message, options: O_contra, context: Context) -> None:
        """Deliver `message` or raise DeliveryFailed."""


@dataclass(frozen=True, slots=True)
class ChannelType(Generic[O]):
    """One kind of channel: how a rule configures it, how it sends, which option fields name secrets."""

    name: str
    options: type[O]
    send: Sender[O]
    secrets: tuple[str, ...] = ()  # option fields holding the NAME of an env var whose value is a secret
    destination: Callable[[O], str] | None = None  # a printable, secret-free place; default: the type's name


CHANNELS: dict[str, ChannelType[Any]] = {}


def register(kind: ChannelType[Any]) -> None:
    """Make `kind` available to alert rules as `type: <kind.name>`. A name is registered once."""
    held = CHANNELS.get(kind.name)
    if held is not None and held != kind:
        raise ValueError(f"alert channel type {kind.name!r} is already registered (by {held.send.__module__})")
    unknown = [name for name in kind.secrets if name not in kind.options.model_fields]
    if unknown:
        raise ValueError(f"alert channel type {kind.name!r}: secrets {unknown} are not fields of {kind.options.__name__}")
    CHANNELS[kind.name] = kind


def channel_types() -> dict[str, ChannelType[Any]]:
    """Every registered channel type, those of installed packages included."""
    _load_installed()
    return CHANNELS


@functools.cache
def _load_installed() -> None:
    for entry in entry_points(group=ENTRY_POINTS):
        entry.load()


class _Unregistered(ChannelOptions):
    """The options of a stored notification whose channel type is no longer registered (kept, never sent)."""

    model_config = ConfigDict(extra="allow", frozen=True)


@dataclass(frozen=True, slots=True)
class Channel:
    """Where a notification goes: its type, delivery limits and the type's options (env var names, never secrets)."""

    type: str
    timeout_us: int
    retries: int
    backoff_us: int
    options: ChannelOptions

    @property
    def secret_envs(self) -> tuple[str, ...]:
        kind = channel_types().get(self.type)
        names = () if kind is None else kind.secrets
        return tuple(value for name in names if isinstance(value := getattr(self.options, name), str) and value)

    @property
    def destination(self) -> str:
        """A printable, secret-free name of where this channel delivers."""
        kind = channel_types().get(self.type)
        return self.type if kind is None or kind.destination is None else kind.destination(self.options)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "timeout_us": self.timeout_us, "retries": self.retries,
                "backoff_us": self.backoff_us, **self.options.model_dump(mode="json")}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Channel:
        """A stored channel. Keys its type does not know that are null are dropped (stores written before the
        registry kept every type's fields on every channel)."""
        limits = ("type", "timeout_us", "retries", "backoff_us")
        kind = channel_types().get(data["type"])
        model: type[ChannelOptions] = _Unregistered if kind is None else kind.options
        options = {key: value for key, value in data.items()
                   if key not in limits and (key in model.model_fields or value is not None)}
        return cls(data["type"], int(data["timeout_us"]), int(data["retries"]), int(data["backoff_us"]),
                   model.model_validate(options))


def send(message: Message, channel: Channel, project: Path, *, again: bool = False) -> None:
    """Deliver `message` through its channel's sender. Raises only `DeliveryFailed`, its detail free of secrets."""
    secrets = [value for name in channel.secret_envs if (value := os.environ.get(name))]
    kind = channel_types().get(channel.type)
    if kind is None:
        known = ", ".join(sorted(channel_types()))
        raise DeliveryFailed(f"no alert channel type {channel.type!r} is registered; known types: {known}")
    context = Context(project, channel.timeout_us / 1e6, again, bool(channel.secret_envs))
    try:
        kind.send(message, channel.options, context)
    except DeliveryFailed as exc:
        raise DeliveryFailed(redact(exc.detail, secrets)) from None
    except Exception as exc:  # noqa: BLE001 (a sender's bug or unforeseen input fails this notification, not the run)
        said = f": {redact(str(exc).splitlines()[0] if str(exc) else '', secrets)}" if not channel.secret_envs else ""
        raise DeliveryFailed(f"unexpected {type(exc).__name__} in the {channel.type} channel{said}") from None


def missing_secrets(channel: Channel) -> list[str]:
    """Names of the environment variables this channel needs and that are unset or empty."""
    return [name for name in channel.secret_envs if not os.environ.get(name)]


def secret(env: str | None) -> str:
    """The value of the secret held in environment variable `env`; DeliveryFailed when it is unset."""
    value = os.environ.get(env or "")
    if not value:
        raise DeliveryFailed(f"environment variable {env} is unset")
    return value


# The built-in channel types: every module of this package registers its own.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
