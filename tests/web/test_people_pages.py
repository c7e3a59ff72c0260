"""Teams, roles and unit ID types pages, target app assignment and the user lookup, without a
browser, on both databases: what a page does is what the Console API does (same entity, same
audit entry, same refusal), and the lookup finds units of any type, says what properties they
carried and pages its evaluations."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.users.permissions import ADMIN, MEMBER
from tests.contract.client import ContractClient
from tests.web.conftest import SignIn, settings_state

TEAM_FORM = {
    "name": "Growth",
    "description": "Grows things",
    "members": "lead@acme.com\nother@acme.com",
    "admins": "lead@acme.com",
    "change_team_configs": "team_only",
    "review_approval": "admin_only",
    "default_gate_metrics": "revenue::sum",
    "default_experiment_primary_metrics": "purchase::event_count\nrevenue::sum",
    "default_experiment_secondary_metrics": "",
    "default_holdout_metrics": "",
    "require_reviews": "on",
    "require_gate_templates": "on",
}
# The same team as the Console API is sent it.
TEAM_BODY: dict[str, Any] = {
    "name": "Growth",
    "description": "Grows things",
    "members": ["lead@acme.com", "other@acme.com"],
    "admins": ["lead@acme.com"],
    "changeTeamConfigs": "team_only",
    "reviewApproval": "admin_only",
    "defaultGateMetrics": [{"name": "revenue", "type": "sum"}],
    "defaultExperimentPrimaryMetrics": [
        {"name": "purchase", "type": "event_count"},
        {"name": "revenue", "type": "sum"},
    ],
    "defaultExperimentSecondaryMetrics": [],
    "defaultHoldoutMetrics": [],
    "requireReviews": True,
    "requireGateTemplates": True,
    "requireExperimentTemplates": False,
    "requireDynamicConfigTemplates": False,
}


def _data(api: ContractClient, path: str) -> Any:
    response = api.get(f"/console/v1/{path}")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _audit(api: ContractClient, action: str) -> list[tuple[str, str]]:
    """(action, change log) of the audit entries whose action names ``action``, oldest first."""
    entries = _data(api, "audit_logs?limit=100")
    return [
        (e["actionType"], e["changeLog"]) for e in reversed(entries) if action in e["actionType"]
    ]


def _alert(text: str) -> str:
    found = re.search(r'<p class="error" role="alert">([^<]*)</p>', text)
    assert found is not None, text[:500]
    return html.unescape(found.group(1))


def _without_id(team: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in team.items() if k != "id"}


@pytest.fixture()
def admin(api: ContractClient, sign_in: SignIn) -> tuple[ContractClient, str]:
    sign_in("lead@acme.com", MEMBER)
    sign_in("other@acme.com", MEMBER)
    return sign_in("admin@acme.com", ADMIN)


def test_team_page__create_edit_delete__as_the_console_api(
    api: ContractClient, admin: tuple[ContractClient, str]
) -> None:
    client, csrf = admin
    app_id = api.post("/console/v1/target_app", json={"name": "ios", "description": ""}).json()[
        "data"
    ]["id"]
    # Given the same team created through the Console API (then deleted, to free its name)
    through_api = api.post(
        "/console/v1/users/teams", json={**TEAM_BODY, "defaultTargetApplications": [app_id]}
    ).json()["data"]
    assert api.delete(f"/console/v1/users/teams/{through_api['id']}").status_code == 200
    # When the page creates it
    form = {**TEAM_FORM, "default_target_applications": app_id, "csrf": csrf}
    created = client.post("/ui/settings/teams", data=form)
    assert created.status_code == 303 and created.headers["location"].endswith("?done=created")
    # Then it is the team the API made, audited the same
    (team,) = _data(api, "users/teams")
    assert _without_id(team) == _without_id(through_api)
    assert (
        _audit(api, "update_team")[-1]
        == _audit(api, "update_team")[0]
        == ("update_team", "Created team")
    )
    page = client.get("/ui/settings/teams").text
    assert "Growth" in page and "lead@acme.com, other@acme.com" in page
    # When the team page renames it and drops a member
    edit = {**form, "name": "Growth 2", "members": "lead@acme.com"}
    saved = client.post(f"/ui/settings/teams/{team['id']}", data=edit)
    assert saved.status_code == 303
    read = _data(api, f"users/teams/{team['id']}")
    assert read["name"] == "Growth 2"
    assert [m["email"] for m in read["members"]] == ["lead@acme.com"]
    assert _audit(api, "update_team")[-1] == ("update_team_settings", "Updated team settings")
    edit_page = client.get(f"/ui/settings/teams/{team['id']}").text
    assert "revenue::sum" in edit_page and 'value="Growth 2"' in edit_page
    # When the page deletes it, it is gone as through the API
    deleted = client.post(f"/ui/settings/teams/{team['id']}/delete", data={"csrf": csrf})
    assert deleted.status_code == 303
    assert _data(api, "users/teams") == []
    assert api.get(f"/console/v1/users/teams/{team['id']}").status_code == 404
    assert _audit(api, "update_team")[-1] == ("update_team", "Deleted team")


def test_team_page__refused_edit__form_keeps_what_was_typed(
    api: ContractClient, admin: tuple[ContractClient, str]
) -> None:
    client, csrf = admin
    client.post("/ui/settings/teams", data={**TEAM_FORM, "csrf": csrf})
    (team,) = _data(api, "users/teams")
    before = settings_state(api)
    typed = {**TEAM_FORM, "members": "stranger@acme.com", "default_gate_metrics": "x::y"}
    refused = client.post(f"/ui/settings/teams/{team['id']}", data={**typed, "csrf": csrf})
    assert refused.status_code == 422
    assert "members: stranger@acme.com is not a member of the project" in _alert(refused.text)
    assert "stranger@acme.com" in refused.text and "x::y" in refused.text
    assert settings_state(api) == before


def test_team_page__member_without_create_teams__403_and_no_team(
    api: ContractClient, sign_in: SignIn
) -> None:
    client, csrf = sign_in("member@acme.com", MEMBER)
    page = client.get("/ui/settings/teams").text
    assert "lacks the create_teams permission" in page
    response = client.post("/ui/settings/teams", data={**TEAM_FORM, "csrf": csrf})
    assert response.status_code == 403
    assert _data(api, "users/teams") == []


def test_team_page__custom_role_with_create_teams__may_create(
    api: ContractClient, sign_in: SignIn
) -> None:
    # Given a custom role holding only create_teams (as the Console API checks it)
    api.post("/console/v1/roles", json={"name": "Organizer", "permissions": {"create_teams": True}})
    client, csrf = sign_in("organizer@acme.com", "Organizer")
    response = client.post("/ui/settings/teams", data={"name": "Ops", "csrf": csrf})
    assert response.status_code == 303
    assert [t["name"] for t in _data(api, "users/teams")] == ["Ops"]


def test_roles_page__create_edit_delete__as_the_console_api(
    api: ContractClient, admin: tuple[ContractClient, str]
) -> None:
    client, csrf = admin
    page = client.get("/ui/settings/roles").text
    for built_in in ("Owner", "Admin", "Member", "Read Only"):
        assert f"<td>{built_in}</td><td>Built in</td>" in page
    # When the page creates a role with two permissions
    form = {"name": "Support", "permissions": ["create_configs", "approve_reviews"], "csrf": csrf}
    assert client.post("/ui/settings/roles", data=form).status_code == 303
    # Then the API reads the role it would have made from the same permissions
    api.post(
        "/console/v1/roles",
        json={"name": "Twin", "permissions": {"create_configs": True, "approve_reviews": True}},
    )
    support = _data(api, "roles/Support")
    assert support["permissions"] == _data(api, "roles/Twin")["permissions"]
    assert _audit(api, "_user_role")[0] == ("upsert_user_role", "Created role")
    # When the page edits it: boxes not ticked are permissions taken away
    edit = {"permissions": ["launch_to_production"], "csrf": csrf}
    assert client.post("/ui/settings/roles/Support", data=edit).status_code == 303
    held = [k for k, v in _data(api, "roles/Support")["permissions"].items() if v]
    assert held == ["launch_to_production"]
    assert _audit(api, "_user_role")[-1] == ("upsert_user_role", "Updated role")
    # When a member holds it, deleting is refused with the API's message
    assert api.post("/console/v1/users/other@acme.com", json={"role": "Support"}).status_code == 200
    refused_api = api.delete("/console/v1/roles/Support")
    before = settings_state(api)
    refused = client.post("/ui/settings/roles/Support/delete", data={"csrf": csrf})
    assert refused.status_code == 422
    assert _alert(refused.text) == refused_api.json()["message"]
    assert settings_state(api) == before
    # When nobody holds it, the page deletes it
    api.post("/console/v1/users/other@acme.com", json={"role": MEMBER})
    assert client.post("/ui/settings/roles/Support/delete", data={"csrf": csrf}).status_code == 303
    assert api.get("/console/v1/roles/Support").status_code == 404
    assert _audit(api, "_user_role")[-1] == ("delete_user_role", "Deleted role")


def test_unit_id_types_page__create_edit_delete__as_the_console_api(
    api: ContractClient, admin: tuple[ContractClient, str]
) -> None:
    client, csrf = admin
    form = {"name": "companyID", "description": "Companies", "csrf": csrf}
    assert client.post("/ui/settings/unit_id_types", data=form).status_code == 303
    assert _data(api, "unit_id_types") == [{"name": "companyID", "description": "Companies"}]
    edit = {"description": "Paying companies", "csrf": csrf}
    assert client.post("/ui/settings/unit_id_types/companyID", data=edit).status_code == 303
    assert _data(api, "unit_id_types/companyID")["description"] == "Paying companies"
    # A type a gate names cannot go: the page says what the API says
    api.post("/console/v1/gates", json={"name": "b2b", "idType": "companyID"})
    refused_api = api.delete("/console/v1/unit_id_types/companyID")
    assert refused_api.status_code == 400
    before = settings_state(api)
    refused = client.post("/ui/settings/unit_id_types/companyID/delete", data={"csrf": csrf})
    assert refused.status_code == 422
    assert _alert(refused.text) == refused_api.json()["message"]
    assert settings_state(api) == before
    api.delete("/console/v1/gates/b2b")
    deleted = client.post("/ui/settings/unit_id_types/companyID/delete", data={"csrf": csrf})
    assert deleted.status_code == 303
    assert _data(api, "unit_id_types") == []
    assert [a for a, _ in _audit(api, "company_ID_type")] == [
        "company_ID_type_add",
        "company_ID_type_edit",
        "company_ID_type_delete",
    ]


@pytest.mark.parametrize(
    ("kind", "path", "create"),
    [
        ("gates", "gates", {"name": "new_flow"}),
        ("dynamic_configs", "dynamic_configs", {"name": "new_flow"}),
        ("experiments", "experiments", {"name": "new_flow", "hypothesis": "h"}),
    ],
)
def test_target_apps_page__assign_each_kind__entity_carries_the_app(
    api: ContractClient,
    admin: tuple[ContractClient, str],
    kind: str,
    path: str,
    create: dict[str, str],
) -> None:
    client, csrf = admin
    assert api.post(f"/console/v1/{path}", json=create).status_code in (200, 201)
    app = api.post("/console/v1/target_app", json={"name": "ios", "description": ""}).json()
    app_id = app["data"]["id"]
    form = {"target_app": app_id, "kind": kind, "entity": "new_flow", "csrf": csrf}
    response = client.post("/ui/settings/target_apps/assign", data=form)
    assert response.status_code == 303
    assert _data(api, f"{path}/new_flow")["targetApps"] == [app_id]


# The user lookup


def _log(app: FastAPI, project: Bootstrap, events: list[dict[str, Any]]) -> None:
    with ContractClient(app, project.server_key) as sdk:
        response = sdk.post("/v1/rgstr", json={"events": events})
        assert response.status_code in (200, 202), response.text


def _lookup(client: ContractClient, **params: str) -> str:
    response = client.get("/ui/users", params=params)
    assert response.status_code == 200, response.text[:500]
    return response.text


def test_user_lookup__custom_unit_type__its_exposures_events_and_properties(
    app: FastAPI, api: ContractClient, project: Bootstrap, admin: tuple[ContractClient, str]
) -> None:
    client, _ = admin
    api.post("/console/v1/unit_id_types", json={"name": "companyID"})
    api.post("/console/v1/gates", json={"name": "b2b", "idType": "companyID"})
    acme = {"userID": "u1", "country": "FR", "customIDs": {"companyID": "acme"}}
    _log(
        app,
        project,
        [
            {"eventName": "buy", "user": {**acme, "country": "DE"}, "time": 1_000, "value": 3},
            {"eventName": "buy", "user": {**acme, "custom": {"plan": "pro"}}, "time": 2_000},
            {
                "eventName": "statsig::gate_exposure",
                "user": acme,
                "time": 1_500,
                "metadata": {"gate": "b2b", "gateValue": "false", "ruleID": "default"},
            },
            {"eventName": "buy", "user": {"customIDs": {"companyID": "other"}}, "time": 3_000},
        ],
    )
    page = _lookup(client, id="acme", type="companyID")
    exposures = page[page.index('id="lookup-exposures"') : page.index('id="lookup-events-h"')]
    assert "gate b2b" in exposures
    events = page[page.index('id="lookup-events"') :]
    assert events.count("<td>buy</td>") == 2
    properties = dict(
        re.findall(
            r'<tr data-name="([^"]+)"><th scope="row" class="mono">[^<]*</th>'
            r'<td class="mono">([^<]*)</td>',
            page,
        )
    )
    # The latest value of each field (the event at 2,000 ms said FR, the one at 1,000 ms DE)
    assert properties == {
        "country": "FR",
        "custom.plan": "pro",
        "customIDs.companyID": "acme",
        "userID": "u1",
    }
    assert 'data-name="b2b"' in page


def test_user_lookup__unknown_kind__422_naming_it(admin: tuple[ContractClient, str]) -> None:
    client, _ = admin
    response = client.get("/ui/users", params={"id": "u1", "kind": "segments"})
    assert response.status_code == 422
    assert _alert(response.text) == "Unknown kind 'segments'; choose gates, configs or experiments."


def _names(page: str, table: str) -> list[str]:
    start = page.index(f'id="{table}"')
    body = page[start : page.index("</table>", start)]
    return re.findall(r'<tr data-name="([^"]+)">', body)


def test_user_lookup__many_entities__paged_and_filtered(
    api: ContractClient, admin: tuple[ContractClient, str]
) -> None:
    client, _ = admin
    for n in range(150):
        api.post("/console/v1/gates", json={"name": f"gate_{n:03d}"})
    for n in range(3):
        api.post("/console/v1/dynamic_configs", json={"name": f"config_{n}"})
    # Page 1: the first hundred gates; page 2: the other fifty, then the configs
    first = _lookup(client, id="u1")
    assert _names(first, "lookup-gates") == [f"gate_{n:03d}" for n in range(100)]
    assert _names(first, "lookup-configs") == []
    assert "Feature gates (150)" in first and "Page 1 of 2 (153 in all)" in first
    second = _lookup(client, id="u1", page="2")
    assert _names(second, "lookup-gates") == [f"gate_{n:03d}" for n in range(100, 150)]
    assert _names(second, "lookup-configs") == ["config_0", "config_1", "config_2"]
    # A kind and a name filter
    configs = _lookup(client, id="u1", kind="configs")
    assert 'id="lookup-gates"' not in configs
    assert _names(configs, "lookup-configs") == ["config_0", "config_1", "config_2"]
    named = _lookup(client, id="u1", name="GATE_14")
    assert _names(named, "lookup-gates") == [f"gate_14{n}" for n in range(10)]
    assert "10 in all" in named


@pytest.mark.parametrize(
    "path",
    [
        "/ui/settings/teams",
        "/ui/settings/roles",
        "/ui/settings/unit_id_types",
        "/ui/settings/target_apps/assign",
    ],
)
def test_people_post__no_csrf_token__403_and_nothing_changed(
    api: ContractClient, admin: tuple[ContractClient, str], path: str
) -> None:
    client, _ = admin
    before = settings_state(api)
    response = client.post(path, data={"name": "Forged", "entity": "x", "target_app": "x"})
    assert response.status_code == 403 and "CSRF token" in response.text
    assert settings_state(api) == before
