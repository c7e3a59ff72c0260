"""The client's address behind trusted proxies: the rightmost-untrusted rule of ``kit/proxies.py``
and what ``/v1/initialize`` derives from it (docs/operations.md §Behind a proxy)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from starlette.datastructures import Headers

from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.specs.service import client_ip
from lockgate.kit.proxies import client_address, parse_networks
from lockgate.kit.settings import Settings
from tests.contract.client import ContractClient

# The peer address httpx.ASGITransport gives every in-process request.
IN_PROCESS_PEER = "127.0.0.1"
BRITAIN = "81.2.69.160"  # GB in the bundled country table
BRITAIN_RULE = {
    "name": "britain",
    "passPercentage": 100,
    "conditions": [{"type": "country", "operator": "any", "targetValue": ["GB"]}],
}
PROXIES = parse_networks("10.0.0.0/8, 192.168.1.5, 2001:db8::/32")


# -- the pure rule ----------------------------------------------------------------------------


@pytest.mark.database_free
@pytest.mark.parametrize(
    ("peer", "forwarded_for", "expected"),
    [
        # An untrusted peer is the client, whatever the header says.
        ("203.0.113.9", "81.2.69.160", "203.0.113.9"),
        ("203.0.113.9", None, "203.0.113.9"),
        # A trusted peer: the rightmost address that is not a trusted proxy.
        ("10.0.0.1", "81.2.69.160", "81.2.69.160"),
        ("10.0.0.1", "81.2.69.160, 192.168.1.5, 10.1.2.3", "81.2.69.160"),
        # What the client wrote to the left of the real address is ignored.
        ("10.0.0.1", "1.1.1.1, 81.2.69.160, 10.1.2.3", "81.2.69.160"),
        ("10.0.0.1", "1.1.1.1,81.2.69.160", "81.2.69.160"),
        # Every address trusted: the leftmost; no header: the peer itself.
        ("10.0.0.1", "10.9.9.9, 192.168.1.5", "10.9.9.9"),
        ("10.0.0.1", None, "10.0.0.1"),
        ("10.0.0.1", "", "10.0.0.1"),
        # An entry that is not an address, where the walk reaches it: unknown.
        ("10.0.0.1", "81.2.69.160, unknown", None),
        ("10.0.0.1", "unknown, 81.2.69.160", "81.2.69.160"),
        # IPv6, and an IPv4 peer as a dual-stack socket reports it.
        ("2001:db8::1", "2a00:1450::1", "2a00:1450::1"),
        ("::ffff:10.0.0.1", "81.2.69.160", "81.2.69.160"),
        # 192.168.1.5 is one address, not its /24.
        ("192.168.1.6", "81.2.69.160", "192.168.1.6"),
        (None, "81.2.69.160", None),
    ],
)
def test_client_address__peer_and_header__rightmost_untrusted(
    peer: str | None, forwarded_for: str | None, expected: str | None
) -> None:
    assert client_address(peer, forwarded_for, PROXIES) == expected


@pytest.mark.database_free
def test_client_address__no_trusted_proxy__header_ignored() -> None:
    assert client_address("10.0.0.1", "81.2.69.160", ()) == "10.0.0.1"


@pytest.mark.database_free
def test_parse_networks__addresses_and_blocks__each_a_network() -> None:
    assert [str(n) for n in parse_networks(" 10.0.0.0/8 ,192.168.1.5,,::1")] == [
        "10.0.0.0/8",
        "192.168.1.5/32",
        "::1/128",
    ]
    assert parse_networks("") == ()


@pytest.mark.database_free
def test_settings__bad_trusted_proxy__refused() -> None:
    with pytest.raises(ValidationError, match=r"'10\.0\.0\.300' is not an IP address"):
        Settings(trusted_proxies="10.0.0.1,10.0.0.300")


# -- through the app ---------------------------------------------------------------------------


@pytest.fixture()
def settings(base_settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The test settings, trusting the proxies a test names through ``indirect``."""
    trusted = getattr(request, "param", "")
    return base_settings.model_copy(update={"trusted_proxies": trusted})


@pytest.fixture()
def sdk(app: FastAPI) -> Iterator[ContractClient]:
    with ContractClient(app) as client:
        yield client


def _derived(sdk: ContractClient, project: Bootstrap, forwarded_for: str) -> dict[str, str]:
    response = sdk.post(
        f"/v1/initialize?k={project.client_key}",
        json={"user": {"userID": "u"}},
        headers={"x-forwarded-for": forwarded_for},
    )
    assert response.status_code == 200
    derived: dict[str, str] = response.json()["derived_fields"]
    return derived


def test_initialize__no_trusted_proxy__forwarded_for_ignored(
    sdk: ContractClient, project: Bootstrap
) -> None:
    derived = _derived(sdk, project, BRITAIN)
    assert derived["ip"] == IN_PROCESS_PEER and "country" not in derived


@pytest.mark.parametrize("settings", ["10.0.0.0/8"], indirect=True)
def test_initialize__peer_not_a_trusted_proxy__forwarded_for_ignored(
    sdk: ContractClient, project: Bootstrap
) -> None:
    derived = _derived(sdk, project, BRITAIN)
    assert derived["ip"] == IN_PROCESS_PEER and "country" not in derived


@pytest.mark.parametrize("settings", [IN_PROCESS_PEER], indirect=True)
def test_initialize__trusted_peer__client_from_forwarded_for(
    sdk: ContractClient, project: Bootstrap
) -> None:
    derived = _derived(sdk, project, BRITAIN)
    assert (derived["ip"], derived["country"]) == (BRITAIN, "GB")


@pytest.mark.parametrize("settings", [f"{IN_PROCESS_PEER}, 10.0.0.0/8"], indirect=True)
@pytest.mark.parametrize(
    ("forwarded_for", "expected_ip"),
    [
        # The client, then two proxies in front of the one that connects.
        (f"{BRITAIN}, 10.0.0.7, 10.2.0.1", BRITAIN),
        # An address the client wrote to the left of its own is ignored.
        (f"1.1.1.1, {BRITAIN}, 10.2.0.1", BRITAIN),
        # Every hop trusted: the leftmost.
        ("10.3.0.1, 10.2.0.1", "10.3.0.1"),
    ],
)
def test_initialize__chain_of_trusted_proxies__rightmost_untrusted_address(
    sdk: ContractClient, project: Bootstrap, forwarded_for: str, expected_ip: str
) -> None:
    assert _derived(sdk, project, forwarded_for)["ip"] == expected_ip


@pytest.mark.parametrize("settings", [f"{IN_PROCESS_PEER}, 10.0.0.0/8"], indirect=True)
def test_check_gate__trusted_chain__country_of_the_client(
    sdk: ContractClient, project: Bootstrap, console: ContractClient
) -> None:
    console.post("/console/v1/gates", json={"name": "uk_only", "rules": [BRITAIN_RULE]})
    response = sdk.post(
        "/v1/check_gate",
        json={"gateName": "uk_only", "user": {"userID": "u"}},
        headers={"STATSIG-API-KEY": project.server_key, "x-forwarded-for": f"{BRITAIN}, 10.0.0.7"},
    )
    assert response.json()["value"] is True


@pytest.mark.database_free
def test_client_ip__several_forwarded_for_headers__read_as_one_list() -> None:
    headers = Headers(
        raw=[(b"x-forwarded-for", b"1.1.1.1, 81.2.69.160"), (b"x-forwarded-for", b"10.0.0.7")]
    )
    assert client_ip(headers, "10.0.0.1", PROXIES) == BRITAIN
