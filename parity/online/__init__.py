"""Where realtime outputs are read from: one small Protocol, and a registry of sources keyed by URL scheme.

The check asks `open_source(location).read(feature, start_us, end_us)` for the online rows of windows
starting in a range, as `OnlinePart`s (a table, the name of what it came from, the window starts it claims).
A source may return rows outside the range (the check keeps them as evidence of shifted windows) but must
not return rows a newer output replaced. The filesystem layout (`parity.online.files`) is the source of
paths and `file://` URLs; a Kafka topic or an online key-value store is one new module that adds its
scheme to `SOURCES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from parity.errors import DataError
from parity.online.files import OnlinePart, has_output, listed_files, read_hours

__all__ = ["SOURCES", "FileSource", "OnlinePart", "OnlineSource", "local_root", "open_source"]


class OnlineSource(Protocol):
    """Realtime outputs of every feature, read by the hours a check needs."""

    def read(self, feature: str, start_us: int, end_us: int) -> list[OnlinePart]:
        """The parts holding windows of `feature` starting in [start_us, end_us); raises DataError when the
        feature has no output at all."""
        ...

    def versions(self, feature: str, start_us: int, end_us: int) -> dict[str, list[int]]:
        """What `read` would read, by name, each with what changes when it is rewritten (a file's size and
        modification time): the ledger keeps it, and `parity run` checks an hour again when it changed. Empty
        when the source cannot tell (late rows are then seen only by a forced re-check)."""
        ...


@dataclass(frozen=True, slots=True)
class FileSource:
    """The online log on a filesystem (`parity.online.files`): `<root>/<feature>/date=.../hour=.../`."""

    root: Path

    @classmethod
    def at(cls, location: str) -> FileSource:
        return cls(Path(urlsplit(location).path if location.startswith("file://") else location))

    def __str__(self) -> str:
        return str(self.root)

    def read(self, feature: str, start_us: int, end_us: int) -> list[OnlinePart]:
        folder = self.root / feature
        if not has_output(folder):
            raise DataError(str(folder), f"no realtime output for {feature}; run `parity stream {feature}` first")
        return read_hours(folder, start_us, end_us)

    def versions(self, feature: str, start_us: int, end_us: int) -> dict[str, list[int]]:
        folder = self.root / feature
        found: dict[str, list[int]] = {}
        for file in listed_files(folder, start_us, end_us):
            try:
                stat = file.stat()
            except FileNotFoundError:  # superseded and deleted meanwhile: not read either
                continue
            found[file.relative_to(folder).as_posix()] = [stat.st_size, stat.st_mtime_ns]
        return found


SOURCES: dict[str, Callable[[str], OnlineSource]] = {"": FileSource.at, "file": FileSource.at}


def open_source(location: str | Path) -> OnlineSource:
    """The source registered for `location`'s URL scheme (a plain path is a filesystem)."""
    text = str(location)
    scheme = urlsplit(text).scheme if "://" in text else ""
    factory = SOURCES.get(scheme)
    if factory is None:
        raise DataError(text, f"no online source for scheme {scheme!r}; known: {', '.join(sorted(s or 'path' for s in SOURCES))}")
    return factory(text)


def local_root(location: str | Path) -> Path:
    """The folder of an online log on this filesystem (a path or a `file://` URL), for what writes one
    (`parity stream`, `parity replay`); a location of another scheme is a `DataError` saying so."""
    source = open_source(location)
    if not isinstance(source, FileSource):
        raise DataError(str(location), "is not a folder, and `parity stream` and `parity replay` write files; set "
                                       "online_log to a path or a file:// URL")
    return source.root
