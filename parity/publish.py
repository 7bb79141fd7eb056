"""Publishing files: a reader sees a file whole or not at all, a crash leaves nothing a reader picks up, and no
input decides where parity writes.

Every file parity writes for another command to read (event log files, quarantine files, the online log, the
arrival index, the reports and their index, the metrics textfile) goes through `publish`: the bytes go to a
temporary file with a unique name in the target's folder, created exclusively (`O_CREAT | O_EXCL | O_NOFOLLOW`,
mode 0644: a file or symlink planted under that name is never opened, let alone truncated), are fsynced, and the
temporary file is renamed over the target (atomic on POSIX), then the folder is fsynced so the rename survives a
power cut. Two writers of one target never share a temporary file: the last rename wins and the target is always
one writer's whole file. On any failure the temporary file is removed and the error names the target.

Names that become paths are checked where they do (`feature_name`, `run_id`), and `inside` keeps a resolved
path under its root (symlinks followed): a feature name, a run id read from a JSON, an alert rule's `path:` or a
spec file linked elsewhere never lead a write (or a read) outside the folder it belongs in.

Temporary names (and `scratch` folders) start with `.`, which every reader skips (`published`), and carry the
writer's host and process id, so `clean_leftovers` (called by each writer as it starts) removes what a killed
writer left behind without touching the temporaries of a writer still running. A leftover from another host is
removed once it is a day old.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import stat
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from parity.errors import DataError

# Names readers never list: other writers' bookkeeping (`_SUCCESS`, `_metadata`, `.crc`) and our temporaries.
HIDDEN_PREFIXES = ("_", ".")
_TEMPORARY = ".parity-tmp"
_FOREIGN_MAX_AGE_S = 24 * 3600
_MODE = 0o644
# A feature's name is an identifier: it names a spec, a query, a report folder and metric labels.
FEATURE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A run id, as `check.new_run_id` (`20261126T100501Z-1a2b3c`) and `ledger.hour_run_id`
# (`20261126T080000Z-1a2b3c`, a fraction when the hour starts off the second) make it, with the
# `-failed-<hex>` of a failed check (`schedule`): it names report files, so nothing else may pass.
RUN_ID = re.compile(r"^\d{8}T\d{6}(\.\d{1,6})?Z-[0-9a-f]{6}(-failed-[0-9a-f]{6})?$")


class UnsafeName(ValueError):
    """A name or path that would put a file where it does not belong; the message says which and why."""


def feature_name(value: object) -> str:
    """`value` if it is a feature name (an identifier), else `UnsafeName`."""
    if not isinstance(value, str) or not FEATURE_NAME.match(value):
        raise UnsafeName(f"{value!r} is not a feature name (letters, digits and underscores, not starting with a digit)")
    return value


def run_id(value: object) -> str:
    """`value` if it is a run id as parity makes them (`20261126T100501Z-1a2b3c`), else `UnsafeName`."""
    if not isinstance(value, str) or not RUN_ID.match(value):
        shown = value if not isinstance(value, str) else value[:80]
        raise UnsafeName(f"{shown!r} is not a run id (like 20261126T100501Z-1a2b3c; list the feature's report folder)")
    return value


def inside(root: Path, path: Path | str) -> Path:
    """`path` (relative to `root` unless absolute: pass `.absolute()` for a path built from a relative `root`)
    resolved, symlinks followed, if it stays under `root` (itself resolved: a `root` that is a symlink is
    allowed), else `UnsafeName`."""
    base = root.resolve()
    candidate = Path(path)
    resolved = (candidate if candidate.is_absolute() else base / candidate).resolve()
    if resolved != base and base not in resolved.parents:
        raise UnsafeName(f"{str(path)!r} is outside {root} (resolves to {resolved}); use a path inside it")
    return resolved


def published(directory: Path, suffix: str) -> list[Path]:
    """The files of `directory` named `*<suffix>` that readers may read, sorted: hidden names left out."""
    return sorted(
        path for path in directory.iterdir()
        if path.name.endswith(suffix) and not path.name.startswith(HIDDEN_PREFIXES) and path.is_file()
    )


class PublishError(DataError, OSError):
    """A file could not be published: one line naming the target (its temporary is gone). An `OSError` too, so
    best-effort writers that catch `OSError` still do, and a `DataError` (exit 2, no traceback) for the CLI."""

    def __init__(self, target: Path | str, problem: str, errno: int | None = None) -> None:
        super().__init__(str(target), f"cannot write: {problem}")
        self.errno = errno


def publish(target: Path, write: Callable[[Path], Any]) -> Path:
    """`write(path)` writes the content to `path`, a new empty file parity created exclusively; it becomes `target`
    atomically, fsynced. Returns `target`.

    On any failure (or interruption) the temporary file is removed and `target` is left as it was; an `OSError`
    comes back as `PublishError` naming `target` (`No space left on device` alone says nothing of where)."""
    temporary, descriptor = _create_temporary(target)
    try:
        created = os.fstat(descriptor)
    finally:
        os.close(descriptor)
    try:
        write(temporary)
        _check_same_file(temporary, created, target)
        _fsync(temporary)
        os.replace(temporary, target)
    except BaseException as exc:
        _discard(temporary, created)
        if isinstance(exc, OSError) and not isinstance(exc, PublishError):
            raise PublishError(target, exc.strerror or str(exc), exc.errno) from exc
        raise
    _fsync_directory(target.parent)
    return target


def publish_bytes(target: Path, data: bytes) -> Path:
    """`data` as `target`, written through the descriptor of the exclusively created temporary (never reopened)."""
    temporary, descriptor = _create_temporary(target)
    created = os.fstat(descriptor)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view):]
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, target)
    except BaseException as exc:
        _discard(temporary, created)
        if isinstance(exc, OSError):
            raise PublishError(target, exc.strerror or str(exc), exc.errno) from exc
        raise
    _fsync_directory(target.parent)
    return target


def publish_text(target: Path, text: str) -> Path:
    return publish_bytes(target, text.encode())


def _create_temporary(target: Path) -> tuple[Path, int]:
    """A new, empty, uniquely named file beside `target`, created by this call and no one else (`O_EXCL`: an
    existing file or symlink of that name is an error, never opened), and its open descriptor."""
    temporary = target.with_name(f"{_owner_prefix(_TEMPORARY)}-{uuid.uuid4().hex[:12]}-{target.name}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        return temporary, os.open(temporary, flags, _MODE)
    except OSError as exc:
        raise PublishError(target, exc.strerror or str(exc), exc.errno) from exc


def _check_same_file(path: Path, created: os.stat_result, target: Path) -> None:
    """The temporary is still the regular file this process created (nobody swapped in a link meanwhile)."""
    now = os.lstat(path)
    if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (created.st_dev, created.st_ino):
        raise PublishError(target, f"its temporary {path.name} was replaced while it was written")


def _discard(temporary: Path, created: os.stat_result) -> None:
    """Remove the temporary, if it is still the file this process created."""
    with contextlib.suppress(OSError):
        now = os.lstat(temporary)
        if (now.st_dev, now.st_ino) == (created.st_dev, created.st_ino):
            os.unlink(temporary)


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
