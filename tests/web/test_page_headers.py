"""The security headers of the web console's pages, and only of its pages."""

from __future__ import annotations

from tests.contract.client import ContractClient

PAGE_HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy")


def test_page_headers__console_page__carries_security_headers(anonymous: ContractClient) -> None:
    response = anonymous.get("/ui/login")
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_page_headers__api_path__carries_none(anonymous: ContractClient) -> None:
    response = anonymous.get("/health")
    assert response.status_code == 200
    assert not any(name in response.headers for name in PAGE_HEADERS)
