"""Compiled conditions against an interpreter of the same conditions, on random inputs.

The evaluator compiles every condition once per document (``conditions.py``): string operators
test a text read once per request and source, user fields go through a reader compiled per
field name. Here the interpreter reads each value the plain way (``StatsigUser.field_value``,
``user_agent_field``, ``country_of_ip``, ``Evaluator.environment_value``) and applies the
operator table ``OPERATORS`` to it; every condition is a one-rule gate, and all the gates are
checked for one user in one session, so conditions that share a source and field share what
the request keeps of it.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest

from lockgate.cores.evaluation import Evaluator
from lockgate.cores.evaluation.derived import country_of_ip, user_agent_field
from lockgate.cores.evaluation.hashing import id_list_hash, user_bucket
from lockgate.cores.evaluation.operators import OPERATORS
from lockgate.cores.evaluation.results import Reason
from lockgate.cores.evaluation.spec import Condition
from lockgate.cores.evaluation.user import WIRE_FIELDS, StatsigUser, field_reader

pytestmark = pytest.mark.database_free

NOW_MS = 1_796_241_793_476
APP_ID = "app-1"
TYPES = (
    "user_field",
    "ua_based",
    "ip_based",
    "environment_field",
    "unit_id",
    "user_bucket",
    "target_app",
    "current_time",
    "public",
)
FIELDS = (
    "email",
    "Email",
    "EMAIL",
    "userID",
    "user_id",
    "ip",
    "country",
    "Country",
    "locale",
    "appVersion",
    "app_version",
    "userAgent",
    "plan",
    "Plan",
    "level",
    "tags",
    "ver",
    "os_name",
    "browser_name",
    "browser_version",
    "osversion",
    "tier",
    "Tier",
    None,
)
OPERATOR_NAMES = (*sorted(OPERATORS), "no_such_operator", None)
TARGETS: tuple[Any, ...] = (
    "free",
    "FREE",
    "Pro",
    ["free", "pro"],
    ["FREE", "Gold", ""],
    ["1.2.3", "2.0"],
    "1.2.3",
    "3.10.0",
    5,
    5.0,
    "5",
    [5, "7", 9.0],
    ["Chrome", "firefox", "iOS", "Mac OS X", "Other"],
    ["US", "gb", "GB"],
    "US",
    "example.org",
    ["@example.org", "corp", "USER"],
    NOW_MS,
    "2026-12-06T00:00:00Z",
    r".*@example\.org",
    "(",
    None,
    True,
    {"0": True, "17": True, "512": True},
    ["user_1", "co_4", "staging"],
    "list_a",
    ["production", "Staging"],
    [APP_ID, "app-2"],
)
ID_TYPES = ("userID", "companyID", "CompanyID", "stableID")
VALUES: tuple[Any, ...] = (
    "free",
    "Free",
    "PRO",
    "",
    "1.2.3",
    "3.10.0-beta",
    5,
    5.0,
    7.5,
    True,
    False,
    None,
    ["free", 5],
    ["gold"],
    {"nested": 1},
    "user@example.org",
    NOW_MS,
)
AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "",
    None,
)
ID_LISTS = {"list_a": frozenset({id_list_hash("user_1"), id_list_hash("co_4")})}


def _random_condition(rng: random.Random) -> dict[str, Any]:
    condition: dict[str, Any] = {
        "type": rng.choice(TYPES),
        "operator": rng.choice(OPERATOR_NAMES),
        "field": rng.choice(FIELDS),
        "targetValue": rng.choice(TARGETS),
        "idType": rng.choice(ID_TYPES),
        "additionalValues": {"salt": rng.choice(("s1", "s2"))} if rng.random() < 0.8 else {},
    }
    return condition


def _random_map(rng: random.Random, keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: rng.choice(VALUES) for key in keys if rng.random() < 0.4}


def _random_user(rng: random.Random) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "userID": rng.choice(("user_1", "user_2", "", None)),
        "email": rng.choice(("user@example.org", "A@Corp.com", "", None)),
        "ip": rng.choice(("81.2.69.160", "8.8.8.8", "not-an-ip", "", None)),
        "userAgent": rng.choice(AGENTS),
        "country": rng.choice(("US", "gb", "", None)),
        "locale": rng.choice(("fr_FR", None)),
        "appVersion": rng.choice(("1.2.3", "3.10.0", "2", None)),
        "custom": _random_map(
            rng, ("plan", "Plan", "level", "tags", "ver", "email", "browser_name", "country")
        ),
        "privateAttributes": _random_map(rng, ("plan", "tier", "os_name", "Email")),
        "customIDs": {
            key: rng.choice(("co_4", "co_5", "", 12))
            for key in ("companyID", "companyid", "stableID")
            if rng.random() < 0.5
        },
    }
    if rng.random() < 0.5:
        wire["statsigEnvironment"] = {rng.choice(("tier", "Tier")): rng.choice(("staging", "x"))}
    return {key: value for key, value in wire.items() if value is not None}


def _document(conditions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    gates = {
        f"g{cid}": {
            "type": "feature_gate",
            "salt": "salt",
            "enabled": True,
            "defaultValue": False,
            "idType": "userID",
            "entity": "feature_gate",
            "rules": [
                {
                    "name": "r",
                    "id": f"rule{cid}",
                    "passPercentage": 100,
                    "returnValue": True,
                    "idType": "userID",
                    "conditions": [cid],
                }
            ],
        }
        for cid in conditions
    }
    return {
        "has_updates": True,
        "time": 1,
        "feature_gates": gates,
        "dynamic_configs": {},
        "layer_configs": {},
        "condition_map": conditions,
        "experiment_to_layer": {},
        "default_environment": "production",
    }


class _Unsupported(Exception):
    pass


def _interpret(evaluator: Evaluator, condition: Condition, user: StatsigUser) -> bool:
    """What ``condition`` answers for ``user``, read and compared the plain way."""
    kind, name = condition.type, condition.field
    if kind == "public":
        return True
    value: object
    if kind == "user_field":
        value = user.field_value(name)
    elif kind == "ua_based":
        value = user.field_value(name)
        if value is None:
            agent = user.field_value("userAgent")
            value = user_agent_field(agent if isinstance(agent, str) else None, name)
    elif kind == "ip_based":
        value = user.field_value(name)
        if value is None and (name or "").lower() == "country":
            ip = user.field_value("ip")
            value = country_of_ip(ip) if isinstance(ip, str) else None
    elif kind == "environment_field":
        value = evaluator.environment_value(user, name) if name is not None else None
    elif kind == "unit_id":
        value = user.unit_id(condition.id_type)
    elif kind == "user_bucket":
        salt = condition.additional_values.get("salt")
        unit = user.unit_id(condition.id_type) or ""
        value = user_bucket(salt if isinstance(salt, str) else "", unit)
    elif kind == "target_app":
        value = APP_ID
    else:  # current_time
        value = NOW_MS
    operator = OPERATORS.get(condition.operator) if condition.operator is not None else None
    if operator is None:
        raise _Unsupported(condition.operator)
    return operator(value, condition.target_value, ID_LISTS)


@pytest.mark.parametrize("seed", range(12))
def test_compiled_conditions__random_conditions_and_users__equal_the_interpreter(
    seed: int,
) -> None:
    rng = random.Random(seed)
    conditions = {str(index): _random_condition(rng) for index in range(150)}
    evaluator = Evaluator(
        _document(conditions),
        environment={"tier": "staging"} if seed % 2 else None,
        id_lists=ID_LISTS,
        now_ms=lambda: NOW_MS,
        app_id=APP_ID,
    )
    compared = 0
    for _ in range(25):
        user = StatsigUser.from_wire(_random_user(rng))
        # One session: conditions reading the same source and field share the request's reads.
        session = evaluator.session(user)
        for cid in rng.sample(sorted(conditions), len(conditions)):
            condition = evaluator.store.condition_map[cid]
            result = session.check_gate(f"g{cid}")
            try:
                expected = _interpret(evaluator, condition, user)
            except _Unsupported:
                assert result.reason == Reason.UNSUPPORTED, (condition, user)
                continue
            assert result.reason == Reason.RECOGNIZED, (condition, user)
            assert result.value is expected, (condition, user)
            # A fresh check (its own request, nothing read before) answers alike.
            assert evaluator.check_gate(user, f"g{cid}").value is expected, (condition, user)
            compared += 1
    assert compared > 1_000


@pytest.mark.parametrize("seed", range(4))
def test_field_reader__random_users_and_names__equals_field_value(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(300):
        user = StatsigUser.from_wire(_random_user(rng))
        for name in FIELDS:
            expected = user.field_value(name)
            found = field_reader(name)(user)
            assert found == expected and type(found) is type(expected), (name, user)


def test_from_wire__sets_every_field_of_the_dataclass() -> None:
    assert {field.name for field in dataclasses.fields(StatsigUser)} == WIRE_FIELDS


def _reference_user(wire: dict[str, Any]) -> StatsigUser:
    """``StatsigUser.from_wire`` through the generated constructor, field by field."""
    strings = {
        "userID": "user_id",
        "email": "email",
        "ip": "ip",
        "userAgent": "user_agent",
        "country": "country",
        "locale": "locale",
        "appVersion": "app_version",
    }

    def ids(value: object) -> dict[str, str]:
        if not isinstance(value, dict):
            return {}
        return {
            str(k): v if isinstance(v, str) else str(v) for k, v in value.items() if v is not None
        }

    return StatsigUser(
        **{attr: str(wire[key]) for key, attr in strings.items() if wire.get(key) is not None},
        custom=dict(wire["custom"]) if isinstance(wire.get("custom"), dict) else {},
        private_attributes=dict(wire["privateAttributes"])
        if isinstance(wire.get("privateAttributes"), dict)
        else {},
        custom_ids=ids(wire.get("customIDs")),
        statsig_environment=ids(wire.get("statsigEnvironment")),
    )


@pytest.mark.parametrize("seed", range(4))
def test_from_wire__random_wire_users__equal_the_constructor(seed: int) -> None:
    rng = random.Random(seed)
    odd: tuple[Any, ...] = (None, 7, 7.5, True, "", "x", ["a"], {"k": None, "n": 3})
    for _ in range(300):
        wire = _random_user(rng)
        for key in ("userID", "appVersion", "custom", "customIDs", "statsigEnvironment"):
            if rng.random() < 0.2:
                wire[key] = rng.choice(odd)
        user = StatsigUser.from_wire(wire)
        expected = _reference_user(wire)
        assert user == expected, wire
        for name in WIRE_FIELDS:
            assert type(getattr(user, name)) is type(getattr(expected, name)), (name, wire)
