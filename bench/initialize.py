"""``/v1/initialize`` evaluation in process against statsig-python-core's own
``get_client_initialize_response``, on the bench project and on copies of it grown to 1,000 and
10,000 entities: responses per second, p50/p99 per response and the cost per entity, side by
side in one run. At 10,000 entities, a JS client's delta after a one-gate change next to the
full answer: bytes, raw and gzipped, and CPU time (docs/sdk.md §Initialize deltas).

Both sides get the same dcs-v2 document and the same users; Lockgate's figure includes encoding
the response to JSON bytes the way the route does, as core's returns a JSON string. The grown
projects repeat every gate, config and segment of the bench project under new names and salts,
with each copy's gate and segment references pointing at its own copies, so conditions keep
their mix.
"""

from __future__ import annotations

import contextlib
import copy
import gzip
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from lockgate.cores.evaluation.client_init import client_initialize_response
from lockgate.cores.evaluation.evaluator import Evaluator
from lockgate.domains.specs import deltas
from lockgate.domains.specs.deltas import encode_answer
from lockgate.kit.memory import collector_paused, settle_long_lived
from tests.compat.sdks import core_sdk, core_user

SIZES = (1_000, 10_000)
DELTA_USERS = 12  # users whose delta is timed (each a few full answers' work)
# Each side is measured for about this long per project (alternating halves).
SECONDS = 3.0
REFERENCE_TYPES = ("pass_gate", "fail_gate")


def _copy_name(name: str, copy_index: int) -> str:
    return name if copy_index == 0 else f"{name}~{copy_index}"


def grown(doc: dict[str, Any], entities: int) -> dict[str, Any]:
    """``doc`` with its gates, segments and configs repeated to about ``entities`` specs."""
    base = len(doc["feature_gates"]) + len(doc["dynamic_configs"])
    copies = max(1, round(entities / base))
    out = copy.deepcopy(doc)
    conditions: dict[str, Any] = dict(doc["condition_map"])
    for index in range(1, copies):
        renamed: dict[str, str] = {}
        for cid, condition in doc["condition_map"].items():
            if condition.get("type") in REFERENCE_TYPES:
                new_id = f"{cid}~{index}"
                conditions[new_id] = {
                    **condition,
                    "targetValue": _copy_name(str(condition["targetValue"]), index),
                }
                renamed[cid] = new_id
        for section in ("feature_gates", "dynamic_configs"):
            for name, spec in doc[section].items():
                twin = copy.deepcopy(spec)
                twin["salt"] = f"{spec['salt']}~{index}"
                for rule in twin["rules"]:
                    rule["conditions"] = [renamed.get(c, c) for c in rule["conditions"]]
                out[section][_copy_name(name, index)] = twin
    out["condition_map"] = conditions
    return out


@contextmanager
def _serving(doc: dict[str, Any]) -> Iterator[str]:
    """A bare HTTP server giving statsig-python-core ``doc`` as its config specs."""
    body = orjson.dumps(doc)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, payload: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            # The SDK may give up on a poll; the next one is answered alike.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(payload)

        def do_GET(self) -> None:
            self._answer(body if "download_config_specs" in self.path else b"{}")

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._answer(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _samples(call: Callable[[int], object], seconds: float) -> list[tuple[float, float]]:
    """Wall time and this thread's CPU time of each call, for about ``seconds``."""
    samples: list[tuple[float, float]] = []
    deadline = time.perf_counter() + seconds
    index = 0
    while time.perf_counter() < deadline or len(samples) < 20:
        start, cpu = time.perf_counter(), time.thread_time()
        call(index)
        samples.append((time.perf_counter() - start, time.thread_time() - cpu))
        index += 1
    return samples


def _figures(
    samples: list[tuple[float, float]],
) -> tuple[float, float, float, float, float, float]:
    """Responses per second, p50 and p99 in ms; and the mean, p50 and p99 of the CPU time in
    ms, which other load on the machine sways much less than the wall time (Lockgate's answer
    is built in this thread alone). The mean counts the collections that fall on a few answers
    only, which p50 misses."""
    wall = [each[0] for each in samples]
    cpu = [each[1] for each in samples]
    return (
        len(wall) / sum(wall),
        statistics.median(wall) * 1e3,
        _percentile(wall, 0.99) * 1e3,
        statistics.fmean(cpu) * 1e3,
        statistics.median(cpu) * 1e3,
        _percentile(cpu, 0.99) * 1e3,
    )


def _compare(doc: dict[str, Any], users: list[dict[str, Any]]) -> dict[str, tuple[float, ...]]:
    evaluator = Evaluator(doc)
    settle_long_lived()  # as the spec cache does with each revision's evaluator

    def answer(index: int) -> bytes:
        body = client_initialize_response(evaluator, users[index % len(users)])
        return encode_answer(body)

    def ours(index: int) -> bytes:
        with collector_paused():  # as faces/sdk/initialize.py evaluates
            return answer(index)

    with _serving(doc) as base, core_sdk(base, "secret-bench") as core:
        wired = [core_user(u) for u in users]

        def theirs(index: int) -> str:
            return str(core.get_client_initialize_response(wired[index % len(wired)]))

        for call in (ours, answer, theirs):
            for index in range(10):
                call(index)
        # What the first answers keep for good (the shared renderings) is settled, as a
        # worker's warm-up does (docs/sdk.md §Serving speed).
        settle_long_lived()
        # Alternating halves, so that load from elsewhere on the machine hits all sides; the
        # answer built with the collector running (the baseline of its pause) gets half the time.
        mine: list[tuple[float, float]] = []
        running: list[tuple[float, float]] = []
        core_samples: list[tuple[float, float]] = []
        for _ in range(2):
            mine += _samples(ours, SECONDS / 2)
            running += _samples(answer, SECONDS / 4)
            core_samples += _samples(theirs, SECONDS / 2)
    return {
        "lockgate": _figures(mine),
        "running": _figures(running),
        "core": _figures(core_samples),
    }


def run(doc: dict[str, Any], users: list[dict[str, Any]]) -> None:
    """Print the comparison for ``doc`` (the bench project) and its grown copies."""
    projects = [(len(doc["feature_gates"]) + len(doc["dynamic_configs"]), doc)]
    for size in SIZES:
        bigger = grown(doc, size)
        projects.append((len(bigger["feature_gates"]) + len(bigger["dynamic_configs"]), bigger))
    print(
        "initialize in process (response encoded to JSON) against statsig-python-core's "
        "get_client_initialize_response, same document and users:"
    )
    print(
        f"  {'entities':>8s}  {'lockgate/s':>10s} {'p50 ms':>8s} {'p99 ms':>8s}"
        f"  {'core/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s}  ratio"
        "   lockgate CPU mean / p50 / p99 ms, mean us/entity; the same, collector running"
    )
    per_entity: dict[int, float] = {}
    running_per_entity: dict[int, float] = {}
    for entities, project in projects:
        figures = _compare(project, users)
        rate, p50, p99, cpu, cpu50, cpu99 = figures["lockgate"]
        core_rate, core_p50, core_p99, _, _, _ = figures["core"]
        _, _, _, run, run50, run99 = figures["running"]
        per_entity[entities] = cpu * 1e3 / entities
        running_per_entity[entities] = run * 1e3 / entities
        print(
            f"  {entities:8,d}  {rate:10,.0f} {p50:8.2f} {p99:8.2f}"
            f"  {core_rate:8,.0f} {core_p50:8.2f} {core_p99:8.2f}  {rate / core_rate:.2f}x"
            f"   {cpu:.2f} / {cpu50:.2f} / {cpu99:.2f}, {per_entity[entities]:.2f};"
            f" {run:.2f} / {run50:.2f} / {run99:.2f}, {running_per_entity[entities]:.2f}"
        )
    small, large = projects[1][0], projects[2][0]
    print(
        f"  CPU per entity (mean) at {large:,} against {small:,}: "
        f"{per_entity[large] / per_entity[small]:.2f}x (target: flat, 1.0x); with the collector"
        " running during the answer (as before its pause): "
        f"{running_per_entity[large] / running_per_entity[small]:.2f}x;"
        " throughput target >= 1.0x core"
    )
    for _, project in projects[1:]:
        _deltas(project, users)


def _cpu_ms(call: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """This thread's CPU time of ``call(*args)`` in ms, and what it returned."""
    start = time.thread_time()
    with collector_paused():  # as faces/sdk/initialize.py answers
        result = call(*args)
    return (time.thread_time() - start) * 1e3, result


def _deltas(doc: dict[str, Any], users: list[dict[str, Any]]) -> None:
    """A delta after one gate changed against the full answer, as the route builds both."""
    changed = copy.deepcopy(doc)
    gate = next(iter(changed["feature_gates"].values()))
    gate["enabled"] = not gate.get("enabled", True)
    changed["time"] = int(changed.get("time", 0)) + 1
    before, after = Evaluator(doc), Evaluator(changed)
    settle_long_lived()
    users = users[:DELTA_USERS]
    held = [deltas.signed(encode_answer(client_initialize_response(before, u))) for u in users]

    def full(user: dict[str, Any]) -> tuple[Any, bytes]:
        body = client_initialize_response(after, user)
        return body, deltas.signed(encode_answer(body))

    def delta(history: deltas.AnswerHistory, index: int) -> bytes:
        body, answer = full(users[index])
        since = deltas.checksum_of(held[index])
        return deltas.reply(history, answer, body, wants_delta=True, since=since)

    def signed(body: Any) -> bytes:
        return deltas.signed(encode_answer(body))

    def recomputed(index: int) -> bytes:
        """The delta from an answer another worker gave: evaluated again by the revision it
        came from (as faces/sdk/initialize.py does), nothing kept here."""
        body, answer = full(users[index])
        since = deltas.checksum_of(held[index])

        def again(named: str) -> Any:
            old = client_initialize_response(before, users[index])
            return old if deltas.checksum_of(signed(old)) == named else None

        history = deltas.AnswerHistory(1 << 30)
        return deltas.reply(history, answer, body, wants_delta=True, since=since, recompute=again)

    for user in users[:2]:  # warm
        full(user)
    cold = deltas.AnswerHistory(1 << 30)  # bases given as full answers, not cut up yet
    warm = deltas.AnswerHistory(1 << 30)  # bases cut up already (they were a delta's target)
    for answer in held:
        cold.keep(deltas.checksum_of(answer), answer)
        kept = warm.keep(deltas.checksum_of(answer), answer)
        warm.indexed(kept, None, deltas.checksum_of(answer))
    figures: list[tuple[float, ...]] = []
    for index, user in enumerate(users):
        full_ms, (body, answer) = _cpu_ms(full, user)
        cold_ms, sent = _cpu_ms(delta, cold, index)
        warm_ms, _ = _cpu_ms(delta, warm, index)
        again_ms, again = _cpu_ms(recomputed, index)
        assert again == sent
        plain_ms, _ = _cpu_ms(encode_answer, body)
        signed_ms, _ = _cpu_ms(signed, body)
        assert b'"is_delta":true' in sent
        packed, delta_packed = len(gzip.compress(answer)), len(gzip.compress(sent))
        sizes = (len(answer), packed, len(sent), delta_packed)
        figures.append((full_ms, cold_ms, warm_ms, again_ms, signed_ms - plain_ms, *sizes))
    full_ms, cold_ms, warm_ms, again_ms, checksum_ms, *means = (
        statistics.fmean(column) for column in zip(*figures, strict=True)
    )
    raw, packed, delta_raw, delta_packed = (round(size) for size in means)
    entities = len(doc["feature_gates"]) + len(doc["dynamic_configs"])
    print(
        f"  delta after one gate changed, {entities:,} entities, mean of {len(users)} users:"
        f" full answer {raw:,} bytes ({packed:,} gzipped), delta {delta_raw:,}"
        f" ({delta_packed:,} gzipped)"
    )
    print(
        f"  CPU per answer: full {full_ms:.1f} ms; delta {warm_ms:.1f} ms"
        f" ({warm_ms / full_ms:.2f}x), {cold_ms:.1f} ms ({cold_ms / full_ms:.2f}x) when the"
        f" held answer is first cut up, {again_ms:.1f} ms ({again_ms / full_ms:.2f}x) when"
        f" another worker gave it (evaluated again); full_checksum: {checksum_ms:.2f} ms of a"
        " full answer"
    )
