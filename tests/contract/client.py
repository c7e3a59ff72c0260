"""A synchronous test client over ``httpx.ASGITransport`` that checks the contract.

Every Console API response it receives is validated against the official spec's schema.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal

from tests.contract.validator import PREFIX, validate_response


class ContractClient:
    """Drives the app in process; ``key`` is sent as ``STATSIG-API-KEY`` when given."""

    def __init__(self, app: Any, key: str | None = None) -> None:
        self.app = app
        self.headers: dict[str, str] = {"STATSIG-API-KEY": key} if key is not None else {}
        self._stack = ExitStack()
        self._portal: BlockingPortal | None = None
        self._client: httpx.AsyncClient | None = None

    def __enter__(self) -> ContractClient:
        self._portal = self._stack.enter_context(start_blocking_portal())
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
        self._client = httpx.AsyncClient(transport=transport, base_url="http://lockgate.test")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None and self._portal is not None:
            self._portal.call(self._client.aclose)
        self._stack.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        assert self._portal is not None and self._client is not None, "use as a context manager"
        headers = {**self.headers, **(kwargs.pop("headers", None) or {})}
        client = self._client

        async def send() -> httpx.Response:
            return await client.request(method, url, headers=headers, **kwargs)

        response = self._portal.call(send)
        path = response.request.url.path
        if path.startswith(PREFIX) and response.headers.get("content-type", "").startswith(
            "application/json"
        ):
            validate_response(method, path, response.status_code, response.json())
        return response

    def get_raw(self, url: str, **kwargs: Any) -> tuple[httpx.Response, bytes]:
        """A GET whose body comes back as sent, before any ``content-encoding`` is undone."""
        assert self._portal is not None and self._client is not None, "use as a context manager"
        headers = {**self.headers, **(kwargs.pop("headers", None) or {})}
        client = self._client

        async def send() -> tuple[httpx.Response, bytes]:
            async with client.stream("GET", url, headers=headers, **kwargs) as response:
                return response, b"".join([chunk async for chunk in response.aiter_raw()])

        return self._portal.call(send)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)
