"""A member signed in to the web console in process (no browser): posts carry the session's CSRF
token, as the console's forms do."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from tests.contract.client import ContractClient

PASSWORD = "a-long-member-password"


@dataclass
class Signed:
    client: ContractClient
    csrf: str

    def post(self, path: str, data: dict[str, Any]) -> Any:
        return self.client.request("POST", path, data={"csrf": self.csrf, **data})

    def get(self, path: str, **params: str) -> Any:
        return self.client.request("GET", path, **({"params": params} if params else {}))


def sign_in(app: FastAPI, email: str) -> Iterator[Signed]:
    with ContractClient(app) as client:
        response = client.request("POST", "/ui/login", data={"email": email, "password": PASSWORD})
        assert response.status_code == 303
        match = re.search(r'name="csrf" value="([^"]+)"', client.request("GET", "/ui/").text)
        assert match is not None
        yield Signed(client, match.group(1))
