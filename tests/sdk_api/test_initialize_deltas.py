"""``/v1/initialize`` deltas through the app: every answer carries its ``full_checksum``; a
client that sends it back gets nothing new, a delta that the JS client's own merge turns into
the full answer, or the full answer (docs/sdk.md §Initialize deltas)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import xxhash
from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.specs.deltas import NO_UPDATES, SECTIONS
from lockgate.kit import jsjson
from lockgate.kit.settings import Settings
from tests.compat.sdks import js_deltas
from tests.contract.client import ContractClient
from tests.test_documents import _project as every_kind

EVERYONE = {"name": "everyone", "passPercentage": 100, "conditions": [{"type": "public"}]}
GMAIL = {
    "name": "gmail",
    "passPercentage": 100,
    "conditions": [{"type": "email", "operator": "str_contains_any", "targetValue": ["gmail"]}],
}
USERS: list[dict[str, Any]] = [
    {"userID": "a", "email": "a@gmail.com"},
    {"userID": "b"},
    {"userID": "c", "custom": {}},
]


@pytest.fixture()
def sdk(app: FastAPI) -> Iterator[ContractClient]:
    with ContractClient(app) as client:
        yield client


@pytest.fixture()
def entities(console: ContractClient) -> None:
    steady = [(f"steady {i}", [GMAIL] if i % 2 else [EVERYONE]) for i in range(8)]
    for name, rules in (("first", [EVERYONE]), ("second", [GMAIL]), ("third", []), *steady):
        made = console.post("/console/v1/gates", json={"name": name, "rules": rules})
        assert made.status_code == 201, made.text
    made = console.post(
        "/console/v1/dynamic_configs",
        json={"name": "banner", "defaultValue": {"text": "hello", "ratio": 0.5}, "rules": [GMAIL]},
    )
    assert made.status_code == 201, made.text


def _initialize(
    sdk: ContractClient, project: Bootstrap, user: dict[str, Any], **more: Any
) -> bytes:
    response = sdk.post(f"/v1/initialize?k={project.client_key}", json={"user": user, **more})
    assert response.status_code == 200, response.text
    return response.content


def _since(answer: bytes) -> dict[str, Any]:
    """What js-client sends once it holds ``answer``."""
    return {"deltasResponseRequested": True, "full_checksum": orjson.loads(answer)["full_checksum"]}


@pytest.mark.usefixtures("entities")
def test_initialize__any_answer__ends_with_a_digest_of_itself(
    sdk: ContractClient, project: Bootstrap
) -> None:
    answer = _initialize(sdk, project, USERS[0])
    checksum = orjson.loads(answer)["full_checksum"]
    before = answer[: -len(',"full_checksum":"",}') - len(checksum) + 1] + b"}"
    assert answer.endswith(f',"full_checksum":"{checksum}"}}'.encode())
    assert checksum == xxhash.xxh3_128_hexdigest(before)
    # The same answer has the same checksum; another user's has another
    assert orjson.loads(_initialize(sdk, project, USERS[0]))["full_checksum"] == checksum
    assert orjson.loads(_initialize(sdk, project, USERS[1]))["full_checksum"] != checksum


@pytest.mark.usefixtures("entities")
def test_initialize__client_holds_current_answer__has_updates_false(
    sdk: ContractClient, project: Bootstrap
) -> None:
    held = _initialize(sdk, project, USERS[0])
    assert _initialize(sdk, project, USERS[0], **_since(held)) == NO_UPDATES
    # Asked without deltas (js-client's retry after a failed merge): the full answer
    again = {**_since(held), "deltasResponseRequested": False}
    assert _initialize(sdk, project, USERS[0], **again) == held
    # Another user naming the same checksum gets their own answer
    other = _initialize(sdk, project, USERS[1], **_since(held))
    assert b'"is_delta":true' in other
    assert orjson.loads(other)["user"]["userID"] == USERS[1]["userID"]


@pytest.mark.usefixtures("entities")
def test_initialize__console_changes_after_answer__delta_merges_into_the_full_answer(
    sdk: ContractClient, console: ContractClient, project: Bootstrap
) -> None:
    # Given answers held by three users
    held = [_initialize(sdk, project, user) for user in USERS]
    # When gates and configs are created, changed and deleted
    assert console.post("/console/v1/gates", json={"name": "fourth", "rules": [GMAIL]}).is_success
    assert console.patch("/console/v1/gates/second", json={"rules": [EVERYONE]}).is_success
    assert console.delete("/console/v1/gates/third").is_success
    changed = {"defaultValue": {"text": "bye", "ratio": 0.25}}
    assert console.patch("/console/v1/dynamic_configs/banner", json=changed).is_success
    made = console.post("/console/v1/dynamic_configs", json={"name": "new", "defaultValue": {}})
    assert made.is_success
    # Then each user asking with the answer held gets a delta, smaller than the full answer
    sent = [
        _initialize(sdk, project, user, **_since(answer))
        for user, answer in zip(USERS, held, strict=True)
    ]
    full = [_initialize(sdk, project, user) for user in USERS]
    for delta, answer in zip(sent, full, strict=True):
        body = orjson.loads(delta)
        assert body["is_delta"] is True
        assert len(body["deleted_gates"]) == 1
        assert body["deleted_configs"] == []
        assert len(delta) < len(answer)
    # which the official client merges, checksum passed, into the full answer
    merged = js_deltas(merges=list(zip(held, sent, full, strict=True)))["merges"]
    assert merged == [{"differences": [], "extra": ["checksum", "checksumV2", "is_delta"]}] * 3


@pytest.mark.usefixtures("entities")
def test_initialize__checksum_unknown_or_not_a_string__full_answer_or_precise_error(
    sdk: ContractClient, project: Bootstrap
) -> None:
    full = _initialize(sdk, project, USERS[0])
    unknown = {"deltasResponseRequested": True, "full_checksum": "0" * 32}
    assert _initialize(sdk, project, USERS[0], **unknown) == full
    for field, value, message in (
        ("deltasResponseRequested", "yes", "must be a boolean"),
        ("full_checksum", 12, "must be a string or null"),
    ):
        response = sdk.post(
            f"/v1/initialize?k={project.client_key}", json={"user": USERS[0], field: value}
        )
        assert response.status_code == 400
        assert response.json() == {
            "status": 400,
            "message": f"Invalid request. {field}: {message}",
            "errors": [{"in": "body", "property": field, "message": message}],
        }


class TestDeltasOff:
    @pytest.fixture()
    def settings(self, base_settings: Settings) -> Settings:
        return base_settings.model_copy(update={"sdk_initialize_delta_bytes": 0})

    @pytest.mark.usefixtures("entities")
    def test_initialize__deltas_off__full_answer_but_still_has_updates_false(
        self, sdk: ContractClient, console: ContractClient, project: Bootstrap
    ) -> None:
        held = _initialize(sdk, project, USERS[0])
        assert _initialize(sdk, project, USERS[0], **_since(held)) == NO_UPDATES
        assert console.patch("/console/v1/gates/first", json={"rules": []}).is_success
        full = _initialize(sdk, project, USERS[0])
        assert _initialize(sdk, project, USERS[0], **_since(held)) == full


def test_initialize__every_kind_of_entry__renderer_writes_fields_besides_value_plainly(
    sdk: ContractClient, console: ContractClient, project: Bootstrap
) -> None:
    # The delta's checksum writes each entry's fields but `value` with orjson as they are
    # (domains/specs/deltas.py): text, booleans, lists of text or of exposures in key order.
    # (Exposures are held to it by the differential test, whose gates nest.)
    every_kind(console)
    for user in ({"userID": "u5"}, {"userID": "u1", "customIDs": {"companyID": "c1"}}):
        answer = orjson.loads(_initialize(sdk, project, user))
        entries = [entry for section in SECTIONS for entry in answer[section].values()]
        assert {"feature_gates", "dynamic_configs", "layer_configs"} <= {
            section for section in SECTIONS if answer[section]
        }
        for entry in entries:
            rest = {key: value for key, value in entry.items() if key != "value"}
            assert jsjson.sorts_alike(rest), entry
