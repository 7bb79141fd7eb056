"""The JSONL channel: one JSON line per notification appended to a file. `{type: jsonl, path: reports/alerts.jsonl}`

The file must be inside the project (`parity.publish.inside`, links followed), when the rule loads and when a
line is sent; a relative path is under the project. The line is the webhook body (`id` is the notification's
key); a notification delivered again (after a crash) is not appended twice.
"""

from __future__ import annotations

import fcntl
import json
import os
from typing import Any

from pydantic import ValidationInfo, field_validator

from parity.alerts.channels import ChannelOptions, ChannelType, Context, DeliveryFailed, Message, json_body, register
from parity.publish import UnsafeName, inside


class JsonlOptions(ChannelOptions):
    path: str = "reports/alerts.jsonl"

    @field_validator("path")
    @classmethod
    def _inside_project(cls, value: str, info: ValidationInfo) -> str:
        """A sink stays in the project (known when a rule loads; a stored channel is checked again at send)."""
        project = (info.context or {}).get("project")
        if project is not None:
            inside(project, value)  # UnsafeName is a ValueError: the rule's error names channels.N.path
        return value


def send_jsonl(message: Message, options: JsonlOptions, context: Context) -> None:
    """Append one JSON line, in one write, under an exclusive lock on the file, then fsync.

    The file must be inside the project (`parity.publish.inside`, links followed). Writers take turns on the
    lock, so a line never interleaves with another process's. A file that does not end in a newline (a write
    that never finished, or a file someone else wrote) gets a newline first: its last line is kept as it is,
    never cut, and this line starts on a line of its own. Only when `again` (an earlier attempt may have written
    this message before the process died) is the file searched for the key, and only a whole, parseable line
    with that `id` counts: a first attempt costs one append, not a re-read.
    """
    try:
        path = inside(context.project, options.path)
    except UnsafeName as exc:
        raise DeliveryFailed(f"jsonl path: {exc}") from None
    line = (json.dumps(json_body(message), sort_keys=True) + "\n").encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            if not _ends_in_newline(handle):
                line = b"\n" + line
            if context.again and _has_line_with_id(handle, message.key):
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


register(ChannelType("jsonl", JsonlOptions, send_jsonl, destination=lambda options: f"jsonl:{options.path}"))
