"""List envelopes: limit/page as numbers or strings, links, totals, bad values."""

from __future__ import annotations

import pytest

from tests.contract.client import ContractClient


@pytest.fixture()
def seven_tags(console: ContractClient) -> list[str]:
    names = [f"tag_{i}" for i in range(7)]
    for name in names:
        assert (
            console.post("/console/v1/tags", json={"name": name, "description": ""}).status_code
            == 200
        )
    return names


def test_list__default_limit__100_per_page(console: ContractClient, seven_tags: list[str]) -> None:
    body = console.get("/console/v1/tags").json()
    assert body["pagination"] == {
        "itemsPerPage": 100,
        "pageNumber": 1,
        "nextPage": None,
        "previousPage": None,
        "totalItems": 7,
        "all": "/console/v1/tags",
    }
    assert [t["name"] for t in body["data"]] == seven_tags


def test_list__middle_page__links_both_ways(console: ContractClient, seven_tags: list[str]) -> None:
    body = console.get("/console/v1/tags", params={"limit": "3", "page": "2"}).json()
    assert [t["name"] for t in body["data"]] == seven_tags[3:6]
    assert body["pagination"]["nextPage"] == "/console/v1/tags?page=3&limit=3"
    assert body["pagination"]["previousPage"] == "/console/v1/tags?page=1&limit=3"


def test_list__last_page__no_next(console: ContractClient, seven_tags: list[str]) -> None:
    body = console.get("/console/v1/tags?limit=3&page=3").json()
    assert [t["name"] for t in body["data"]] == seven_tags[6:]
    assert body["pagination"]["nextPage"] is None


def test_list__page_past_end__empty_data(console: ContractClient, seven_tags: list[str]) -> None:
    body = console.get("/console/v1/tags?limit=5&page=9").json()
    assert body["data"] == [] and body["pagination"]["totalItems"] == 7


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("limit=0", "limit"),
        ("limit=-2", "limit"),
        ("page=0", "page"),
        ("limit=abc", "limit"),
        ("limit=5000", "limit"),
    ],
)
def test_list__bad_paging__400_names_param(console: ContractClient, query: str, name: str) -> None:
    response = console.get(f"/console/v1/tags?{query}")
    assert response.status_code == 400
    assert name in response.json()["message"]
