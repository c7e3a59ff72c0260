"""User-agent parsing against statsig-rust's ``ua_string_cases.json`` (core's own parser)."""

from __future__ import annotations

import pytest

from lockgate.cores.evaluation.derived import country_of_ip, parse_user_agent, user_agent_field
from tests.evaluation.support import load_json

pytestmark = pytest.mark.database_free

UA_CASES: dict[str, dict[str, str]] = load_json("ua_string_cases.json")


@pytest.mark.parametrize(("ua", "expected"), UA_CASES.items(), ids=range(len(UA_CASES)))
def test_parse_user_agent__core_case__matches(ua: str, expected: dict[str, str]) -> None:
    info = parse_user_agent(ua)
    assert {
        "osName": info.os_name,
        "osVersion": info.os_version,
        "browserName": info.browser_name,
        "browserVersion": info.browser_version,
    } == expected


@pytest.mark.parametrize(
    ("field_name", "expected"),
    [("os_name", "Windows"), ("OSName", "Windows"), ("browser_version", "140.0.0.0"), ("x", None)],
)
def test_user_agent_field__field_alias__reads_parsed_value(
    field_name: str, expected: str | None
) -> None:
    ua = next(iter(UA_CASES))
    assert user_agent_field(ua, field_name) == expected


def test_user_agent_field__no_user_agent__is_missing() -> None:
    assert user_agent_field(None, "os_name") is None


@pytest.mark.parametrize(
    ("ip", "country"),
    [("1.0.0.0", "US"), ("8.8.8.8", "US"), ("101.100.159.200", "NZ"), ("24.244.0.1", "CA")],
)
def test_country_of_ip__known_ipv4__returns_country(ip: str, country: str) -> None:
    assert country_of_ip(ip) == country


@pytest.mark.parametrize("ip", [None, "", "::1", "not-an-ip"])
def test_country_of_ip__unusable_address__is_missing(ip: str | None) -> None:
    assert country_of_ip(ip) is None
