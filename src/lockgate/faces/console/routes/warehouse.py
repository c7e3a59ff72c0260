"""The Warehouse Connections resource: ``PATCH /console/v1/wh_connections``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from lockgate.domains.warehouse import service
from lockgate.domains.warehouse.schemas import WhConnectionUpdate
from lockgate.faces.console.context import Console
from lockgate.faces.console.envelope import message_only
from lockgate.kit.secretbox import SecretBox, load_key

router = APIRouter(tags=["Warehouse Connections"])


@router.patch("/wh_connections")
def update_connection(ctx: Console, body: WhConnectionUpdate) -> dict[str, Any]:
    settings = ctx.settings
    box = SecretBox(load_key(settings.warehouse_secret_key.get_secret_value(), settings.data_dir))
    files_dir = settings.resolved_warehouse_files_dir
    # The warehouse may take seconds to answer: the test runs between a read and a short
    # write, holding no transaction (on SQLite one would keep every other writer waiting).
    with ctx.database.transaction(write=False) as session:
        proposed = service.propose(session, ctx.project_id, body, box, files_dir)
    service.check(proposed, files_dir)
    service.store(ctx.session, ctx.project_id, ctx.actor, ctx.now_ms(), proposed, box)
    return message_only("Connection updated successfully")
