"""The generic webhook channel: the message as JSON, `Idempotency-Key` set to its key.

`{type: webhook, url: https://...}` for a URL that is not secret, `{type: webhook, url_env: NAME}` for one that
is (the rule names the environment variable holding it).
"""

from __future__ import annotations

from pydantic import model_validator

from parity.alerts.channels import ChannelOptions, ChannelType, Context, Message, json_body, register, secret
from parity.alerts.channels.post import post_json


class WebhookOptions(ChannelOptions):
    url: str | None = None
    url_env: str | None = None

    @model_validator(mode="after")
    def _one_url(self) -> WebhookOptions:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of url (not secret) or url_env (name of the env var holding the URL)")
        return self


def send_webhook(message: Message, options: WebhookOptions, context: Context) -> None:
    url = options.url if options.url is not None else secret(options.url_env)
    where = f"${options.url_env}" if options.url_env else "url"
    post_json(url, json_body(message), context, where=where, headers={"Idempotency-Key": message.key})


def _destination(options: WebhookOptions) -> str:
    return f"webhook:${options.url_env}" if options.url_env else f"webhook:{options.url}"


register(ChannelType("webhook", WebhookOptions, send_webhook, secrets=("url_env",), destination=_destination))
