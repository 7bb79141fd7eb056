"""The Slack channel: an incoming-webhook message. `{type: slack, url_env: PARITY_SLACK_WEBHOOK_URL}`

The webhook URL is a secret: the rule names the environment variable that holds it.
"""

from __future__ import annotations

from typing import Any

from parity.alerts.channels import ChannelOptions, ChannelType, Context, Message, NotificationKind, register, secret
from parity.alerts.channels.post import post_json


class SlackOptions(ChannelOptions):
    url_env: str


_ICON = {
    NotificationKind.TRIGGER: ":rotating_light:",
    NotificationKind.RESOLVE: ":white_check_mark:",
    NotificationKind.TEST: ":wrench:",
}


def slack_body(message: Message) -> dict[str, Any]:
    """A Slack incoming-webhook message: `text` (the notification fallback) and Block Kit blocks."""
    title = f"{_ICON[message.kind]} [{message.state}] {message.feature}: {message.condition} (rule {message.rule})"
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


def send_slack(message: Message, options: SlackOptions, context: Context) -> None:
    post_json(secret(options.url_env), slack_body(message), context, where=f"${options.url_env}")


register(ChannelType("slack", SlackOptions, send_slack, secrets=("url_env",),
                     destination=lambda options: f"slack:${options.url_env}"))
