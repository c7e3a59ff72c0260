"""The SDK endpoints under hostile input: byte ranges past the end, numbers past infinity, NUL
characters and nesting no encoder takes get a 4xx naming what is wrong, never a 500. (Path
parameters of every route are covered by ``tests/console/test_hostile_input.py``.)"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.jsonvalues import NUL
from tests.contract.client import ContractClient

LIST_FILE = "/v1/download_id_list_file/ids"


@pytest.fixture()
def sdk(app: FastAPI) -> Any:
    with ContractClient(app) as client:
        yield client


@pytest.fixture()
def id_list(console: ContractClient) -> int:
    """An id-list segment of 3 ids; returns the size of its file."""
    console.post("/console/v1/segments", json={"name": "ids", "type": "id_list"})
    response = console.patch("/console/v1/segments/ids/id_list", json={"ids": ["a", "b", "c"]})
    assert response.status_code == 200, response.text
    return 3 * 10


@pytest.mark.parametrize("start", ["999999999999999999999", "30", "31", "1000000"])
def test_id_list_file__range_from_the_end_or_past__416_with_size(
    sdk: ContractClient, project: Bootstrap, id_list: int, start: str
) -> None:
    response = sdk.get(
        LIST_FILE, headers={"STATSIG-API-KEY": project.server_key, "range": f"bytes={start}-"}
    )

    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{id_list}"
    body = response.json()
    assert body["status"] == 416 and body["errors"][0]["property"] == "Range"


def test_id_list_file__range_inside__206_tail(
    sdk: ContractClient, project: Bootstrap, id_list: int
) -> None:
    headers = {"STATSIG-API-KEY": project.server_key}
    whole = sdk.get(LIST_FILE, headers=headers).content

    tail = sdk.get(LIST_FILE, headers={**headers, "range": f"bytes={id_list - 1}-"})

    assert tail.status_code == 206 and tail.content == whole[-1:] == b"\n"


@pytest.mark.parametrize("since", ["1e400", "-1e400", "nan"])
def test_dcs__since_time_not_a_finite_number__full_payload(
    sdk: ContractClient, project: Bootstrap, since: str
) -> None:
    response = sdk.get(
        f"/v2/download_config_specs/{project.server_key}.json", params={"sinceTime": since}
    )

    assert response.status_code == 200 and response.json()["has_updates"] is True


@pytest.mark.parametrize("name", ["k", "sinceTime", "st"])
def test_sdk_route__nul_in_query_parameter__400_names_it(
    sdk: ContractClient, project: Bootstrap, name: str
) -> None:
    response = sdk.get(
        f"/v2/download_config_specs/{project.server_key}.json", params={name: "a\x00"}
    )

    assert response.status_code == 400
    assert response.json()["errors"] == [{"property": name, "in": "query", "message": NUL}]


def _deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("path", "key", "extra"),
    [
        ("/v1/initialize", "client_key", {}),
        ("/v1/check_gate", "server_key", {"gateName": "g"}),
        ("/v1/get_config", "server_key", {"configName": "c"}),
    ],
)
@pytest.mark.parametrize(
    ("custom", "field"),
    [
        ({"nested": _deep(300)}, "user.custom.nested.0.0.0.0.0.…"),
        ({"name": "a\x00"}, "user.custom.name"),
    ],
)
def test_evaluation__user_no_encoder_takes__400_names_field(
    sdk: ContractClient,
    project: Bootstrap,
    path: str,
    key: str,
    extra: dict[str, Any],
    custom: dict[str, Any],
    field: str,
) -> None:
    user = {"userID": "u1", "custom": custom}

    response = sdk.post(
        path, json={"user": user, **extra}, headers={"STATSIG-API-KEY": getattr(project, key)}
    )

    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["property"] == field
