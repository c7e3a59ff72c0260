"""Test modules shared out between pytest processes that run the same suite: each process runs a
module only if it claims it first (a file created exclusively in a shared directory), and claims
the next module only when it is about to run it. `make test` runs the SQLite suite this way in
two processes: the first walks the modules from the start; the second starts when the PostgreSQL
suite has ended and walks them from the end, and the two meet wherever the first one has got to,
so both cores stay busy until the end whatever each module costs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest


def module_groups(items: Sequence[pytest.Item]) -> list[list[pytest.Item]]:
    """The items in runs of one module each, modules in the order they first appear."""
    groups: dict[str, list[pytest.Item]] = {}
    for item in items:
        groups.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    return list(groups.values())


def claimer(directory: Path) -> Callable[[str], bool]:
    """A function claiming a module (by its node id) in ``directory``: true for the one process
    that claims it first, false for every other."""
    directory.mkdir(parents=True, exist_ok=True)

    def claim(module: str) -> bool:
        try:
            os.close(os.open(directory / module.replace("/", "%"), os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return False
        return True

    return claim


def claimed(
    groups: Sequence[list[pytest.Item]], claim: Callable[[str], bool], *, from_end: bool
) -> Iterator[list[pytest.Item]]:
    """The groups this process claims, claimed one at a time as they are asked for."""
    for group in reversed(groups) if from_end else groups:
        if claim(group[0].nodeid.split("::", 1)[0]):
            yield group


def run_claimed(session: pytest.Session, groups: Iterator[list[pytest.Item]]) -> int:
    """Run the claimed groups' tests as pytest's own loop would, and return how many modules
    ran. The next module is claimed before the current one's last test runs: pytest tears a
    test's fixtures down according to the test that follows it."""
    ran = 0
    current = next(groups, None)
    while current is not None:
        ran += 1
        following = None
        for index, item in enumerate(current, start=1):
            if index < len(current):
                after: pytest.Item | None = current[index]
            else:
                following = next(groups, None)
                after = following[0] if following is not None else None
            item.config.hook.pytest_runtest_protocol(item=item, nextitem=after)
            if session.shouldfail:
                raise session.Failed(session.shouldfail)
            if session.shouldstop:
                raise session.Interrupted(session.shouldstop)
        current = following
    return ran
