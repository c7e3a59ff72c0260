"""The evaluator compiled by mypyc against its Python source, side by side in one process: CPU
time of an initialize answer for distinct users (encoded as the route encodes it, the collector
paused as the route pauses it) and of a ``check_gate``, in alternating rounds so that load from
elsewhere on the machine weighs on both (docs/sdk.md §Compiled evaluator).

Both builds are imported into this process under the same names, one after the other
(``LOCKGATE_EVALUATOR`` read by each fresh import of the package); each build's modules refer
to their own. The answers of both are compared first.
"""

from __future__ import annotations

import importlib
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import httpx

from lockgate.domains.specs.deltas import encode_answer
from lockgate.kit.memory import collector_paused, settle_long_lived
from tests.compat import generators

PACKAGE = "lockgate.cores.evaluation"
USERS = 5_000
ROUNDS = 6
SECONDS = 1.0  # CPU time per side and round, initialize; half of it for check_gate
CHECKED = 50  # users whose check_gate of every gate makes one pass


def _imported(build: str) -> dict[str, ModuleType]:
    """The package's evaluator, initialize and user modules as ``build`` gives them."""
    kept = {name: sys.modules.pop(name) for name in list(sys.modules) if name.startswith(PACKAGE)}
    was = os.environ.get("LOCKGATE_EVALUATOR")
    os.environ["LOCKGATE_EVALUATOR"] = build
    try:
        return {
            part: importlib.import_module(f"{PACKAGE}.{part}")
            for part in ("evaluator", "client_init", "user")
        }
    finally:
        for name in [name for name in sys.modules if name.startswith(PACKAGE)]:
            del sys.modules[name]
        sys.modules.update(kept)
        if PACKAGE in kept:
            sys.modules["lockgate.cores"].evaluation = kept[PACKAGE]  # type: ignore[attr-defined]
        if was is None:
            del os.environ["LOCKGATE_EVALUATOR"]
        else:
            os.environ["LOCKGATE_EVALUATOR"] = was


def _cpu_per_call(call: Callable[[], int], seconds: float) -> float:
    """This thread's CPU seconds per unit of work, ``call`` returning the units it did."""
    start, done = time.thread_time(), 0
    while time.thread_time() - start < seconds:
        done += call()
    return (time.thread_time() - start) / done


def _round(
    respond: Callable[..., Any],
    evaluator: Any,
    users: list[dict[str, Any]],
    turn: Iterator[int],
    checked: list[Any],
    gates: list[str],
) -> tuple[float, float]:
    """One build's CPU ms per initialize answer and us per check_gate, for one round."""

    def answer() -> int:
        with collector_paused():
            encode_answer(respond(evaluator, users[next(turn) % len(users)]))
        return 1

    def check() -> int:
        for user in checked:
            for gate in gates:
                evaluator.check_gate(user, gate)
        return len(checked) * len(gates)

    return _cpu_per_call(answer, SECONDS) * 1e3, _cpu_per_call(check, SECONDS / 2) * 1e6


def run(doc: dict[str, Any], gates: list[str]) -> None:
    """Print both builds' CPU time per initialize answer and per check_gate on ``doc``."""
    try:
        builds = {build: _imported(build) for build in ("pure", "compiled")}
    except ImportError as error:
        print(f"compiled evaluator against its source: skipped ({error})")
        return
    rng = random.Random(11)
    users = [generators.user(rng, index) for index in range(USERS)]
    evaluators = {build: modules["evaluator"].Evaluator(doc) for build, modules in builds.items()}
    answers = {
        build: [
            encode_answer(builds[build]["client_init"].client_initialize_response(evaluator, u))
            for u in users
        ]
        for build, evaluator in evaluators.items()
    }
    assert answers["pure"] == answers["compiled"], "the builds answer differently"
    checked = {
        build: [modules["user"].StatsigUser.from_wire(u) for u in users[:CHECKED]]
        for build, modules in builds.items()
    }
    settle_long_lived()
    answer_ms: dict[str, list[float]] = {build: [] for build in builds}
    check_us: dict[str, list[float]] = {build: [] for build in builds}
    turn = iter(range(10**9))
    for round_ in range(ROUNDS):
        for build in ("pure", "compiled") if round_ % 2 == 0 else ("compiled", "pure"):
            respond = builds[build]["client_init"].client_initialize_response
            ms, us = _round(respond, evaluators[build], users, turn, checked[build], gates)
            answer_ms[build].append(ms)
            check_us[build].append(us)
    pure_ms, compiled_ms = (statistics.median(answer_ms[b]) for b in ("pure", "compiled"))
    pure_us, compiled_us = (statistics.median(check_us[b]) for b in ("pure", "compiled"))
    print(
        f"compiled evaluator against its source ({USERS:,} distinct users, same answers;"
        f" median of {ROUNDS} alternating rounds, CPU time; load {os.getloadavg()[0]:.1f}):"
    )
    print(
        f"  initialize answer  pure {pure_ms:.3f} ms  compiled {compiled_ms:.3f} ms"
        f"  {pure_ms / compiled_ms:.2f}x cheaper"
    )
    print(
        f"  check_gate         pure {pure_us:.2f} us  compiled {compiled_us:.2f} us"
        f"  {pure_us / compiled_us:.2f}x cheaper"
    )


def main() -> None:
    """``python -m bench.compiled``: this comparison alone, on the bench project."""
    # Imported here: bench.sdk runs this module within `make bench`.
    from bench import sdk

    with sdk.served_project(random.Random(7)) as served:
        url = f"{served.base}/v2/download_config_specs/{served.keys['server secret']}.json"
        run(httpx.get(url).json(), served.gates)


if __name__ == "__main__":
    main()
