"""A change made through the Console API reaches running SDKs on their next poll."""

from __future__ import annotations

from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from tests.compat.live import live_server
from tests.compat.sdks import core_sdk, core_user, legacy_sdk, legacy_user, wait_until
from tests.contract.client import ContractClient

EVERYONE = {"name": "everyone", "passPercentage": 100, "conditions": [{"type": "public"}]}


def test_running_sdks__gate_created_then_disabled__both_sdks_follow(
    app: FastAPI, console: ContractClient, project: Bootstrap
) -> None:
    user = {"userID": "u1"}
    with (
        live_server(app) as base,
        core_sdk(base, project.server_key) as core,
        legacy_sdk(base, project.server_key) as legacy,
    ):
        assert core.check_gate(core_user(user), "late_gate") is False
        console.post("/console/v1/gates", json={"name": "late_gate", "rules": [EVERYONE]})
        assert wait_until(lambda: core.check_gate(core_user(user), "late_gate"))
        assert wait_until(lambda: legacy.check_gate(legacy_user(user), "late_gate"))
        console.put("/console/v1/gates/late_gate/disable")
        assert wait_until(lambda: not core.check_gate(core_user(user), "late_gate"))
        assert wait_until(lambda: not legacy.check_gate(legacy_user(user), "late_gate"))
