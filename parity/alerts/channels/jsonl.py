"""The JSONL channel: one JSON line per notification appended to a file. `{type: jsonl, path: reports/alerts.jsonl}`

A relative path is under the project. The line is the webhook body (`id` is the notification's key); a
notification delivered again (after a crash) is not appended twice.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

from parity.alerts.channels import ChannelOptions, ChannelType, Context, DeliveryFailed, Message, json_body, register


class JsonlOptions(ChannelOptions):
    path: str = "reports/alerts.jsonl"


def send_jsonl(message: Message, options: JsonlOptions, context: Context) -> None:
    """Append one JSON line, in one write, under an exclusive lock on the file, then fsync.

    Writers take turns on the lock, so a line never interleaves with another process's. A file that does not end
    in a newline holds the torn tail of a write that never finished (power loss, disk full): it is cut off
    before appending, and its notification, never marked sent, is written again whole. Only when `again` (an
    earlier attempt may have written this message before the process died) is the file searched for the key,
    and only a whole, parseable line with that `id` counts: a first attempt costs one append, not a re-read.
    """
    path = Path(options.path)
    path = path if path.is_absolute() else context.project / path
    line = (json.dumps(json_body(message), sort_keys=True) + "\n").encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            _cut_torn_tail(handle)
            if context.again and _has_line_with_id(handle, message.key):
                return
            _write_all(handle.fileno(), line)
            os.fsync(handle.fileno())
    except OSError as exc:
        raise DeliveryFailed(f"cannot append to {path}: {exc.strerror or type(exc).__name__}") from None


def _cut_torn_tail(handle: Any) -> None:
    """Truncate the file after its last newline (it holds a line that was never finished)."""
    size = os.fstat(handle.fileno()).st_size
    end = size
    while end > 0:
        start = max(0, end - 65_536)
        handle.seek(start)
        chunk = handle.read(end - start)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            end = start + newline + 1
            break
        end = start
    if end != size:
        handle.truncate(end)


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


register(ChannelType("jsonl", JsonlOptions, send_jsonl, destination=lambda options: f"jsonl:{options.path}"))
