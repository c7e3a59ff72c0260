"""Helpers shared by the Segments tests."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.db import Database
from lockgate.storage.models import Project
from tests.contract.client import ContractClient

SEGMENTS = "/console/v1/segments"


def create_segment(console: ContractClient, name: str, type_: str, **fields: Any) -> dict[str, Any]:
    response = console.post(SEGMENTS, json={"name": name, "type": type_, **fields})
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def audit_entries(console: ContractClient, entity_id: str) -> list[dict[str, Any]]:
    response = console.get("/console/v1/audit_logs", params={"id": entity_id})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def spec_revision(db: Database, project: Bootstrap) -> int:
    with db.transaction(write=False) as session:
        return session.scalars(
            select(Project.spec_revision).where(Project.id == project.project.id)
        ).one()


def read_id_list(
    app: FastAPI, project: Bootstrap, segment_id: str, **params: Any
) -> tuple[int, dict[str, Any]]:
    """``GET /segments/{id}/id_list`` through the contract-checking client.

    The official schema for this operation admits no body (``data`` must be an array and an
    ``IDListDto`` object at once); the extract corrects it to what Statsig returns, one
    ``IDListDto`` (``tools/extract_console_spec.py``, docs/console.md §Envelope and pagination).
    """
    with ContractClient(app, project.console_key) as client:
        response = client.get(f"{SEGMENTS}/{segment_id}/id_list", params=params)
    body: dict[str, Any] = response.json()
    return response.status_code, body
