"""Publishing files: a reader sees a file whole or not at all, and a crash leaves nothing a reader picks up.

Every file parity writes for another command to read (event log files, quarantine files, the online log, the
arrival index) goes through `publish`: the bytes go to a temporary file with a unique name in the target's
folder, are fsynced, and the temporary file is renamed over the target (atomic on POSIX), then the folder is
fsynced so the rename survives a power cut. Two writers of one target never share a temporary file: the last
rename wins and the target is always one writer's whole file.

Temporary names (and `scratch` folders) start with `.`, which every reader skips (`published`), and carry the
writer's host and process id, so `clean_leftovers` (called by each writer as it starts) removes what a killed
writer left behind without touching the temporaries of a writer still running. A leftover from another host is
removed once it is a day old.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Names readers never list: other writers' bookkeeping (`_SUCCESS`, `_metadata`, `.crc`) and our temporaries.
HIDDEN_PREFIXES = ("_", ".")
_TEMPORARY = ".parity-tmp"
_FOREIGN_MAX_AGE_S = 24 * 3600


def published(directory: Path, suffix: str) -> list[Path]:
    """The files of `directory` named `*<suffix>` that readers may read, sorted: hidden names left out."""
    return sorted(
        path for path in directory.iterdir()
        if path.name.endswith(suffix) and not path.name.startswith(HIDDEN_PREFIXES) and path.is_file()
    )


def publish(target: Path, write: Callable[[Path], Any]) -> Path:
    """`write(path)` writes the content to `path`; it becomes `target` atomically, fsynced. Returns `target`.

    On any failure (or interruption) the temporary file is removed and `target` is left as it was."""
    temporary = target.with_name(f"{_owner_prefix(_TEMPORARY)}-{uuid.uuid4().hex[:12]}-{target.name}")
    try:
        write(temporary)
        _fsync(temporary)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(target.parent)
    return target


def publish_bytes(target: Path, data: bytes) -> Path:
    return publish(target, lambda path: path.write_bytes(data))


def publish_text(target: Path, text: str) -> Path:
    return publish_bytes(target, text.encode())


def scratch(parent: Path, kind: str) -> Path:
    """A new hidden folder `.<kind>-<host>-<pid>-<random>` in `parent` for work in progress, removed by its
    writer when done, or by `clean_leftovers(parent, kind)` after the writer died."""
    folder = parent / f"{_owner_prefix('.' + kind)}-{uuid.uuid4().hex[:12]}"
    folder.mkdir(parents=True)
    return folder


def clean_leftovers(directory: Path, *kinds: str) -> list[Path]:
    """Remove the temporary files (and `scratch` folders of `kinds`) in `directory` whose writer is gone:
    a process of this host that no longer runs, or another host's after a day. Returns what it removed."""
    if not directory.is_dir():
        return []
    prefixes = tuple(f"{prefix}-" for prefix in (_TEMPORARY, *(f".{kind}" for kind in kinds)))
    removed: list[Path] = []
    for path in directory.iterdir():
        prefix = next((p for p in prefixes if path.name.startswith(p)), None)
        if prefix is None or not _abandoned(path, path.name[len(prefix):]):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _host() -> str:
    return "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:40] or "host"


def _owner_prefix(prefix: str) -> str:
    return f"{prefix}-{_host()}-{os.getpid()}"


def _abandoned(path: Path, owner: str) -> bool:
    """Is the writer named by `owner` (`<host>-<pid>-...`) gone?"""
    host, _, rest = owner.partition("-")
    pid_text = rest.partition("-")[0]
    if not pid_text.isdigit():
        return False  # not a name parity made
    if host != _host():
        with contextlib.suppress(OSError):
            return time.time() - path.lstat().st_mtime > _FOREIGN_MAX_AGE_S
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # some filesystems cannot fsync a folder; the rename is still atomic
        _fsync(directory)
