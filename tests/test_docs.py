"""Docs that cannot rot: every setting is documented and the operations table is current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lockgate.kit.settings import Settings
from tests.contract.client import ContractClient

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_setting__every_field__documented_in_readme(field: str) -> None:
    assert f"`LOCKGATE_{field.upper()}`" in README


def test_readme__operations_table__matches_the_app() -> None:
    result = subprocess.run(
        [sys.executable, "tools/readme_operations.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_openapi__served__lists_console_routes(anonymous: ContractClient) -> None:
    paths = anonymous.get("/openapi.json").json()["paths"]
    assert "/console/v1/keys/{id}/rotate" in paths
