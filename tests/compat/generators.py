"""Random console rules and users that exercise every condition type, operator and value
shape the official SDKs evaluate, seeded so a failure can be replayed."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DAY_MS = 86_400_000
# Time conditions sit hundreds of days from now, so evaluation moments never straddle them.
NOW_MS = int(time.time() * 1000)
USER_IDS = [f"user_{i}" for i in range(12)]
EMAIL_DOMAINS = ["corp.com", "gmail.com", "example.org"]
IPS = ["81.2.69.160", "8.8.8.8", "1.0.0.1", "24.24.24.24", "5.5.5.5"]
COUNTRIES = ["GB", "US", "AU", "DE", "FR", "JP"]
LOCALES = ["en_US", "en_GB", "fr_FR", "de_DE"]
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.144 Mobile Safari/537.36",
]
VERSIONS = ["1.0", "1.2.3", "2.0.1", "3.10.0", "10.1"]
PLANS = ["free", "Pro", "enterprise", "team"]
TAGS = ["a", "b", "c", "d"]
MODELS = ["iPhone15,2", "Pixel 8", "SM-S918B"]
TIERS = ["production", "staging", "development"]
PERCENTAGES = [0, 0.5, 10, 33.33, 50, 99.99, 100, 100, 100]


def _pick(rng: random.Random, values: list[Any], low: int = 1, high: int = 3) -> list[Any]:
    return rng.sample(values, rng.randint(low, min(high, len(values))))


@dataclass
class World:
    """What the rules may refer to: gates and segments created before them."""

    gates: list[str] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)


def condition(rng: random.Random, world: World, *, in_segment: bool = False) -> dict[str, Any]:
    makers: list[Callable[[], dict[str, Any]]] = [
        lambda: {
            "type": "user_id",
            **rng.choice(
                [
                    {"operator": "any", "targetValue": _pick(rng, USER_IDS, 1, 5)},
                    {"operator": "none", "targetValue": _pick(rng, USER_IDS, 1, 5)},
                    {"operator": "str_starts_with_any", "targetValue": ["user_1"]},
                    {"operator": "regex", "targetValue": r"user_[0-4]$"},
                    {"operator": "is_null"},
                    {"operator": "is_not_null"},
                ]
            ),
        },
        lambda: {
            "type": "email",
            **rng.choice(
                [
                    {"operator": "str_contains_any", "targetValue": _pick(rng, EMAIL_DOMAINS)},
                    {"operator": "str_contains_none", "targetValue": _pick(rng, EMAIL_DOMAINS)},
                    {"operator": "str_ends_with_any", "targetValue": ["corp.com"]},
                    {"operator": "any", "targetValue": ["USER_1@CORP.COM", "user_2@gmail.com"]},
                    {"operator": "any_case_sensitive", "targetValue": ["user_3@corp.com"]},
                ]
            ),
        },
        lambda: {
            "type": "custom_field",
            **rng.choice(
                [
                    {
                        "field": "level",
                        "operator": rng.choice(["lt", "gt", "lte", "gte"]),
                        "targetValue": rng.randint(0, 10),
                    },
                    {"field": "level", "operator": "any", "targetValue": [3, "5", 7]},
                    {
                        "field": "plan",
                        "operator": rng.choice(["any", "none"]),
                        "targetValue": _pick(rng, PLANS),
                    },
                    {"field": "plan", "operator": "none_case_sensitive", "targetValue": ["pro"]},
                    {
                        "field": "ver",
                        "operator": rng.choice(
                            ["version_gt", "version_lte", "version_eq", "version_neq"]
                        ),
                        "targetValue": rng.choice(VERSIONS),
                    },
                    {
                        "field": "signup",
                        "operator": rng.choice(["before", "after", "on"]),
                        "targetValue": NOW_MS - rng.randint(-5, 30) * DAY_MS,
                    },
                    {
                        "field": "tags",
                        "operator": rng.choice(
                            [
                                "array_contains_any",
                                "array_contains_none",
                                "array_contains_all",
                                "not_array_contains_all",
                            ]
                        ),
                        "targetValue": _pick(rng, TAGS, 1, 2),
                    },
                    {"field": "Plan", "operator": "str_contains_any", "targetValue": ["ent"]},
                ]
            ),
        },
        lambda: {
            "type": "unit_id",
            "customID": "companyID",
            **rng.choice(
                [
                    {"operator": "any", "targetValue": ["co_1", "co_2"]},
                    {"operator": "none", "targetValue": ["co_3"]},
                    {"operator": "is_null"},
                ]
            ),
        },
        lambda: {
            "type": "app_version",
            "operator": rng.choice(["version_gte", "version_lt", "any"]),
            "targetValue": rng.choice(VERSIONS),
        },
        lambda: {
            "type": "browser_name",
            "operator": rng.choice(["any", "none"]),
            "targetValue": _pick(rng, ["Chrome", "Mobile Safari", "Firefox", "Chrome Mobile"]),
        },
        lambda: {
            "type": "browser_version",
            "operator": rng.choice(["version_gt", "version_lt"]),
            "targetValue": rng.choice(["100", "120.0.0", "17.0"]),
        },
        lambda: {
            "type": "os_name",
            "operator": rng.choice(["any", "none"]),
            "targetValue": _pick(rng, ["Windows", "iOS", "Mac OS X", "Android"]),
        },
        lambda: {
            "type": "os_version",
            "operator": rng.choice(["version_gte", "version_lt"]),
            "targetValue": rng.choice(["10", "14", "17.0"]),
        },
        lambda: {
            "type": "country",
            "operator": rng.choice(["any", "none"]),
            "targetValue": _pick(rng, COUNTRIES),
        },
        lambda: {
            "type": "ip_address",
            "operator": rng.choice(["any", "none"]),
            "targetValue": _pick(rng, IPS),
        },
        lambda: {
            "type": "environment_tier",
            "operator": rng.choice(["any", "none", None]),
            "targetValue": _pick(rng, TIERS, 1, 2),
        },
    ]
    if not in_segment:
        makers += [
            lambda: {"type": "public"},
            lambda: {
                "type": "locale",
                "operator": rng.choice(["any", "none"]),
                "targetValue": _pick(rng, LOCALES),
            },
            lambda: {
                "type": "device_model",
                "operator": rng.choice(["any", "str_contains_any"]),
                "targetValue": _pick(rng, MODELS),
            },
            lambda: {
                "type": "user_agent",
                "operator": "str_contains_any",
                "targetValue": ["Firefox", "iPhone"],
            },
            lambda: {
                "type": "time",
                "operator": rng.choice(["before", "after"]),
                "targetValue": NOW_MS + rng.choice([-1, 1]) * 400 * DAY_MS,
            },
        ]
        if world.gates:
            # Nested gates are where secondary exposures come from: weight them up.
            makers += [
                lambda: {
                    "type": rng.choice(["passes_gate", "fails_gate"]),
                    "targetValue": rng.choice(world.gates),
                }
            ] * 4
    if world.segments:
        makers.append(
            lambda: {
                "type": rng.choice(["passes_segment", "fails_segment"]),
                "targetValue": rng.choice(world.segments),
            }
        )
    return rng.choice(makers)()


def rules(
    rng: random.Random,
    world: World,
    *,
    in_segment: bool = False,
    values: bool = False,
    scoped: float = 0.2,
) -> list[dict[str, Any]]:
    """1 to 3 rules; a share ``scoped`` of them is limited to one or two environments."""
    made = []
    for index in range(rng.randint(1, 3)):
        rule: dict[str, Any] = {
            "name": f"rule {index}",
            "passPercentage": 100 if in_segment else rng.choice(PERCENTAGES),
            "conditions": [
                condition(rng, world, in_segment=in_segment) for _ in range(rng.randint(1, 2))
            ],
        }
        if not in_segment and rng.random() < scoped:
            rule["environments"] = _pick(rng, TIERS, 1, 2)
        if values:
            rule["returnValue"] = {
                "variant": f"v{index}",
                "size": rng.randint(1, 9),
                "nested": {"on": rng.random() < 0.5},
            }
        made.append(rule)
    return made


def user(rng: random.Random, index: int) -> dict[str, Any]:
    """A user in the wire form every SDK accepts. Values stay in the shapes on which the two
    Python SDKs are documented to agree (no float or boolean custom values)."""
    uid = rng.choice([*USER_IDS, f"user_{index}_x"])
    wire: dict[str, Any] = {
        "userID": uid,
        "email": f"{uid}@{rng.choice(EMAIL_DOMAINS)}",
        "ip": rng.choice(IPS),
        "userAgent": rng.choice(USER_AGENTS),
        "locale": rng.choice(LOCALES),
        "appVersion": rng.choice(VERSIONS),
        "custom": {
            "level": rng.randint(0, 10),
            "plan": rng.choice(PLANS),
            "Plan": rng.choice(PLANS),
            "ver": rng.choice(VERSIONS),
            "signup": NOW_MS - rng.randint(0, 40) * DAY_MS,
            "tags": _pick(rng, TAGS, 0, 3),
            "device_model": rng.choice(MODELS),
        },
        "customIDs": {"companyID": rng.choice(["co_1", "co_2", "co_3", "co_4"])},
    }
    if rng.random() < 0.3:
        wire["country"] = rng.choice(COUNTRIES)
    if rng.random() < 0.5:
        wire["statsigEnvironment"] = {"tier": rng.choice(TIERS)}
    return wire


# JavaScript type names, as a parameter's ``param_type`` uses them.
def js_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


STATIC_VALUES: list[Any] = [True, False, 0, 7, 2.5, "", "blue", [], [1, "a"], {}, {"k": [1]}]


def store_parameters(
    rng: random.Random,
    gates: list[str],
    readable: dict[str, dict[str, dict[str, Any]]],
    count: int = 12,
) -> list[dict[str, Any]]:
    """Random parameters of every reference kind. ``readable`` maps ``dynamic_config``,
    ``experiment`` and ``layer`` to {entity: {parameter: sample value}}; a parameter reads an
    existing key with its type most of the time, and sometimes a missing key or a declared
    type the value does not have (both must resolve to the caller's fallback)."""
    kinds = ["static", "gate", *(kind for kind, entities in readable.items() if entities)]
    parameters: list[dict[str, Any]] = []
    for index in range(count):
        kind = kinds[index % len(kinds)] if index < len(kinds) else rng.choice(kinds)
        name = f"p{index}_{kind}"
        if kind == "static":
            value = rng.choice(STATIC_VALUES)
            parameters.append(
                {"name": name, "ref_type": kind, "param_type": js_type(value), "value": value}
            )
            continue
        if kind == "gate":
            pass_value, fail_value = rng.choice(
                [(True, False), ("yes", "no"), (1, 2), ([1], []), ({"on": 1}, {})]
            )
            parameters.append(
                {
                    "name": name,
                    "ref_type": kind,
                    "param_type": js_type(pass_value),
                    "gate_name": rng.choice(gates),
                    "pass_value": pass_value,
                    "fail_value": fail_value,
                }
            )
            continue
        entity = rng.choice(sorted(readable[kind]))
        keys = readable[kind][entity]
        roll = rng.random()
        if roll < 0.15 or not keys:
            param_name, param_type = "missing_key", "string"
        else:
            param_name = rng.choice(sorted(keys))
            param_type = js_type(keys[param_name])
            if roll < 0.25:
                param_type = rng.choice(["boolean", "number", "string", "object", "array"])
        field_name = {"dynamic_config": "config_name"}.get(kind, f"{kind}_name")
        parameters.append(
            {
                "name": name,
                "ref_type": kind,
                "param_type": param_type,
                field_name: entity,
                "param_name": param_name,
            }
        )
    return parameters
