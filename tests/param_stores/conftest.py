"""Fixtures of the parameter store tests: an SDK client and the server key's payload."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from tests.contract.client import ContractClient


@pytest.fixture()
def sdk(app: FastAPI) -> Iterator[ContractClient]:
    with ContractClient(app) as client:
        yield client


@pytest.fixture()
def sdk_server(sdk: ContractClient, project: Bootstrap) -> Callable[[], dict[str, Any]]:
    """The dcs-v2 payload the project's server key downloads now."""

    def download() -> dict[str, Any]:
        response = sdk.get(f"/v2/download_config_specs/{project.server_key}.json")
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    return download
