"""``/v1/initialize`` on the lean path (``faces/sdk/fast.py``) and from the answer cache: the very
bytes and headers the route gives after a fresh evaluation, and everything unusual left to the
route."""

from __future__ import annotations

import gc
import json
import random
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from starlette.types import Message, Scope

from lockgate.app import LockgateApp
from lockgate.domains.keys.cache import KeyCache
from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.specs.cache import Rendered, SpecCache
from lockgate.faces.sdk.fast import SdkFastPath
from lockgate.kit.bytecache import ByteCache
from lockgate.kit.memory import settle_recent
from lockgate.kit.settings import Settings
from tests.compat import generators
from tests.contract.client import ContractClient

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]

RULES = [
    {
        "name": "gmail",
        "passPercentage": 100,
        "conditions": [{"type": "email", "operator": "str_contains_any", "targetValue": ["gmail"]}],
    },
    {
        "name": "half of safari",
        "passPercentage": 50,
        "conditions": [{"type": "browser_name", "operator": "any", "targetValue": ["Safari"]}],
    },
    {
        "name": "britain",
        "passPercentage": 100,
        "conditions": [{"type": "country", "operator": "any", "targetValue": ["GB"]}],
    },
]


def _scope(
    query: str = "", headers: dict[str, str] | None = None, *, method: str = "POST"
) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": "/v1/initialize",
        "raw_path": b"/v1/initialize",
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


def _call(app: Any, scope: Scope, body: bytes, *, chunk: int | None = None) -> Answer:
    """Run one request through an ASGI callable, its body sent in pieces of ``chunk`` bytes,
    and collect exactly what it sent."""
    size = chunk or max(1, len(body))
    pieces = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    messages: list[Message] = [
        {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
        for i, piece in enumerate(pieces)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    async def run() -> None:
        await app(scope, receive, send)

    # A thread of its own: the suite's other fixtures may have left this thread marked as
    # running an event loop (sniffio's thread state), which anyio.run refuses.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(anyio.run, run).result()
    start = next(m for m in sent if m["type"] == "http.response.start")
    answer = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], list(start["headers"]), answer


def _with_length(headers: dict[str, str], body: bytes) -> dict[str, str]:
    return {"content-length": str(len(body)), **headers}


def _both(
    app: LockgateApp, scope: Scope, body: bytes, *, chunk: int | None = None
) -> tuple[Answer, Answer, bool]:
    """The application's answer as served, the framework's alone (the route, past the lean
    path), and whether the lean path answered the first."""
    assert app.sdk_fast_path is not None
    hits = app.sdk_fast_path.hits
    served = _call(app, scope, body, chunk=chunk)
    answered_fast = app.sdk_fast_path.hits == hits + 1

    async def framework(scope: Scope, receive: Any, send: Any) -> None:
        await FastAPI.__call__(app, scope, receive, send)

    return served, _call(framework, scope, body, chunk=chunk), answered_fast


def _rendered(app: LockgateApp, project: Bootstrap) -> Rendered:
    cache: SpecCache = app.state.spec_cache
    found = cache.cached(project.project.id)
    assert found is not None
    return found


@pytest.fixture()
def settings(base_settings: Settings) -> Settings:
    # The test's requests come from 127.0.0.1: trusted as a proxy, their X-Forwarded-For
    # gives the client's address (docs/operations.md §Behind a proxy).
    return base_settings.model_copy(update={"trusted_proxies": "127.0.0.1"})


@pytest.fixture()
def served(app: FastAPI, console: ContractClient, project: Bootstrap) -> LockgateApp:
    """A project with gates and a config, whose client key has asked initialize once (so the
    key, the revision and the evaluator are all in memory)."""
    assert isinstance(app, LockgateApp)
    # Caches on a stopped clock: what was read stays fresh until this process commits a
    # change, however slowly the test runs (the lean path answers only from fresh caches).
    database = app.state.database
    app.state.key_cache = KeyCache(database, 1000, now=lambda: 0.0)
    app.state.spec_cache = SpecCache(
        database,
        1000,
        now=lambda: 0.0,
        initialize_cache_bytes=1 << 20,
        initialize_delta_bytes=1 << 22,
        warmup=app.warmup,
    )
    app.sdk_fast_path = SdkFastPath(
        app.state.key_cache,
        app.state.spec_cache,
        protobuf=False,
        trusted_proxies=app.state.trusted_proxies,
        max_body_bytes=1 << 20,
    )
    made = console.post("/console/v1/gates", json={"name": "fast gate", "rules": RULES})
    assert made.status_code == 201, made.text
    made = console.post(
        "/console/v1/dynamic_configs",
        json={"name": "banner", "defaultValue": {"text": "hello"}, "rules": RULES[:1]},
    )
    assert made.status_code == 201, made.text
    body = b'{"user": {"userID": "warm"}}'
    warm = _call(app, _scope(f"k={project.client_key}", _with_length({}, body)), body)
    assert warm[0] == 200, warm
    return app


def _body(user: dict[str, Any], **more: Any) -> bytes:
    return json.dumps({"user": user, **more}).encode()


@pytest.mark.parametrize("key_in", ["query", "header"])
@pytest.mark.parametrize("origin", [None, "https://app.example"])
@pytest.mark.parametrize("hash_name", ["djb2", "sha256"])
def test_initialize_fast__cached_key_and_spec__same_bytes_and_headers_as_route(
    served: LockgateApp, project: Bootstrap, key_in: str, origin: str | None, hash_name: str
) -> None:
    body = _body({"userID": "a", "email": "a@gmail.com"}, hash=hash_name)
    headers: dict[str, str] = {"user-agent": "Mozilla/5.0 (Macintosh) Safari/605.1.15"}
    query = f"k={project.client_key}"
    if key_in == "header":
        query, headers = "", {**headers, "statsig-api-key": project.client_key}
    if origin:
        headers["origin"] = origin
    # When initialize is asked with everything it needs in memory
    fast, route, answered_fast = _both(served, _scope(query, _with_length(headers, body)), body)
    # Then the lean path answered, with the route's status, headers and body exactly
    assert answered_fast
    assert fast == route
    assert fast[0] == 200
    assert json.loads(fast[2])["hash_used"] == hash_name


def test_initialize_fast__warm_up_settle_after_new_revision__answers_unchanged(
    served: LockgateApp, console: ContractClient, project: Bootstrap
) -> None:
    # Given a worker that settles three requests after it builds a new revision's evaluator
    warmup = served.warmup
    assert warmup is not None
    warmup.after = 3
    made = console.post("/console/v1/gates", json={"name": "later gate", "rules": RULES[1:]})
    assert made.status_code == 201, made.text
    settled = warmup.settled
    query = f"k={project.client_key}"
    headers = {"user-agent": "Mozilla/5.0 (Macintosh) Safari/605.1.15"}
    bodies = [_body({"userID": "u1", "email": "u1@gmail.com"}), _body({"userID": "u2"})]
    scopes = [_scope(query, _with_length(headers, body)) for body in bodies]
    try:
        # When two users are answered (the first answer builds the evaluator and arms the
        # warm-up), then one of them three times more, the last of which settles
        before = [_call(served, scope, body) for scope, body in zip(scopes, bodies, strict=True)]
        assert warmup.settled == settled
        again = [_call(served, scopes[0], bodies[0]) for _ in range(3)]
        assert warmup.settled == settled + 1
        assert gc.get_freeze_count() > 0
        # Then the answers from the cache, around the settle, are the very bytes given before
        assert again == [before[0]] * 3
        # And both users evaluated afresh after it (cache emptied) get the same bytes again
        rendered = _rendered(served, project)
        rendered.responses = ByteCache(1 << 20)
        after = [_call(served, scope, body) for scope, body in zip(scopes, bodies, strict=True)]
        assert after == before
        assert all(answer[0] == 200 for answer in after)
    finally:
        gc.unfreeze()


def test_initialize_fast__revision_replaced_after_warm_up__old_one_freed_without_collection(
    served: LockgateApp, console: ContractClient, project: Bootstrap
) -> None:
    # A warm-up settles only what was made since the last settle (kit/memory.py), so a revision
    # it exempted must be freed by reference counting alone once replaced: a reference cycle
    # in it would stay until the next full settle.
    query = f"k={project.client_key}"
    bodies = [_body({"userID": f"u{i}", "email": f"u{i}@gmail.com"}) for i in range(3)]
    for body in bodies:  # answers fill the revision's shared renderings
        assert _call(served, _scope(query, _with_length({}, body)), body)[0] == 200
    # Given the revision's rendering and evaluator, exempted as the warm-up exempts them
    old = _rendered(served, project)
    kept: list[weakref.ref[Any]] = [weakref.ref(old), weakref.ref(old.evaluator)]
    del old
    settle_recent()
    gc.disable()
    try:
        # When a change makes a new revision, which the next answer compiles in its place
        made = console.post("/console/v1/gates", json={"name": "newer gate", "rules": RULES})
        assert made.status_code == 201, made.text
        assert _call(served, _scope(query, _with_length({}, bodies[0])), bodies[0])[0] == 200
        assert _rendered(served, project) is not None
        # Then the old rendering and its evaluator are gone, with no collection having run
        assert [ref() for ref in kept] == [None, None]
    finally:
        gc.enable()
        gc.unfreeze()


@pytest.mark.parametrize("change", [False, True], ids=["unchanged", "gate changed"])
def test_initialize_fast__client_asks_for_delta__same_answer_as_route(
    served: LockgateApp, console: ContractClient, project: Bootstrap, change: bool
) -> None:
    # Given a client holding its answer
    query = f"k={project.client_key}"
    body = _body({"userID": "delta", "email": "d@gmail.com"})
    held = _call(served, _scope(query, _with_length({}, body)), body)[2]
    if change:
        patched = console.patch("/console/v1/gates/fast_gate", json={"rules": RULES[2:]})
        assert patched.status_code == 200, patched.text
        _call(served, _scope(query, _with_length({}, body)), body)  # the new revision, built
    # When it asks for a delta from it
    since = {"deltasResponseRequested": True, "full_checksum": json.loads(held)["full_checksum"]}
    asked = _body({"userID": "delta", "email": "d@gmail.com"}, **since)
    fast, route, answered_fast = _both(served, _scope(query, _with_length({}, asked)), asked)
    # Then the lean path answers it as the route does: a delta, or nothing new
    assert answered_fast
    assert fast == route
    if change:
        assert json.loads(fast[2])["is_delta"] is True
    else:
        assert fast[2] == b'{"has_updates":false}'


def test_initialize_fast__body_in_pieces__same_answer_as_route(
    served: LockgateApp, project: Bootstrap
) -> None:
    body = _body({"userID": "pieces", "email": "p@gmail.com"})
    scope = _scope(f"k={project.client_key}", _with_length({}, body))
    fast, route, answered_fast = _both(served, scope, body, chunk=7)
    assert answered_fast
    assert fast == route


@pytest.mark.parametrize(
    ("query", "headers", "body", "status"),
    [
        ("k=client-unknown", {}, b'{"user": {}}', 401),
        ("k={console}", {}, b'{"user": {}}', 401),
        ("k={client}", {}, b"not json", 400),
        ("k={client}", {}, b"[1, 2]", 400),
        ("k={client}", {}, b'{"user": "someone"}', 400),
        ("k={client}", {}, b'{"user": {}, "hash": "md5"}', 400),
        ("k={client}", {}, b'{"user": {}, "deltasResponseRequested": 1}', 400),
        ("k={client}", {}, b'{"user": {}, "full_checksum": ["a"]}', 400),
        ("k={client}", {}, b'{"user": {"email": ["a"]}}', 400),
        ("k={client}&gz=1", {}, b'{"user": {}}', 400),
        ("k={client}&x=%00", {}, b'{"user": {}}', 400),
        ("k={client}&se=1", {}, b'{"user": {}}', 400),
        ("k={client}", {"content-encoding": "identity"}, b'{"user": {}}', 200),
        ("", {}, b'{"user": {}}', 401),
    ],
)
def test_initialize_fast__refused_or_unusual__left_to_route_with_same_answer(
    served: LockgateApp,
    project: Bootstrap,
    query: str,
    headers: dict[str, str],
    body: bytes,
    status: int,
) -> None:
    keys = {"client": project.client_key, "console": project.console_key}
    scope = _scope(query.format(**keys), _with_length(headers, body))
    # A key refused once is remembered as refused: ask twice so the second finds it cached
    _call(served, scope, body)
    fast, route, answered_fast = _both(served, scope, body)
    assert not answered_fast
    assert fast == route
    assert fast[0] == status


def test_initialize_fast__no_content_length__left_to_route(
    served: LockgateApp, project: Bootstrap
) -> None:
    body = _body({"userID": "chunked"})
    fast, route, answered_fast = _both(served, _scope(f"k={project.client_key}"), body)
    assert not answered_fast
    assert fast == route
    assert fast[0] == 200


def test_initialize_cache__repeated_requests__hit_equals_fresh_evaluation(
    served: LockgateApp, project: Bootstrap
) -> None:
    # Given many generated users, each asking twice (with stable IDs and user agents)
    rng = random.Random(11)
    rendered = _rendered(served, project)
    assert rendered.responses is not None
    for index in range(25):
        user = generators.user(rng, index)
        body = _body(user, statsigMetadata={"stableID": f"s{index}"})
        scope = _scope(
            f"k={project.client_key}",
            _with_length({"user-agent": rng.choice(generators.USER_AGENTS)}, body),
        )
        first = _call(served, scope, body)
        hits = rendered.responses.hits
        # When the same request comes again
        again = _call(served, scope, body)
        # Then it was answered from the cache ...
        assert rendered.responses.hits == hits + 1
        # ... with the very bytes a fresh evaluation gives, now and the first time
        kept, rendered.responses = rendered.responses, None
        try:
            fresh = _call(served, scope, body)
        finally:
            rendered.responses = kept
        assert again == fresh == first
        assert again[0] == 200


@pytest.mark.parametrize(
    "change",
    [
        {"user-agent": "Mozilla/5.0 (Macintosh) Safari/605.1.15"},
        {"x-forwarded-for": "81.2.69.160"},
        {"statsig-api-key": "other"},
    ],
)
def test_initialize_cache__request_derived_input_differs__not_the_cached_answer(
    served: LockgateApp, project: Bootstrap, console: ContractClient, change: dict[str, str]
) -> None:
    # Given an answer in the cache for one request
    body = _body({"userID": "same", "email": "same@gmail.com"})
    if "statsig-api-key" in change:
        made = console.post("/console/v1/keys", json={"description": "k", "type": "CLIENT"})
        assert made.status_code == 200, made.text
        change = {"statsig-api-key": made.json()["data"]["key"]}
    plain = _call(served, _scope(f"k={project.client_key}", _with_length({}, body)), body)
    # When the same user comes with another user agent, address or key
    scope = _scope(f"k={project.client_key}", _with_length(change, body))
    fast, route, _ = _both(served, scope, body)
    # Then the answer is the route's fresh one for that request, not the cached one
    assert fast == route
    assert fast[2] != plain[2]


def test_initialize_cache__spec_changes__answers_the_new_revision(
    served: LockgateApp, project: Bootstrap, console: ContractClient
) -> None:
    # Given a user's answer in the cache
    body = _body({"userID": "changing", "email": "c@gmail.com"})
    scope = _scope(f"k={project.client_key}", _with_length({}, body))
    before = _call(served, scope, body)
    assert _call(served, scope, body) == before
    # When the gate is disabled
    assert (
        console.patch("/console/v1/gates/fast_gate", json={"isEnabled": False}).status_code == 200
    )
    # Then the next answer reflects it
    after = _call(served, scope, body)
    assert after[0] == 200
    gates = json.loads(after[2])["feature_gates"]
    assert [gate["value"] for gate in gates.values()] == [False]
    assert json.loads(before[2])["feature_gates"] != gates


@pytest.mark.parametrize(("operator", "kept"), [("after", True), ("before", True), ("on", True)])
def test_initialize_cache__spec_reads_clock__kept_per_clock_interval(
    served: LockgateApp,
    project: Bootstrap,
    console: ContractClient,
    operator: str,
    kept: bool,
) -> None:
    # Given a gate whose rule reads the current time
    rule = {
        "name": "launch",
        "passPercentage": 100,
        "conditions": [{"type": "time", "operator": operator, "targetValue": 1_700_000_000_000}],
    }
    made = console.post("/console/v1/gates", json={"name": "timed", "rules": [rule]})
    assert made.status_code == 201, made.text
    body = _body({"userID": "timed"})
    scope = _scope(f"k={project.client_key}", _with_length({}, body))
    # When the same request comes twice
    first = _call(served, scope, body)
    second = _call(served, scope, body)
    # Then the second came from the cache, equal to a fresh evaluation
    rendered = _rendered(served, project)
    assert rendered.evaluator.reads_clock
    assert rendered.responses is not None
    assert (rendered.responses.hits == 1) == kept
    kept_cache, rendered.responses = rendered.responses, None
    try:
        fresh = _call(served, scope, body)
    finally:
        rendered.responses = kept_cache
    assert first == second == fresh


def test_initialize_cache__clock_crosses_time_condition__new_answer_not_the_cached_one(
    served: LockgateApp, project: Bootstrap, console: ContractClient
) -> None:
    # Given a gate that opens at an instant, and the evaluator's clock (a seam) just before it
    opens = 1_700_000_000_000
    rule = {
        "name": "launch",
        "passPercentage": 100,
        "conditions": [{"type": "time", "operator": "after", "targetValue": opens}],
    }
    made = console.post("/console/v1/gates", json={"name": "launch gate", "rules": [rule]})
    assert made.status_code == 201, made.text
    warm = _body({"userID": "another"})  # builds the new revision's evaluator
    assert _call(served, _scope(f"k={project.client_key}", _with_length({}, warm)), warm)[0] == 200
    body = _body({"userID": "waiting"})
    scope = _scope(f"k={project.client_key}", _with_length({}, body))
    rendered = _rendered(served, project)
    clock = [opens - 1_000]
    rendered.evaluator.now_ms = lambda: clock[0]
    before = _call(served, scope, body)
    assert _call(served, scope, body) == before  # kept for this clock interval
    assert rendered.responses is not None
    hits = rendered.responses.hits
    # When the clock passes the instant and the same request comes again
    clock[0] = opens + 1_000
    after = _call(served, scope, body)
    # Then it was evaluated anew, not taken from the cache, and the gate is open
    assert rendered.responses.hits == hits
    gates = [
        gate["value"] for gate in json.loads(after[2])["feature_gates"].values() if gate["value"]
    ]
    assert json.loads(before[2])["feature_gates"] != json.loads(after[2])["feature_gates"]
    assert gates == [True]
    # And that answer equals a fresh evaluation at that moment
    kept, rendered.responses = rendered.responses, None
    try:
        assert _call(served, scope, body) == after
    finally:
        rendered.responses = kept


def test_initialize_cache__keys_of_other_target_apps__each_its_own_answer(
    served: LockgateApp, project: Bootstrap, console: ContractClient
) -> None:
    # Given a gate of the web app, another of the ios app, and a client key for each app
    apps = {}
    for name in ("web", "ios"):
        made = console.post("/console/v1/target_app", json={"name": name, "description": ""})
        assert made.status_code == 200, made.text
        apps[name] = made.json()["data"]["id"]
        rules = [{"name": "all", "passPercentage": 100, "conditions": [{"type": "public"}]}]
        made = console.post(
            "/console/v1/gates",
            json={"name": f"{name} only", "targetApps": [name], "rules": rules},
        )
        assert made.status_code == 201, made.text
    keys = {}
    for name, app in apps.items():
        made = console.post(
            "/console/v1/keys",
            json={"description": name, "type": "CLIENT", "targetAppID": app},
        )
        assert made.status_code == 200, made.text
        keys[name] = made.json()["data"]["key"]
    body = _body({"userID": "same user"})
    # When the same user asks with each key, twice, the second time from the cache
    answers = {}
    for name, key in keys.items():
        scope = _scope("", _with_length({"statsig-api-key": key}, body))
        first = _call(served, scope, body)
        assert _call(served, scope, body) == first
        fast, route, _ = _both(served, scope, body)
        # Then each key's answer is the route's fresh one for that key
        assert fast == route == first
        answers[name] = json.loads(first[2])["feature_gates"]
    # And each holds its own app's gate alone
    assert len(answers["web"]) == len(answers["ios"]) == 1
    assert answers["web"] != answers["ios"]
