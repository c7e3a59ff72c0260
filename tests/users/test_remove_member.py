"""Removing a member (``users.service.remove``, the web console's Members page): their teams and
personal console keys go with them, the Owner stays, nobody removes themselves."""

from __future__ import annotations

import pytest

from lockgate.domains.projects.service import SYSTEM_ACTOR, Bootstrap
from lockgate.domains.users import access
from lockgate.domains.users import service as users_service
from lockgate.errors import Forbidden, InvalidInput, NotFound
from lockgate.kit.actor import Change
from lockgate.kit.db import Database
from tests.contract.client import ContractClient
from tests.users.support import TEAMS, add_member, personal_key, team_body


def test_remove__member_with_team_and_key__gone_with_both_and_audited(
    console: ContractClient, db: Database, project: Bootstrap
) -> None:
    # Given a member on a team with a personal console key
    ann = add_member(db, project, "ann@example.com", "Member")
    team = console.post(TEAMS, json=team_body("Core", members=["ann@example.com"])).json()["data"]
    key = personal_key(db, project, "ann@example.com")
    pid = project.project.id
    # When they are removed
    with db.transaction() as session:
        users_service.remove(session, Change(pid, SYSTEM_ACTOR, 2), "ANN@example.com")
    # Then they, their team membership and their key are gone, and the audit log says so
    with db.transaction(write=False) as session:
        assert access.member(session, pid, ann) is None
        assert not access.is_team_member(session, pid, team["id"], ann)
    refused = console.get("/console/v1/gates", headers={"STATSIG-API-KEY": key})
    assert refused.status_code == 401
    entries = console.get("/console/v1/audit_logs").json()["data"]
    removal = [e for e in entries if e["actionType"] == "company_member_remove"]
    assert len(removal) == 1


def test_remove__owner_self_or_unknown__refused_and_nothing_changed(
    db: Database, project: Bootstrap
) -> None:
    pid = project.project.id
    with db.transaction() as session:
        owner, _ = users_service.create(
            session, Change(pid, SYSTEM_ACTOR, 1), email="boss@example.com", role="", owner=True
        )
        owner_id = owner.id
    ann = add_member(db, project, "ann@example.com", "Admin")
    with db.transaction() as session:
        ann_actor = access.member(session, pid, ann)
        assert ann_actor is not None
        as_ann = Change(pid, ann_actor.actor(), 2)
        with pytest.raises(Forbidden, match="The Owner cannot be removed"):
            users_service.remove(session, as_ann, "boss@example.com")
        with pytest.raises(InvalidInput, match="you cannot remove yourself"):
            users_service.remove(session, as_ann, "ann@example.com")
        with pytest.raises(NotFound):
            users_service.remove(session, as_ann, "nobody@example.com")
    with db.transaction(write=False) as session:
        assert access.member(session, pid, owner_id) is not None
        assert access.member(session, pid, ann) is not None
