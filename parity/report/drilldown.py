"""The geohash drill-down: region -> gh4 -> gh5 -> gh6, each node with its cells, agreement and unexplained count,
worst first. Regions come from the project (`[tool.parity] regions` or `regions.yaml`); a cell in none is `other`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from parity.result import GeohashCounts

OTHER = "other"
LEVELS = (4, 5, 6)  # geohash precisions under a region; a key shorter than a level stops there
SHOWN_CHILDREN = 12  # per node; the rest are summed into one line, so a page of 10,000 cells stays small


@dataclass(frozen=True, slots=True)
class Node:
    label: str
    cells: int
    matched: int
    unexplained: int
    children: tuple[Node, ...] = ()
    hidden: Node | None = None  # the children not shown, summed ("12 more")
    hidden_count: int = 0

    @property
    def agreement(self) -> float:
        return self.matched / self.cells if self.cells else 1.0

    @property
    def divergent(self) -> int:
        return self.cells - self.matched


def region_of(key: str, regions: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    """The region whose longest prefix starts `key`; `other` when none does."""
    best, length = OTHER, -1
    for name, prefixes in regions:
        for prefix in prefixes:
            if key.startswith(prefix) and len(prefix) > length:
                best, length = name, len(prefix)
    return best


def tree(counts: GeohashCounts, regions: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[Node, ...]:
    """The regions, worst first, each a tree down to gh6 (or the key's own precision when coarser)."""
    by_region: dict[str, list[tuple[str, int, int, int]]] = defaultdict(list)
    for row in zip(counts.keys, counts.cells, counts.matched, counts.unexplained, strict=True):
        by_region[region_of(row[0], regions)].append(row)
    return _worst_first([_node(name, rows, 0) for name, rows in by_region.items()])


def _node(label: str, rows: list[tuple[str, int, int, int]], depth: int) -> Node:
    cells = sum(r[1] for r in rows)
    matched = sum(r[2] for r in rows)
    unexplained = sum(r[3] for r in rows)
    if depth == len(LEVELS):
        return Node(label, cells, matched, unexplained)
    precision = LEVELS[depth]
    groups: dict[str, list[tuple[str, int, int, int]]] = defaultdict(list)
    for row in rows:
        groups[row[0][:precision]].append(row)
    if depth > 0 and len(groups) == 1 and next(iter(groups)) == label:  # the key is coarser: nothing below
        return Node(label, cells, matched, unexplained)
    children = _worst_first([_node(prefix or "(null)", group, depth + 1) for prefix, group in groups.items()])
    shown, rest = children[:SHOWN_CHILDREN], children[SHOWN_CHILDREN:]
    hidden = None
    if rest:
        hidden = Node(f"{len(rest)} more", sum(n.cells for n in rest), sum(n.matched for n in rest),
                      sum(n.unexplained for n in rest))
    return Node(label, cells, matched, unexplained, shown, hidden, len(rest))


def _worst_first(nodes: list[Node]) -> tuple[Node, ...]:
    return tuple(sorted(nodes, key=lambda n: (-n.unexplained, n.agreement, -n.divergent, n.label)))
