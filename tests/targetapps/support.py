"""A project whose gates are split between two target apps, with untagged dependencies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.contract.client import ContractClient


def _rule(name: str, *conditions: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "passPercentage": 100, "conditions": list(conditions)}


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return response.json()["data"]  # type: ignore[no-any-return]


@dataclass
class AppsProject:
    web: str
    ios: str
    server_key: str  # tagged web
    client_key: str  # tagged web, may ask for plain names


def build(console: ContractClient) -> AppsProject:
    """``web_gate`` (web) passes the untagged segment ``beta_users``, whose rule in turn needs
    the untagged segment ``employees``; ``outer`` (web) passes the untagged ``inner``; ``app_gate``
    (web, ios) passes on a ``target_app`` condition for web; ``ios_gate`` (ios) and ``plain``
    (no app) stay out of a web key's payload."""
    web = _ok(console.post("/console/v1/target_app", json={"name": "web", "description": ""}))
    ios = _ok(console.post("/console/v1/target_app", json={"name": "ios", "description": ""}))
    email = {"type": "email", "operator": "str_contains_any", "targetValue": ["@acme.com"]}
    _ok(
        console.post(
            "/console/v1/segments",
            json={"name": "employees", "type": "rule_based", "rules": [_rule("e", email)]},
        )
    )
    beta = {"type": "user_id", "operator": "any", "targetValue": ["u1", "u2"]}
    _ok(
        console.post(
            "/console/v1/segments",
            json={
                "name": "beta users",
                "type": "rule_based",
                "rules": [
                    _rule("beta", beta),
                    _rule("staff", {"type": "passes_segment", "targetValue": "employees"}),
                ],
            },
        )
    )
    in_segment = {"type": "passes_segment", "targetValue": "beta_users"}
    gates: list[tuple[str, list[str], list[dict[str, Any]]]] = [
        ("web gate", ["web"], [_rule("seg", in_segment)]),
        ("inner", [], [_rule("i", {"type": "user_id", "operator": "any", "targetValue": ["u3"]})]),
        ("outer", ["web"], [_rule("o", {"type": "passes_gate", "targetValue": "inner"})]),
        (
            "app gate",
            ["web", "ios"],
            [_rule("a", {"type": "target_app", "operator": "any", "targetValue": [web["id"]]})],
        ),
        ("ios gate", ["ios"], [_rule("everyone", {"type": "public"})]),
        ("plain", [], [_rule("everyone", {"type": "public"})]),
    ]
    for name, apps, rules in gates:
        _ok(
            console.post(
                "/console/v1/gates", json={"name": name, "targetApps": apps, "rules": rules}
            )
        )
    server = _ok(
        console.post(
            "/console/v1/keys", json={"description": "web", "type": "SERVER", "targetAppID": "web"}
        )
    )
    client = _ok(
        console.post(
            "/console/v1/keys",
            json={
                "description": "web",
                "type": "CLIENT",
                "targetAppID": web["id"],
                "scopes": ["none_hash_enabled", "client_download_config_specs"],
            },
        )
    )
    return AppsProject(web["id"], ios["id"], server["key"], client["key"])


WEB_GATES = {"web_gate", "outer", "app_gate"}
WEB_DEPENDENCIES = {"segment:beta_users", "segment:employees", "inner"}
