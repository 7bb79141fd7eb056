"""The report formats: what `write_reports` writes beside each check (`reports/<feature>/<run-id><suffix>`) and
what every `--format` option offers, one registry entry each.

A format is a `ReportFormat`: a file suffix and a renderer of a `CheckResult` (with its `ReportContext`) to text.
Adding one is one `register` call, from anywhere (a plug-in module, a test): `parity report --format <name>`
renders it, `parity check --format <name>` prints it, and every later check writes it. The JSON is the record
(`parity report` renders the others again from it), so it is written last: a reader that finds a report's JSON
finds its other files too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from parity.report.html import ReportContext, render_html
from parity.report.markdown import markdown
from parity.report.text import to_json
from parity.result import CheckResult

RECORD = "json"  # the format the others are rendered again from: written last, never unregistered
TERMINAL = "text"  # what commands print when no report format is asked for: their own table, not a file


class ReportFormat(Protocol):
    @property
    def suffix(self) -> str:
        """The file's suffix, with its dot: `.md`."""
        ...

    def render(self, result: CheckResult, context: ReportContext) -> str: ...


@dataclass(frozen=True, slots=True)
class Rendering:
    """A `ReportFormat` from a suffix and a function."""

    suffix: str
    renderer: Callable[[CheckResult, ReportContext], str]

    def render(self, result: CheckResult, context: ReportContext) -> str:
        return self.renderer(result, context)


FORMATS: dict[str, ReportFormat] = {
    "markdown": Rendering(".md", lambda result, context: markdown(result, context.project)),
    "html": Rendering(".html", render_html),
    RECORD: Rendering(".json", lambda result, context: json.dumps(to_json(result), indent=2) + "\n"),
}


class UnknownFormat(ValueError):
    pass


def register(name: str, report_format: ReportFormat) -> None:
    """Add (or replace) a report format. Names are lowercase words; the suffix is a dot and a word, unique."""
    if not name.isidentifier() or name != name.lower() or name == TERMINAL:
        raise ValueError(f"{name!r}: a report format's name is a lowercase identifier other than {TERMINAL!r}")
    suffix = report_format.suffix
    if not (suffix.startswith(".") and suffix[1:].isalnum()):
        raise ValueError(f"{name}: suffix {suffix!r} is not a dot and letters or digits, e.g. '.csv'")
    taken = [other for other, known in FORMATS.items() if known.suffix == suffix and other != name]
    if taken:
        raise ValueError(f"{name}: suffix {suffix} is already the {taken[0]} format's")
    FORMATS[name] = report_format


def report_format(name: str) -> ReportFormat:
    """The format called `name`; `UnknownFormat` naming the known ones."""
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownFormat(f"{name!r} is not one of {', '.join(FORMATS)}") from None


def writing_order(names: tuple[str, ...] | None = None) -> list[str]:
    """The formats to write (all, or `names`), the record last."""
    chosen = list(FORMATS) if names is None else list(dict.fromkeys(names))
    for name in chosen:
        report_format(name)
    return sorted(chosen, key=lambda name: name == RECORD)


def output_choices() -> tuple[str, ...]:
    """What a command's `--format` accepts: its own text, then every report format."""
    return (TERMINAL, *FORMATS)
