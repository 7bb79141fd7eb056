"""The console channel: one line on stderr per notification. `{type: console}`"""

from __future__ import annotations

import sys

from parity.alerts.channels import ChannelOptions, ChannelType, Context, Message, register


class ConsoleOptions(ChannelOptions):
    pass


def send_console(message: Message, options: ConsoleOptions, context: Context) -> None:
    print(f"[parity alert] {message.state} {message.feature} {message.condition} (rule {message.rule}): "
          f"{message.summary}", file=sys.stderr, flush=True)


register(ChannelType("console", ConsoleOptions, send_console))
