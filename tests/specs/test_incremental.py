"""The incremental compile and render equal a full one byte for byte after every kind of
change (docs/compiling.md §Incremental compile)."""

from __future__ import annotations

import gzip
import random
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from lockgate.cores.compiler.compiler import compile_v2
from lockgate.cores.compiler.snapshot import KeyScope
from lockgate.cores.compiler.v1 import render_v1
from lockgate.domains.keys import repository as keys_repository
from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.revisions.repository import (
    FEED_WINDOW,
    PRUNE_EVERY,
    bump_spec_revision,
)
from lockgate.domains.specs import repository as loader
from lockgate.domains.specs.cache import PayloadScope, SpecCache
from lockgate.domains.specs.render import Encoder, checksum_of, crc32_combine, encode
from lockgate.domains.specs.scoping import scope_to_apps
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.storage.models import SpecChange
from tests.contract.client import ContractClient
from tests.experiments.support import create, create_layer, groups, put

EVERYONE = {"type": "public"}
GATES = 12


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return response.json().get("data") or {}


def _rule(name: str, pct: float, *conditions: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "passPercentage": pct, "conditions": list(conditions)}


def _build(console: ContractClient) -> str:
    """Gates that share a segment and conditions, configs, a layer with experiments, a holdout
    over some gates and an experiment, a global holdout, and a target app. Returns the app id."""
    app = _ok(console.post("/console/v1/target_app", json={"name": "web", "description": ""}))
    email = {"type": "email", "operator": "str_contains_any", "targetValue": ["@acme.com"]}
    _ok(
        console.post(
            "/console/v1/segments",
            json={"name": "staff", "type": "rule_based", "rules": [_rule("s", 100, email)]},
        )
    )
    _ok(console.post("/console/v1/segments", json={"name": "listed", "type": "user_store_id_list"}))
    _ok(console.patch("/console/v1/segments/listed/add_ids", json={"ids": ["u1", "u2"]}))
    in_staff = {"type": "passes_segment", "targetValue": "staff"}
    for i in range(GATES):
        rules = [_rule("staff", 100, in_staff), _rule("half", 50, EVERYONE)]
        if i % 3 == 0:
            rules.append(_rule("listed", 100, {"type": "passes_segment", "targetValue": "listed"}))
        body: dict[str, Any] = {
            "name": f"gate {i}",
            "rules": rules,
            "targetApps": ["web"] if i % 2 else [],
        }
        _ok(console.post("/console/v1/gates", json=body))
    for i in range(3):
        body = {
            "name": f"config {i}",
            "defaultValue": {"v": i},
            "rules": [{**_rule("staff", 100, in_staff), "returnValue": {"v": 10 + i}}],
        }
        _ok(console.post("/console/v1/dynamic_configs", json=body))
    create_layer(console, parameters=[{"name": "color", "type": "string", "defaultValue": "grey"}])
    create(console, "in layer", layerID="a_layer", allocation=40, groups=groups(50, 50))
    create(console, "solo", groups=groups(50, 50), targetingGateID="gate_0")
    assert put(console, "in_layer", "start").status_code == 200
    _ok(console.post("/console/v1/holdouts", json={"name": "team holdout"}))
    _ok(
        console.patch(
            "/console/v1/holdouts/team_holdout",
            json={"passPercentage": 5, "gateIDs": ["gate_1", "gate_2"], "experimentIDs": ["solo"]},
        )
    )
    _ok(console.post("/console/v1/holdouts", json={"name": "global holdout"}))
    _ok(
        console.patch(
            "/console/v1/holdouts/global_holdout", json={"passPercentage": 3, "isGlobal": True}
        )
    )
    return str(app["id"])


def _reference(db: Database, project_id: str, scope: PayloadScope) -> tuple[bytes, bytes]:
    """The v2 and v1 bytes of a full compile and render, sharing no state with the cache."""
    with db.transaction(write=False) as session:
        snapshot = loader.load_snapshot(session, project_id)
        client_apps = keys_repository.client_key_apps(session, project_id)
    v2 = compile_v2(snapshot, KeyScope(environments=scope.environments))
    v2 = scope_to_apps(v2, scope.target_apps, scope.target_app)
    if client_apps:
        v2["hashed_sdk_keys_to_app_ids"] = client_apps
    checksum = checksum_of(Encoder().body(v2, 2).units)
    return encode({**v2, "checksum": checksum}), encode({**render_v1(v2), "checksum": checksum})


def _renamed_environments(console: ContractClient) -> dict[str, Any]:
    environments = console.get("/console/v1/environments").json()["data"]["environments"]
    return {
        "environments": [{**e, "name": "qa"} if e["name"] == "staging" else e for e in environments]
    }


Body = dict[str, Any] | Callable[[ContractClient], dict[str, Any]] | None
STAFF_RULES = [_rule("s2", 100, {"type": "user_id", "operator": "any", "targetValue": ["z"]})]
CHANGES: dict[str, tuple[str, str, Body]] = {
    "gate create": ("POST", "/gates", {"name": "new gate", "rules": [_rule("a", 10, EVERYONE)]}),
    "gate rule update": ("PATCH", "/gates/gate_4", {"rules": [_rule("x", 30, EVERYONE)]}),
    "gate description": ("PATCH", "/gates/gate_4", {"description": "in place"}),
    "gate rule reorder": (
        "PATCH",
        "/gates/gate_3",
        {
            "rules": [
                _rule("half", 50, EVERYONE),
                _rule("staff", 100, {"type": "passes_segment", "targetValue": "staff"}),
            ]
        },
    ),
    "gate launch": ("PUT", "/gates/gate_5/launch", None),
    "gate disable": ("PUT", "/gates/gate_6/disable", None),
    "gate archive": ("PUT", "/gates/gate_7/archive", {}),
    "gate delete": ("DELETE", "/gates/gate_8", None),
    "config update": ("PATCH", "/dynamic_configs/config_1", {"defaultValue": {"v": 99}}),
    "config delete": ("DELETE", "/dynamic_configs/config_2", None),
    "config create": ("POST", "/dynamic_configs", {"name": "late config", "defaultValue": {}}),
    "segment create": ("POST", "/segments", {"name": "new segment", "type": "rule_based"}),
    "experiment create": ("POST", "/experiments", {"name": "fresh", "groups": groups(50, 50)}),
    "experiment start": ("PUT", "/experiments/solo/start", {}),
    "experiment delete": ("DELETE", "/experiments/in_layer", None),
    "segment read by many gates": ("POST", "/segments/staff/conditional", {"rules": STAFF_RULES}),
    "id list members": ("PATCH", "/segments/listed/add_ids", {"ids": ["u3"]}),
    "holdout percentage": ("PATCH", "/holdouts/team_holdout", {"passPercentage": 9}),
    "global holdout off": ("PATCH", "/holdouts/global_holdout", {"isGlobal": False}),
    "holdout delete": ("DELETE", "/holdouts/team_holdout", None),
    "gate target apps": ("PATCH", "/gates/gate_2", {"targetApps": ["web"]}),
    "client key with an app": (
        "POST",
        "/keys",
        {"description": "web", "type": "CLIENT", "targetAppID": "web"},
    ),
    "environment rename": ("POST", "/environments", _renamed_environments),
}
FOLLOW_UP = ("PATCH", "/gates/gate_3", {"rules": [_rule("y", 20, EVERYONE)]})


def _apply(console: ContractClient, change: str) -> None:
    method, path, body = CHANGES.get(change, FOLLOW_UP)
    payload = body(console) if callable(body) else body
    kwargs = {} if payload is None else {"json": payload}
    _ok(console.request(method, f"/console/v1{path}", **kwargs))


@pytest.mark.parametrize("change", list(CHANGES))
def test_incremental_render__after_a_change__equals_a_full_render(
    console: ContractClient, project: Bootstrap, db: Database, clock: ManualClock, change: str
) -> None:
    # Given a project rendered once for three key scopes
    app_id = _build(console)
    project_id = project.project.id
    scopes = [
        PayloadScope(),
        PayloadScope(environments=("staging",)),
        PayloadScope(target_apps=(app_id,)),
    ]
    cache = SpecCache(db)
    for scope in scopes:
        cache.get(project_id, scope).v2_bytes(gzipped=True)
        cache.get(project_id, scope).v1_bytes(gzipped=True)
    # When the change is made, and then a small edit renders from the state it left
    for step in (change, "follow-up"):
        clock.advance(1000)
        _apply(console, step)
        # Then every scope's bytes, plain and gzipped, equal a full compile's
        for scope in scopes:
            rendered = cache.get(project_id, scope)
            v2, v1 = _reference(db, project_id, scope)
            assert rendered.v2_bytes() == v2
            assert rendered.v1_bytes() == v1
            assert gzip.decompress(rendered.v2_bytes(gzipped=True)) == v2
            assert gzip.decompress(rendered.v1_bytes(gzipped=True)) == v1


def test_incremental_compile__one_gate_changed__compiles_only_that_gate(
    console: ContractClient, project: Bootstrap, db: Database, clock: ManualClock
) -> None:
    # Given a rendered project
    _build(console)
    cache = SpecCache(db)
    project_id = project.project.id
    before = cache.get(project_id)
    before.v2_bytes(gzipped=True)
    # When one gate's rules change
    clock.advance(1000)
    _ok(console.patch("/console/v1/gates/gate_4", json={"rules": [_rule("x", 30, EVERYONE)]}))
    rendered = cache.get(project_id)
    rendered.v2_bytes(gzipped=True)
    # Then only that gate was compiled and encoded again, and the payload changed
    counts = cache.compile_counts(project_id)
    assert (counts.gates, counts.segments, counts.configs, counts.sections) == (1, 0, 0, 0)
    assert rendered.encoder.encoded_specs == 1
    assert rendered.checksum != before.checksum
    # And the change was found through the change feed, reading that gate's row alone
    kept = cache._project(project_id).documents
    assert (kept.scanned, kept.read) == (False, 1)


def test_incremental_compile__change_naming_no_entity__reads_every_key_and_stays_exact(
    console: ContractClient, project: Bootstrap, db: Database, clock: ManualClock
) -> None:
    # Given a rendered project
    _build(console)
    cache = SpecCache(db)
    project_id = project.project.id
    cache.get(project_id).v2_bytes()
    # When a gate changes and a client key is created in the same poll interval
    clock.advance(1000)
    _apply(console, "gate rule update")
    _apply(console, "client key with an app")
    rendered = cache.get(project_id)
    # Then the key's change, which names no entity, made the load read every row's key, and
    # only the changed gate's document
    kept = cache._project(project_id).documents
    assert (kept.scanned, kept.read) == (True, 1)
    assert rendered.v2_bytes() == _reference(db, project_id, PayloadScope())[0]


def test_incremental_compile__feed_pruned_past_the_kept_revision__reads_every_key(
    console: ContractClient, project: Bootstrap, db: Database, clock: ManualClock
) -> None:
    # Given a rendered project
    _build(console)
    cache = SpecCache(db)
    project_id = project.project.id
    cache.get(project_id).v2_bytes()
    compiled_at = cache._project(project_id).documents.revision
    assert compiled_at is not None
    # When a gate changes, then more changes than the feed keeps are made
    clock.advance(1000)
    _apply(console, "gate rule update")
    with db.transaction() as session:
        for _ in range(FEED_WINDOW + PRUNE_EVERY + 1):
            bump_spec_revision(session, project_id, clock.now_ms(), ("gate", "gate_1"))
    with db.transaction(write=False) as session:
        oldest = session.scalar(
            select(func.min(SpecChange.revision)).where(SpecChange.project_id == project_id)
        )
    rendered = cache.get(project_id)
    # Then the feed was pruned, the load read every row's key, and the bytes are exact
    assert oldest is not None and oldest > compiled_at + 1
    kept = cache._project(project_id).documents
    assert (kept.scanned, kept.read) == (True, 1)
    assert rendered.v2_bytes() == _reference(db, project_id, PayloadScope())[0]


@pytest.mark.database_free
@pytest.mark.parametrize("sizes", [(0, 0), (1, 0), (0, 5), (7, 1), (70_000, 300_001)])
def test_crc32_combine__two_parts__equals_the_crc_of_their_join(sizes: tuple[int, int]) -> None:
    # Seeded random bytes in one call: made a byte at a time they took seconds (370,000 steps)
    first, second = (random.Random(n).randbytes(n) for n in sizes)
    combined = crc32_combine(zlib.crc32(first), zlib.crc32(second), len(second))
    assert combined == zlib.crc32(first + second)
