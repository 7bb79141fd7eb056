"""The one YAML reader: every YAML document parity reads (specs, alert rules, `regions.yaml`) goes through
`load_yaml`.

It is `yaml.safe_load` with a bound on nesting: a document nested more than `MAX_DEPTH` collections deep is
refused while it is composed, before Python's recursion limit is near, and any `RecursionError` left is
turned into the same error. Every failure is a `yaml.YAMLError` (with a line when one is known), so a caller's
`except yaml.YAMLError` names its file in a one-line error, as it does for any malformed YAML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import Node

MAX_DEPTH = 100
"""The deepest nesting of mappings and sequences a parity YAML file may have; real ones use under ten."""


class TooDeep(yaml.MarkedYAMLError):  # type: ignore[misc]
    """A document nested deeper than `MAX_DEPTH` (or deep enough to exhaust Python's recursion)."""


def load_yaml(source: str | Path) -> Any:
    """The document in `source` (YAML text, or a file to read: `OSError` and `UnicodeDecodeError` pass on to
    the caller, which names the file). Raises `yaml.YAMLError`, `TooDeep` included, on a bad document."""
    text = source.read_text() if isinstance(source, Path) else source
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    except RecursionError as exc:
        raise TooDeep(problem=f"nested too deep to read (more than {MAX_DEPTH} levels)") from exc
    finally:
        loader.dispose()


class _BoundedLoader(yaml.SafeLoader):  # type: ignore[misc]
    """`yaml.SafeLoader` counting how deep it composes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: object) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH and self.check_event(yaml.MappingStartEvent, yaml.SequenceStartEvent):
                raise TooDeep(problem=f"nested more than {MAX_DEPTH} levels deep; flatten the document",
                              problem_mark=self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
