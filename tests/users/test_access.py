"""The people read API other domains use (``domains.users.access``), and sign-in passwords."""

from __future__ import annotations

import hashlib

import pytest
from argon2 import PasswordHasher

from lockgate.app import create_app
from lockgate.domains.projects.service import SYSTEM_ACTOR, Bootstrap, bootstrap
from lockgate.domains.users import access, signin
from lockgate.domains.users import service as users_service
from lockgate.domains.users.permissions import BUILT_IN_ROLES, PERMISSIONS
from lockgate.errors import InvalidInput, LockgateError, NotFound
from lockgate.kit.db import Database
from lockgate.kit.passwords import (
    hash_password,
    memory_cost,
    needs_rehash,
    use_memory_cost,
    verify_password,
)
from lockgate.kit.settings import Settings
from tests.conftest import TEST_PASSWORD_HASH_MEMORY_KIB
from tests.contract.client import ContractClient
from tests.users.support import ROLES, TEAMS, add_member, team_body


def test_access__members_permissions_and_teams(
    console: ContractClient, db: Database, project: Bootstrap
) -> None:
    ann = add_member(db, project, "ann@example.com", "Member", first_name="Ann")
    bob = add_member(db, project, "bob@example.com", "Read Only")
    console.post(ROLES, json={"name": "Approver", "permissions": {"approve_reviews": True}})
    carl = add_member(db, project, "carl@example.com", "approver")
    team = console.post(
        TEAMS,
        json=team_body("Core", members=["ann@example.com"], admins=["carl@example.com"]),
    ).json()["data"]
    pid = project.project.id
    with db.transaction(write=False) as session:
        member = access.member(session, pid, ann)
        assert member is not None and member.name == "Ann" and member.role == "Member"
        assert member.permissions == BUILT_IN_ROLES["Member"] and member.can("create_configs")
        actor = member.actor()
        assert actor.is_user and actor.email == "ann@example.com" and actor.id == ann
        assert access.member_of_actor(session, pid, actor) == member
        assert access.member_of_actor(session, pid, SYSTEM_ACTOR) is None
        assert access.member_by_email(session, pid, "BOB@example.com") is not None
        assert access.permissions_of(session, pid, bob) == frozenset()
        assert access.permissions_of(session, pid, carl) == {"approve_reviews"}
        assert access.permissions_of(session, pid, "nobody") == frozenset()
        assert access.role_permissions(session, pid, "owner") == PERMISSIONS
        assert access.role_permissions(session, pid, "gone") == frozenset()
        assert [t.name for t in access.teams_of(session, pid, carl)] == ["Core"]
        assert access.teams_of(session, pid, bob) == []
        assert access.is_team_member(session, pid, team["id"], carl)  # admins are members
        assert access.is_team_admin(session, pid, team["id"], carl)
        assert not access.is_team_admin(session, pid, team["id"], ann)
        assert not access.is_team_member(session, pid, "nope", ann)
        found = access.team(session, pid, team["id"])
        assert found is not None and found.review_approval == "anyone"
        assert access.find_team(session, pid, "core") == found
        assert access.team(session, pid, "nope") is None


def _scrypt_hash(password: str, salt: bytes = b"0123456789abcdef") -> str:
    """A hash as Lockgate wrote them before argon2id: scrypt, n=2**14, r=8, p=1."""
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${2**14}$8$1${salt.hex()}${digest.hex()}"


@pytest.mark.database_free
def test_passwords__salted_argon2id__verified() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$") and "correct" not in stored
    assert stored != hash_password("correct horse")  # salted
    assert verify_password("correct horse", stored)
    assert not verify_password("wrong", stored)
    assert not needs_rehash(stored)
    assert not verify_password("x", None) and not verify_password("x", "md5$1$2$3$aa$bb")
    assert not verify_password("x", "garbage")
    assert not verify_password("x", "$argon2id$v=19$m=65536,t=3,p=4$garbage")


@pytest.mark.database_free
def test_passwords__default_memory_cost__app_hashes_with_rfc9106_low_memory_profile() -> None:
    # Given the suite's hashes at 1 MiB (tests/conftest.py) and an app with the default setting
    assert memory_cost() == TEST_PASSWORD_HASH_MEMORY_KIB
    cheap = hash_password("correct horse")
    default = Settings.model_fields["password_hash_memory_kib"].default
    assert default == 65_536
    try:
        create_app(Settings(database_url="sqlite://", password_hash_memory_kib=default))
        # Then hashes take 64 MiB, three passes and four lanes, and verify as current
        stored = hash_password("correct horse")
        assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert verify_password("correct horse", stored) and not needs_rehash(stored)
        # And a hash made at the lowered cost still verifies, to be replaced at sign-in
        assert cheap.startswith(f"$argon2id$v=19$m={TEST_PASSWORD_HASH_MEMORY_KIB},t=3,p=4$")
        assert verify_password("correct horse", cheap) and needs_rehash(cheap)
    finally:
        use_memory_cost(TEST_PASSWORD_HASH_MEMORY_KIB)
    assert memory_cost() == TEST_PASSWORD_HASH_MEMORY_KIB


@pytest.mark.database_free
def test_passwords__older_scrypt_hash__verifies_and_needs_rehash() -> None:
    stored = _scrypt_hash("correct horse")
    assert verify_password("correct horse", stored)
    assert not verify_password("wrong", stored)
    assert needs_rehash(stored)
    weaker = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("correct horse")
    assert verify_password("correct horse", weaker) and needs_rehash(weaker)


def _stored_hash(db: Database, pid: str, email: str) -> str | None:
    with db.transaction(write=False) as session:
        return users_service.load(session, pid, email).password_hash


def test_sign_in__scrypt_hash__upgraded_to_argon2id_once(db: Database, project: Bootstrap) -> None:
    # Given a member whose password hash predates argon2id
    add_member(db, project, "ann@example.com", "Member")
    pid = project.project.id
    with db.transaction() as session:
        users_service.load(session, pid, "ann@example.com").password_hash = _scrypt_hash("s3cret")
    # When a wrong password is tried, nothing changes
    with db.transaction(write=False) as session:
        assert signin.sign_in(session, pid, "ann@example.com", "wrong") is None
    assert _stored_hash(db, pid, "ann@example.com") == _scrypt_hash("s3cret")
    # When the right one signs in, the hash is replaced by an argon2id hash of the same password
    with db.transaction(write=False) as session:
        signed_in = signin.sign_in(session, pid, "ann@example.com", "s3cret")
    assert signed_in is not None and signed_in.stale_hash
    with db.transaction() as session:
        assert signin.upgrade_hash(session, signed_in, "s3cret")
    upgraded = _stored_hash(db, pid, "ann@example.com")
    assert upgraded is not None and upgraded.startswith("$argon2id$")
    assert verify_password("s3cret", upgraded)
    # Then the next sign-in finds nothing to upgrade
    with db.transaction(write=False) as session:
        again = signin.sign_in(session, pid, "ann@example.com", "s3cret")
    assert again is not None and not again.stale_hash


def test_upgrade_hash__password_changed_meanwhile__keeps_the_new_one(
    db: Database, project: Bootstrap
) -> None:
    add_member(db, project, "ann@example.com", "Member")
    pid = project.project.id
    with db.transaction() as session:
        users_service.load(session, pid, "ann@example.com").password_hash = _scrypt_hash("old")
    with db.transaction(write=False) as session:
        signed_in = signin.sign_in(session, pid, "ann@example.com", "old")
    assert signed_in is not None and signed_in.stale_hash
    with db.transaction() as session:
        users_service.set_password(session, pid, "ann@example.com", "new-pass")
    with db.transaction() as session:
        assert not signin.upgrade_hash(session, signed_in, "old")
    assert verify_password("new-pass", _stored_hash(db, pid, "ann@example.com"))


def test_bootstrap__owner_email__creates_the_owner_once(db: Database) -> None:
    with db.transaction() as session:
        created = bootstrap(session, 1_780_000_000_000, owner_email="boss@example.com")
    assert created is not None and created.owner_password
    with db.transaction(write=False) as session:
        rows, total = users_service.list_(session, created.project.id)
        owner = users_service.load(session, created.project.id, "boss@example.com")
        assert verify_password(created.owner_password, owner.password_hash)
    assert total == 1 and rows[0]["role"] == "Owner"
    with db.transaction() as session:
        assert bootstrap(session, 1_780_000_000_001, owner_email="x@example.com") is None


def test_set_password__new_one_signs_in__old_one_no_longer(
    db: Database, project: Bootstrap
) -> None:
    add_member(db, project, "ann@example.com", "Member")
    pid = project.project.id
    with db.transaction() as session:
        chosen = users_service.set_password(session, pid, "ANN@example.com", "first-pass")
        generated = users_service.set_password(session, pid, "ann@example.com")
    assert chosen == "first-pass" and len(generated) >= 16
    with db.transaction(write=False) as session:
        assert signin.sign_in(session, pid, "ann@example.com", generated) is not None
        assert signin.sign_in(session, pid, "ann@example.com", "first-pass") is None


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [("nobody@example.com", "x-pass", None), ("ann@example.com", "", "password")],
)
def test_set_password__unknown_member_or_empty__refused(
    db: Database, project: Bootstrap, email: str, password: str, field: str | None
) -> None:
    add_member(db, project, "ann@example.com", "Member")
    with pytest.raises(LockgateError) as raised, db.transaction() as session:
        users_service.set_password(session, project.project.id, email, password)
    if field is None:
        assert isinstance(raised.value, NotFound)
    else:
        assert isinstance(raised.value, InvalidInput) and field in raised.value.message
