"""The official Node core SDK sends its event batches as zstd; Lockgate stores them."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from lockgate.domains.events.incoming import settle
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.db import Database
from lockgate.storage.models import CustomEvent
from tests.compat.live import live_server
from tests.compat.sdks import JS_DIR


class EncodingLog:
    """ASGI wrapper that notes the Content-Encoding of every request the SDK sends."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.seen: list[tuple[str, str | None]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            coding = headers.get(b"content-encoding")
            self.seen.append((scope["path"], coding.decode() if coding else None))
        await self.app(scope, receive, send)


def test_node_core_sdk__zstd_event_batch__stored(
    app: FastAPI, project: Bootstrap, db: Database
) -> None:
    users = [f"node-{i}" for i in range(25)]
    wrapped = EncodingLog(app)
    with live_server(wrapped) as base:
        result = subprocess.run(
            ["node", "node_core_events.mjs"],
            cwd=JS_DIR,
            input=json.dumps(
                {"base": base, "key": project.server_key, "users": users, "event": "node_buy"}
            ),
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert ("/v1/log_event", "zstd") in wrapped.seen
    settle(db)  # acknowledged events reach the indexed tables
    with db.transaction(write=False) as session:
        rows = session.scalars(
            select(CustomEvent).where(CustomEvent.event_name == "node_buy")
        ).all()
    assert Counter(row.user_id for row in rows) == Counter(users)
    assert {(row.event_metadata or {}).get("sdk") for row in rows} == {"node-core"}
