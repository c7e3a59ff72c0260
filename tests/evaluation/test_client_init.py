"""Client initialize response: format, app filtering and top-level fields.

Exact parity with core on the eval project is in test_core_parity.py; here the real Statsig
server response of the demo project (js-client-monorepo ``initialize.json``) serves as a format
reference for our response on the later v2 snapshot of the same project.
"""

from __future__ import annotations

from typing import Any, Literal

import pytest

from lockgate.cores.evaluation import Evaluator, SpecStore
from lockgate.cores.evaluation.client_init import app_id_for_client_key, client_initialize_response
from lockgate.cores.evaluation.hashing import djb2
from tests.evaluation.support import load_json

pytestmark = pytest.mark.database_free

Section = Literal["feature_gates", "dynamic_configs", "layer_configs"]
SECTIONS: tuple[Section, ...] = ("feature_gates", "dynamic_configs", "layer_configs")
# Fields core emits and the (hand-trimmed) server sample lacks.
KNOWN_EXTRA_FIELDS = {"dynamic_configs": {"passed"}, "layer_configs": {"id_type"}}


def _server_entries() -> list[tuple[Section, str]]:
    sample = load_json("initialize.json")
    return [(section, key) for section in SECTIONS for key in sample[section]]


@pytest.mark.parametrize(("section", "key"), _server_entries())
def test_client_initialize_response__demo_project__same_fields_and_value_as_server(
    section: Section, key: str
) -> None:
    # Given the demo project and the user of Statsig's sample response
    want = load_json("initialize.json")[section][key]
    # When we build a djb2 response for the same user
    got = client_initialize_response(
        Evaluator(load_json("demo_proj_dcs.json")), {"userID": "a-user"}
    )[section][key]
    # Then the entry has the server's fields (plus core's known extras) and value
    assert set(got) - KNOWN_EXTRA_FIELDS.get(section, set()) == set(want)
    assert got["value"] == want["value"]


def _app_document() -> dict[str, Any]:
    def gate(apps: list[str] | None) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "type": "feature_gate",
            "salt": "s",
            "enabled": True,
            "defaultValue": False,
            "rules": [],
            "idType": "userID",
            "entity": "feature_gate",
        }
        if apps is not None:
            spec["targetAppIDs"] = apps
        return spec

    return {
        "has_updates": True,
        "time": 5,
        "feature_gates": {
            "gate_a": gate(["app_a"]),
            "gate_b": gate(["app_b"]),
            "gate_any": gate(None),
        },
        "dynamic_configs": {},
        "layer_configs": {},
        "condition_map": {},
        "experiment_to_layer": {},
        "param_stores": {
            "ps_a": {"parameters": {"p": {"name": "p"}}, "targetAppIDs": ["app_a"]},
            "ps_all": {"parameters": {}, "targetAppIDs": []},
        },
        "sdk_keys_to_app_ids": {"client-a": "app_a"},
        "hashed_sdk_keys_to_app_ids": {djb2("client-b"): "app_b"},
    }


@pytest.mark.parametrize(
    ("app_id", "gates", "stores"),
    [
        (None, {"gate_a", "gate_b", "gate_any"}, {"ps_a", "ps_all"}),
        ("app_a", {"gate_a"}, {"ps_a"}),
    ],
)
def test_client_initialize_response__client_app__filters_entities(
    app_id: str | None, gates: set[str], stores: set[str]
) -> None:
    response = client_initialize_response(
        Evaluator(_app_document()), {"userID": "u"}, hash_algorithm="none", client_app_id=app_id
    )
    assert set(response["feature_gates"]) == gates
    assert set(response["param_stores"]) == stores


@pytest.mark.parametrize(
    ("key", "app_id"),
    [("client-a", "app_a"), ("client-b", "app_b"), ("client-c", None), (None, None)],
)
def test_app_id_for_client_key__plain_or_hashed_map__resolves(
    key: str | None, app_id: str | None
) -> None:
    assert app_id_for_client_key(SpecStore.from_v2(_app_document()), key) == app_id


def test_client_initialize_response__top_level__fields_and_user_echo() -> None:
    # Given a user with private attributes and custom ids
    user = {"userID": "u", "customIDs": {"stableID": "s"}, "privateAttributes": {"x": 1}}
    # When a sha256 response is built on a document without session replay info
    response = client_initialize_response(Evaluator(_app_document()), user, hash_algorithm="sha256")
    # Then the top level carries time, hash, the echoed user without private attributes
    assert response["time"] == 5
    assert response["hash_used"] == "sha256"
    assert response["has_updates"] is True
    assert response["user"] == {"userID": "u", "customIDs": {"stableID": "s"}}
    assert response["evaluated_keys"] == {"userID": "u", "customIDs": {"stableID": "s"}}
    assert "can_record_session" not in response
    assert all(len(name) == 44 for name in response["feature_gates"])


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        ({"sampling_rate": 1, "recording_blocked": False}, (True, False, 1.0)),
        ({"recording_blocked": True}, (False, True, None)),
    ],
)
def test_client_initialize_response__session_replay_info__rendered(
    info: dict[str, Any], expected: tuple[bool, bool, float | None]
) -> None:
    doc = {**_app_document(), "session_replay_info": info}
    response = client_initialize_response(Evaluator(doc), {"userID": "u"})
    observed = (
        response["can_record_session"],
        response["recording_blocked"],
        response.get("session_recording_rate"),
    )
    assert observed == expected
