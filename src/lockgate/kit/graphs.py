"""Small graph helpers for reference checks (gates naming gates, segments naming segments)."""

from __future__ import annotations

from collections.abc import Mapping, Set


def cycle_through(graph: Mapping[str, Set[str]], start: str) -> list[str] | None:
    """A path start → ... → start along ``graph``'s edges, or None when there is none."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None
