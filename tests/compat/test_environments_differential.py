"""Differential tests for environment-scoped keys: a server key limited to environments makes
statsig-python-core and the legacy ``statsig`` SDK evaluate environment-scoped rules exactly as
Lockgate's own ``/v1/check_gate`` does for that key, with and without the SDK's tier option
(docs/sdk.md §Environments).

A key limited to one environment receives ``default_environment``, so an SDK without a tier
evaluates as that environment; a key limited to two receives no default, so environment-scoped
rules pass only for users (or SDKs) that name a tier.
"""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.compat import generators
from tests.compat.live import live_server
from tests.compat.sdks import core_sdk, core_user, legacy_sdk, legacy_user
from tests.contract.client import ContractClient

USERS = 40
GATES = 10


def _create(console: ContractClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = console.post(path, json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def _build(console: ContractClient, rng: random.Random) -> list[str]:
    """Gates whose rules are mostly limited to environments, plus one per environment that
    passes everyone there, so every tier visibly changes some result."""
    world = generators.World()
    gates = []
    for index in range(GATES):
        rules = generators.rules(rng, world, scoped=0.7)
        gates.append(
            _create(console, "/console/v1/gates", {"name": f"gate {index}", "rules": rules})["id"]
        )
        world.gates.append(gates[-1])
    everyone = {"type": "public"}
    for tier in generators.TIERS:
        rule = {
            "name": "all",
            "passPercentage": 100,
            "conditions": [everyone],
            "environments": [tier],
        }
        gates.append(
            _create(console, "/console/v1/gates", {"name": f"only {tier}", "rules": [rule]})["id"]
        )
    return gates


def _key(console: ContractClient, environments: list[str]) -> str:
    body = {"type": "SERVER", "description": "scoped", "environments": environments}
    return _create(console, "/console/v1/keys", body)["key"]  # type: ignore[no-any-return]


@pytest.mark.usefixtures("company_id_type")
@pytest.mark.parametrize(
    ("environments", "tier"),
    [
        (["staging"], None),
        (["staging"], "staging"),
        (["staging"], "production"),
        (["development", "production"], None),
        (["development", "production"], "development"),
    ],
)
def test_scoped_key__sdks_and_lockgate__agree(
    console: ContractClient, app: FastAPI, environments: list[str], tier: str | None
) -> None:
    rng = random.Random(f"{environments}{tier}")
    gates = _build(console, rng)
    key = _key(console, environments)
    users = [generators.user(rng, i) for i in range(USERS)]
    if tier is not None:
        # The legacy SDK's tier option replaces a user's own environment, core's does not; the
        # documented meaning of the option is the tier of users that set none.
        for wire in users:
            wire.pop("statsigEnvironment", None)
    mismatches: list[str] = []
    seen: set[tuple[str, bool]] = set()
    with (
        live_server(app) as base,
        core_sdk(base, key, tier=tier) as core,
        legacy_sdk(base, key, tier=tier) as legacy,
        httpx.Client(base_url=base, headers={"STATSIG-API-KEY": key}) as server,
    ):
        for wire in users:
            ours_user = dict(wire)
            if tier is not None:
                ours_user["statsigEnvironment"] = {"tier": tier}
            checked = server.post("/v1/check_gate", json={"gateNames": gates, "user": ours_user})
            assert checked.status_code == 200, checked.text
            for name in gates:
                expected = core.get_feature_gate(core_user(wire), name)
                old = legacy.get_feature_gate(legacy_user(wire), name)
                ours = checked.json()[name]
                observed = {
                    "legacy": (old.value, old.rule_id),
                    "lockgate": (ours["value"], ours["rule_id"] or ""),
                }
                want = (expected.value, expected.rule_id)
                seen.add((name, expected.value))
                mismatches += [
                    f"{name} {wire['userID']} {who}: {got} != core {want}"
                    for who, got in observed.items()
                    if got != want
                ]
    assert mismatches == [], f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches[:40])
    # The tier the SDKs end up with decides which "only <tier>" gate passes.
    effective = tier or (environments[0] if len(environments) == 1 else None)
    for other in generators.TIERS:
        passes = (f"only_{other}", True) in seen
        if effective is not None:
            assert passes == (other == effective and other in environments), other
        else:
            assert passes == (other in environments), other
