"""Shared fixtures for the statistics tests: the gbstats golden document, read from this folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

GOLDENS = Path(__file__).with_name("goldens_gbstats.json")


@pytest.fixture(scope="session")
def goldens() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(GOLDENS.read_text())
    return document
