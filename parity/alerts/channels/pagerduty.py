"""The PagerDuty channel: Events API v2, trigger and resolve grouped by the incident's `dedup_key`.

`{type: pagerduty, routing_key_env: PARITY_PAGERDUTY_ROUTING_KEY}`; the routing key is a secret, the events URL
(`url`, PagerDuty's by default) is not.
"""

from __future__ import annotations

from typing import Any

from parity.alerts.channels import ChannelOptions, ChannelType, Context, Message, NotificationKind, register, secret
from parity.alerts.channels.post import post_json

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"


class PagerDutyOptions(ChannelOptions):
    routing_key_env: str
    url: str = PAGERDUTY_EVENTS_URL


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


def send_pagerduty(message: Message, options: PagerDutyOptions, context: Context) -> None:
    post_json(options.url, pagerduty_body(message, secret(options.routing_key_env)), context, where="url")


register(ChannelType("pagerduty", PagerDutyOptions, send_pagerduty, secrets=("routing_key_env",),
                     destination=lambda options: f"pagerduty:${options.routing_key_env}@{options.url}"))
