"""Instructions per entity of an initialize answer at about 1,000 and 10,000 entities, counted by
valgrind's callgrind, which counts the instructions a process runs whatever else loads the
machine (docs/sdk.md §Serving speed).

Time per entity grows from the smaller project to the larger one on a machine whose caches hold
the one and not the other; the instruction count says whether Lockgate does more work per
entity as well. Each size runs twice under callgrind, once answering nobody and once answering
ANSWERED users after the same start-up, so the difference is the answers' own count.

    python -m bench.instructions     # about 20 minutes: Python runs some 50x slower under it

Not part of ``make bench``, for its length.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import orjson

from bench import initialize, sdk
from tests.compat import generators

ANSWERED = 20
USERS = 300


def _answer(doc_path: str, users_path: str, count: int) -> None:
    """The child run: build the evaluator for the document, warm it up, answer ``count``
    users with the collector paused, as the route does."""
    from lockgate.cores.evaluation.client_init import client_initialize_response
    from lockgate.cores.evaluation.evaluator import Evaluator
    from lockgate.domains.specs.deltas import encode_answer
    from lockgate.kit.memory import collector_paused

    doc = orjson.loads(Path(doc_path).read_bytes())
    users = orjson.loads(Path(users_path).read_bytes())
    evaluator = Evaluator(doc)
    for user in users[-3:]:
        encode_answer(client_initialize_response(evaluator, user))
    with collector_paused():
        for user in users[:count]:
            encode_answer(client_initialize_response(evaluator, user))


def _instructions(doc: Path, users: Path, count: int) -> int:
    run = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-m",
            "bench.instructions",
            str(doc),
            str(users),
            str(count),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", run.stderr)
    if found is None:
        raise RuntimeError(run.stderr[-2000:])
    return int(found.group(1))


def main() -> None:
    if shutil.which("valgrind") is None:
        print("instructions: valgrind is missing (apt-get install valgrind); skipped")
        return
    rng = random.Random(7)
    # The server stops before callgrind runs, so it takes none of the machine meanwhile.
    with sdk.served_project(rng) as served:
        secret = served.keys["server secret"]
        doc = httpx.get(f"{served.base}/v2/download_config_specs/{secret}.json").json()
    with tempfile.TemporaryDirectory() as tmp:
        users = Path(tmp) / "users.json"
        users.write_bytes(orjson.dumps([generators.user(rng, i) for i in range(USERS)]))
        per_entity: dict[int, float] = {}
        for size in initialize.SIZES:
            bigger = initialize.grown(doc, size)
            entities = len(bigger["feature_gates"]) + len(bigger["dynamic_configs"])
            path = Path(tmp) / f"doc{size}.json"
            path.write_bytes(orjson.dumps(bigger))
            answers = _instructions(path, users, ANSWERED) - _instructions(path, users, 0)
            per_entity[entities] = answers / ANSWERED / entities
            print(
                f"  {entities:8,d} entities: {answers / ANSWERED / 1e6:8.2f} M instructions an"
                f" answer, {per_entity[entities]:,.0f} an entity"
            )
    small, large = sorted(per_entity)
    print(
        f"  instructions per entity at {large:,} against {small:,}:"
        f" {per_entity[large] / per_entity[small]:.3f}x (target: flat, 1.0x)"
    )


if __name__ == "__main__":
    if len(sys.argv) == 4:
        _answer(sys.argv[1], sys.argv[2], int(sys.argv[3]))
    else:
        main()
