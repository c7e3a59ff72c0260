"""Console API routes of this resource (being built)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
