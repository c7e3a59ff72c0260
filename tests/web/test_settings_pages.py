"""The settings pages without a browser, on both databases: bad input is refused with the
precise message and changes nothing, roles decide who may change what (a forged post is a 403
that changes nothing), new members' passwords are shown once, and sign-in upgrades old
password hashes."""

from __future__ import annotations

import hashlib
import re

import pytest
from fastapi import FastAPI

from lockgate.domains.projects.service import SYSTEM_ACTOR, Bootstrap
from lockgate.domains.users import service as users_service
from lockgate.domains.users.permissions import ADMIN, MEMBER, READ_ONLY
from lockgate.kit.actor import Change
from lockgate.kit.db import Database
from tests.contract.client import ContractClient
from tests.web.conftest import SignIn, settings_state


def _env_id(console: ContractClient, name: str) -> str:
    envs = console.get("/console/v1/environments").json()["data"]["environments"]
    return str(next(e["id"] for e in envs if e["name"].lower() == name))


def _tag_id(console: ContractClient) -> str:
    created = console.post("/console/v1/tags", json={"name": "Beta", "description": "b"})
    return str(created.json()["data"]["id"])


def _app_id(console: ContractClient) -> str:
    created = console.post("/console/v1/target_app", json={"name": "ios", "description": "i"})
    return str(created.json()["data"]["id"])


TEAM = {
    "name": "Core",
    "description": "The core team",
    "members": [],
    "admins": [],
    "defaultGateMetrics": [],
    "defaultExperimentPrimaryMetrics": [],
    "defaultExperimentSecondaryMetrics": [],
    "defaultHoldoutMetrics": [],
    "changeTeamConfigs": "anyone",
    "reviewApproval": "anyone",
    "defaultTargetApplications": [],
}


def _seeded(console: ContractClient) -> dict[str, str]:
    """A tag, a target app, a team, a custom role, a unit id type and a dynamic config, made
    through the Console API; their ids fill ``{tag}``, ``{app}`` and ``{team}``."""
    ids = {"tag": _tag_id(console), "app": _app_id(console)}
    team = console.post("/console/v1/users/teams", json=TEAM)
    assert team.status_code == 200, team.text
    ids["team"] = str(team.json()["data"]["id"])
    made = (
        console.post("/console/v1/roles", json={"name": "Support", "permissions": {}}),
        console.post("/console/v1/unit_id_types", json={"name": "companyID"}),
        console.post("/console/v1/dynamic_configs", json={"name": "banner"}),
    )
    assert all(r.status_code in (200, 201) for r in made), [r.text for r in made]
    return ids


# (path, form, fragment of the refusal); {env:NAME}, {tag} and {app} are filled in per test.
BAD_INPUT = [
    ("/ui/settings/environments", {"name": "  "}, "environments[3].name: must not be blank"),
    ("/ui/settings/environments", {"name": "STAGING"}, "&#39;STAGING&#39; appears more than once"),
    ("/ui/settings/environments", {"name": "x" * 101}, "at most 100 characters"),
    (
        "/ui/settings/environments/{env:production}",
        {"name": "prod"},
        "the production environment &#39;production&#39; cannot be renamed",
    ),
    (
        "/ui/settings/environments/{env:production}/delete",
        {},
        "the production environment &#39;production&#39; cannot be removed",
    ),
    ("/ui/settings/environments/{env:development}/move", {"direction": "up"}, "cannot move up"),
    ("/ui/settings/environments/nope/delete", {}, "No environment with id &#39;nope&#39;"),
    ("/ui/settings/tags", {"name": "beta", "description": ""}, "Name is already in use"),
    ("/ui/settings/tags", {"name": "   ", "description": ""}, "name: must not be blank"),
    ("/ui/settings/tags/{tag}", {"name": ""}, "name: String should have at least 1 character"),
    ("/ui/settings/tags/missing/delete", {}, "Tag not found"),
    ("/ui/settings/target_apps", {"name": "IOS", "description": ""}, "Name is already in use"),
    ("/ui/settings/target_apps/{app}", {"name": "  "}, "name: must not be blank"),
    ("/ui/settings/target_apps/assign", {"target_app": "{app}", "entity": "nope"}, "[nope]"),
    (
        "/ui/settings/target_apps/assign",
        {"target_app": "{app}", "kind": "experiments", "entity": "nope"},
        "Experiments with IDs [nope] do not exist",
    ),
    (
        "/ui/settings/target_apps/assign",
        {"target_app": "{app}", "kind": "segments", "entity": "nope"},
        "Unknown kind &#39;segments&#39;",
    ),
    (
        "/ui/settings/target_apps/assign",
        {"target_app": "{app}", "kind": "dynamic_configs", "entity": " "},
        "dynamic_configs: name the entity to assign",
    ),
    ("/ui/settings/teams", {"name": ""}, "name: String should have at least 1 character"),
    ("/ui/settings/teams", {"name": "core"}, "name: a team named &#39;core&#39; exists"),
    (
        "/ui/settings/teams",
        {"name": "T", "members": "nobody@acme.com"},
        "members: nobody@acme.com is not a member of the project",
    ),
    (
        "/ui/settings/teams",
        {"name": "T", "default_gate_metrics": "revenue"},
        "defaultGateMetrics: &#39;revenue&#39; is not a metric id",
    ),
    (
        "/ui/settings/teams",
        {"name": "T", "review_approval": "everyone"},
        "reviewApproval: Input should be",
    ),
    (
        "/ui/settings/teams",
        {"name": "T", "default_target_applications": "nope"},
        "defaultTargetApplications: target app &#39;nope&#39; does not exist",
    ),
    (
        "/ui/settings/teams/{team}",
        {"name": "Core", "default_holdout_id": "nope"},
        "defaultHoldoutID: no holdout &#39;nope&#39;",
    ),
    ("/ui/settings/teams/{team}", {"name": "Core", "admins": "x@y.z"}, "admins: x@y.z is not"),
    ("/ui/settings/teams/missing/delete", {}, "Team not found."),
    ("/ui/settings/roles", {"name": "admin"}, "name: &#39;admin&#39; is a built-in role"),
    ("/ui/settings/roles", {"name": "support"}, "name: a role named &#39;support&#39; exists"),
    ("/ui/settings/roles", {"name": " "}, "name: is required"),
    (
        "/ui/settings/roles",
        {"name": "Pilot", "permissions": "fly"},
        "permissions: unknown permission &#39;fly&#39;",
    ),
    ("/ui/settings/roles/Support", {"permissions": "fly"}, "unknown permission &#39;fly&#39;"),
    ("/ui/settings/roles/Nobody", {"permissions": "create_configs"}, "Role not found."),
    ("/ui/settings/roles/Nobody/delete", {}, "Role not found."),
    ("/ui/settings/unit_id_types", {"name": "org id"}, "name: must be 1 to 100 letters"),
    ("/ui/settings/unit_id_types", {"name": "CompanyID"}, "Name is already in use"),
    ("/ui/settings/unit_id_types", {"name": "stableID"}, "is a built-in unit id type"),
    (
        "/ui/settings/unit_id_types/companyID",
        {"description": "d" * 1001},
        "description: String should have at most 1000 characters",
    ),
    ("/ui/settings/unit_id_types/orgID", {"description": ""}, "Unit ID Type not found."),
    ("/ui/settings/unit_id_types/userID/delete", {}, "is a built-in unit id type"),
    ("/ui/settings/members", {"email": "not-an-email", "role": MEMBER}, "is not an email"),
    (
        "/ui/settings/members",
        {"email": "a@acme.com", "role": "Boss"},
        "unknown role &#39;Boss&#39;",
    ),
    (
        "/ui/settings/members",
        {"email": "a@acme.com", "role": MEMBER, "first_name": "y" * 201},
        "firstName: String should have at most 200 characters",
    ),
    ("/ui/settings/members/invite", {"emails": "", "role": MEMBER}, "emails: List should have"),
    ("/ui/settings/members/admin%40acme.com/role", {"role": "Boss"}, "unknown role"),
    ("/ui/settings/members/nobody%40acme.com/remove", {}, "User not found"),
    ("/ui/settings/members/admin%40acme.com/remove", {}, "you cannot remove yourself"),
    (
        "/ui/settings/project",
        {"name": "P", "visibility": "SECRET", "default_project_role": MEMBER},
        "visibility: must be one of OPEN, CLOSED, EXTERNAL",
    ),
    (
        "/ui/settings/project",
        {"name": "P", "visibility": "OPEN", "default_unit_type": "orgID"},
        "unknown unit id type &#39;orgID&#39;",
    ),
    (
        "/ui/settings/project",
        {"name": "", "visibility": "OPEN", "default_project_role": MEMBER},
        "name: String should have at least 1 character",
    ),
]


def _filled(text: str, console: ContractClient, ids: dict[str, str]) -> str:
    for name in ("production", "development"):
        text = text.replace(f"{{env:{name}}}", _env_id(console, name))
    for key, value in ids.items():
        text = text.replace(f"{{{key}}}", value)
    return text


@pytest.mark.parametrize(
    ("path", "form", "fragment"), BAD_INPUT, ids=[f"{p}-{f}" for p, _, f in BAD_INPUT]
)
def test_settings_post__bad_input__422_with_the_message_and_nothing_changed(
    api: ContractClient, sign_in: SignIn, path: str, form: dict[str, str], fragment: str
) -> None:
    # Given an Admin on a project with a tag and a target app
    ids = _seeded(api)
    client, csrf = sign_in("admin@acme.com", ADMIN)
    before = settings_state(api)
    # When the form is posted with bad input
    data = {k: _filled(v, api, ids) for k, v in form.items()}
    response = client.post(_filled(path, api, ids), data={**data, "csrf": csrf})
    # Then the page says exactly what is wrong, in an alert, and nothing changed
    assert response.status_code == 422, response.text[:300]
    alert = re.search(r'<p class="error" role="alert">([^<]*)</p>', response.text)
    assert alert is not None and fragment in alert.group(1)
    assert settings_state(api) == before


# Every change a settings page can post, with a valid form.
CHANGES = [
    ("/ui/settings/environments", {"name": "qa"}),
    ("/ui/settings/environments/{env:staging}", {"name": "preprod"}),
    ("/ui/settings/environments/{env:staging}/move", {"direction": "up"}),
    ("/ui/settings/environments/{env:staging}/delete", {}),
    ("/ui/settings/project", {"name": "P2", "visibility": "OPEN", "default_project_role": MEMBER}),
    ("/ui/settings/project/reviews", {"is_config_review_required": "on"}),
    ("/ui/settings/tags", {"name": "Gamma", "description": ""}),
    ("/ui/settings/tags/{tag}", {"name": "Delta", "description": ""}),
    ("/ui/settings/tags/{tag}/delete", {}),
    ("/ui/settings/target_apps", {"name": "android", "description": ""}),
    ("/ui/settings/target_apps/{app}", {"name": "ipad", "description": ""}),
    ("/ui/settings/target_apps/{app}/delete", {}),
    ("/ui/settings/target_apps/assign", {"target_app": "{app}", "entity": "banner"}),
    (
        "/ui/settings/target_apps/assign",
        {"target_app": "{app}", "kind": "dynamic_configs", "entity": "banner"},
    ),
    ("/ui/settings/teams", {"name": "Growth", "members": "other@acme.com"}),
    ("/ui/settings/teams/{team}", {"name": "Core", "description": "new"}),
    ("/ui/settings/teams/{team}/delete", {}),
    ("/ui/settings/roles", {"name": "Auditor", "permissions": "create_configs"}),
    ("/ui/settings/roles/Support", {"permissions": "create_configs"}),
    ("/ui/settings/roles/Support/delete", {}),
    ("/ui/settings/unit_id_types", {"name": "orgID", "description": ""}),
    ("/ui/settings/unit_id_types/companyID", {"description": "Companies"}),
    ("/ui/settings/unit_id_types/companyID/delete", {}),
    ("/ui/settings/members", {"email": "new@acme.com", "role": MEMBER}),
    ("/ui/settings/members/invite", {"emails": "new@acme.com", "role": MEMBER}),
    ("/ui/settings/members/other%40acme.com/role", {"role": ADMIN}),
    ("/ui/settings/members/other%40acme.com/remove", {}),
]
# What a Member (not an Admin) may still do: tags and target app creation need only the
# create/edit permissions every Member holds, as in the Console API.
MEMBER_MAY = {
    "/ui/settings/tags",
    "/ui/settings/tags/{tag}",
    "/ui/settings/tags/{tag}/delete",
    "/ui/settings/target_apps",
    "/ui/settings/target_apps/assign",
}
SETTINGS_PAGES = [
    "/ui/settings/environments",
    "/ui/settings/members",
    "/ui/settings/project",
    "/ui/settings/tags",
    "/ui/settings/target_apps",
    "/ui/settings/teams",
    "/ui/settings/teams/{team}",
    "/ui/settings/roles",
    "/ui/settings/unit_id_types",
]


def _denied(role: str) -> list[tuple[str, str, dict[str, str]]]:
    return [
        (role, path, form) for path, form in CHANGES if role == READ_ONLY or path not in MEMBER_MAY
    ]


@pytest.mark.parametrize(
    ("role", "path", "form"),
    _denied(READ_ONLY) + _denied(MEMBER),
    ids=[f"{r}-{p}" for r, p, _ in _denied(READ_ONLY) + _denied(MEMBER)],
)
def test_settings_post__role_without_the_permission__403_and_nothing_changed(
    api: ContractClient, sign_in: SignIn, role: str, path: str, form: dict[str, str]
) -> None:
    # Given a member whose role lacks the permission, and a forged but well-formed post
    ids = _seeded(api)
    sign_in("other@acme.com", MEMBER)
    client, csrf = sign_in("someone@acme.com", role)
    before = settings_state(api)
    # When they post it
    data = {k: _filled(v, api, ids) for k, v in form.items()}
    response = client.post(_filled(path, api, ids), data={**data, "csrf": csrf})
    # Then it is refused and nothing changed
    assert response.status_code == 403
    assert "Not allowed" in response.text
    assert settings_state(api) == before


@pytest.mark.parametrize("page", SETTINGS_PAGES)
def test_settings_page__read_only_member__controls_disabled_with_the_reason(
    api: ContractClient, sign_in: SignIn, page: str
) -> None:
    ids = _seeded(api)
    client, _ = sign_in("reader@acme.com", READ_ONLY)
    text = client.get(_filled(page, api, ids)).text
    assert "Your role (Read Only)" in text
    submits = re.findall(r'<button type="submit"[^>]*>', text)
    changes = [b for b in submits if "Sign out" not in b and 'class="link"' not in b]
    assert changes and all(" disabled title=" in b for b in changes)


def test_settings_page__admin__controls_enabled(api: ContractClient, sign_in: SignIn) -> None:
    ids = _seeded(api)
    client, _ = sign_in("admin@acme.com", ADMIN)
    for page in SETTINGS_PAGES:
        text = client.get(_filled(page, api, ids)).text
        assert ' disabled title="Only Owners' not in text and "lacks the" not in text


def test_change_role__admin_on_the_owner__403_and_owner_kept(
    api: ContractClient, sign_in: SignIn, project: Bootstrap, db: Database
) -> None:
    with db.transaction() as session:
        users_service.create(
            session,
            Change(project.project.id, SYSTEM_ACTOR, 1),
            email="boss@acme.com",
            role="Owner",
            owner=True,
        )
    client, csrf = sign_in("admin@acme.com", ADMIN)
    before = settings_state(api)
    response = client.post(
        "/ui/settings/members/boss%40acme.com/role", data={"role": MEMBER, "csrf": csrf}
    )
    assert response.status_code == 403
    assert settings_state(api) == before


def test_add_member__password_shown_once__signs_in_and_audited(
    app: FastAPI, api: ContractClient, sign_in: SignIn
) -> None:
    client, csrf = sign_in("admin@acme.com", ADMIN)
    response = client.post(
        "/ui/settings/members",
        data={"email": "new@acme.com", "role": READ_ONLY, "first_name": "Nia", "csrf": csrf},
    )
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    shown = re.search(r'id="new-password" readonly value="([^"]+)"', response.text)
    assert shown is not None
    password = shown.group(1)
    assert password not in client.get("/ui/settings/members").text
    users = api.get("/console/v1/users").json()["data"]
    assert {"email": "new@acme.com", "firstName": "Nia", "lastName": "", "role": READ_ONLY} in users
    with ContractClient(app) as newcomer:
        signed = newcomer.post("/ui/login", data={"email": "new@acme.com", "password": password})
        assert signed.status_code == 303


def test_remove_member__gone_from_the_api_and_audited(api: ContractClient, sign_in: SignIn) -> None:
    sign_in("other@acme.com", MEMBER)
    client, csrf = sign_in("admin@acme.com", ADMIN)
    response = client.post("/ui/settings/members/other%40acme.com/remove", data={"csrf": csrf})
    assert response.status_code == 303
    emails = [u["email"] for u in api.get("/console/v1/users").json()["data"]]
    assert "other@acme.com" not in emails
    audit = api.get("/console/v1/audit_logs").json()["data"]
    assert any(e["actionType"] == "company_member_remove" for e in audit)


def _scrypt_hash(password: str) -> str:
    salt = b"fedcba9876543210"
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${2**14}$8$1${salt.hex()}${digest.hex()}"


def test_sign_in__scrypt_hash__signs_in_and_is_stored_as_argon2id(
    app: FastAPI, db: Database, project: Bootstrap
) -> None:
    # Given a member whose hash was written before argon2id
    pid = project.project.id
    with db.transaction() as session:
        user, _ = users_service.create(
            session, Change(pid, SYSTEM_ACTOR, 1), email="old@acme.com", role=MEMBER
        )
        user.password_hash = _scrypt_hash("old-password")
    with ContractClient(app) as client:
        # When a wrong password is tried, the hash stays; the right one signs in
        wrong = client.post("/ui/login", data={"email": "old@acme.com", "password": "nope"})
        assert wrong.status_code == 401
        with db.transaction(write=False) as session:
            assert users_service.load(session, pid, "old@acme.com").password_hash == (
                _scrypt_hash("old-password")
            )
        right = client.post("/ui/login", data={"email": "old@acme.com", "password": "old-password"})
        assert right.status_code == 303
    # Then the stored hash is argon2id, and it still signs in
    with db.transaction(write=False) as session:
        stored = users_service.load(session, pid, "old@acme.com").password_hash
    assert stored is not None and stored.startswith("$argon2id$")
    with ContractClient(app) as again:
        signed = again.post("/ui/login", data={"email": "old@acme.com", "password": "old-password"})
        assert signed.status_code == 303
