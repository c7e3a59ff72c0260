"""A served Lockgate (``lockgate serve``, real sockets) takes the client's address from the
connection, not from an ``X-Forwarded-For`` no trusted proxy wrote
(docs/operations.md §Behind a proxy): the web server in front of the app must not believe the
header either."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.transport.server import Served, lockgate_process

BRITAIN = "81.2.69.160"  # GB in the bundled country table


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("address")
    with lockgate_process(directory / "serve.log", data_dir=str(directory / "data")) as server:
        yield server


def test_initialize__local_client_sends_forwarded_for__its_own_address_used(
    served: Served,
) -> None:
    # When a client on this machine (not a trusted proxy: none is set) claims another address
    response = httpx.post(
        f"{served.base}/v1/initialize?k={served.keys['client key']}",
        json={"user": {"userID": "u"}},
        headers={"x-forwarded-for": BRITAIN},
    )
    # Then the address derived for the user is the connection's, and no country follows
    assert response.status_code == 200, response.text
    derived = response.json()["derived_fields"]
    assert derived["ip"] == "127.0.0.1"
    assert "country" not in derived
