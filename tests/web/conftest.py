"""Browser tests of the web console: the real app served by uvicorn in a thread over a fresh
database of the suite's kind, driven by Playwright through Debian's Chromium (never a downloaded
browser), with axe run on every page and browser console errors and failed responses recorded.

Pages do not depend on the database much: most browser tests are ``sqlite_only``, and the
PostgreSQL suite runs a smoke set (signing in, a gate and its rule, keys, events to a metric).
"""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from axe_playwright_python.base import AXE_SCRIPT, AxeResults
from fastapi import FastAPI
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Locator,
    Page,
    Response,
    expect,
    sync_playwright,
)

from lockgate.app import create_app
from lockgate.domains.projects.service import SYSTEM_ACTOR, Bootstrap, bootstrap
from lockgate.domains.users import service as users_service
from lockgate.domains.users.permissions import ADMIN, READ_ONLY
from lockgate.kit.actor import Actor, Change
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.migrations import upgrade
from tests.conftest import copied_database_url, new_database_url
from tests.contract.client import ContractClient
from tests.http import TLS
from tests.processes import ANSWER_SECONDS
from tests.web.signed import PASSWORD, Signed
from tests.web.signed import sign_in as signed_in

CHROMIUM = os.environ.get("LOCKGATE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OWNER_EMAIL = "owner@acme.com"
READER_EMAIL = "reader@acme.com"
READER_PASSWORD = "reader-password-123"
API_VERSION = {"STATSIG-API-VERSION": "20240601"}
# LOCKGATE_SCREENSHOTS=1 makes the browser tests write the README's screenshots.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def save_screenshot(page: Page, name: str, part: Locator | None = None) -> None:
    """Save ``docs/screenshots/<name>`` of the page (or of ``part``) when asked to."""
    if os.environ.get("LOCKGATE_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if part is None:
        page.screenshot(path=SCREENSHOTS / name, full_page=True)
    else:
        part.screenshot(path=SCREENSHOTS / name)


@dataclass
class Served:
    url: str
    project: Bootstrap
    owner_password: str
    http: httpx.Client  # one client (and connection) for the test's requests to the server
    app: FastAPI  # the served app: its Pulse worker does not poll (``run_pending`` runs it)
    warehouse_files_dir: Path  # where the server's DuckDB and chDB connections may point

    def console(self) -> httpx.Client:
        """The Console API of the same server, as an automation would call it."""
        headers = {"STATSIG-API-KEY": self.project.console_key, **API_VERSION}
        return httpx.Client(
            base_url=f"{self.url}/console/v1", headers=headers, timeout=ANSWER_SECONDS, verify=TLS
        )

    def check_gate(self, gate: str, user: Mapping[str, object]) -> dict[str, object]:
        response = self.http.post(
            f"{self.url}/v1/check_gate",
            headers={"STATSIG-API-KEY": self.project.server_key},
            json={"gateName": gate, "user": user},
        )
        response.raise_for_status()
        result: dict[str, object] = response.json()
        return result


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _settings(data_dir: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        run_migrations_on_start=False,
        pulse_worker_interval_ms=0,
        rate_limit_per_10s=0,
        rate_limit_per_15min=0,
    )


@dataclass(frozen=True)
class Template:
    """A migrated, bootstrapped database that each browser test copies."""

    url: str
    project: Bootstrap


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    """The migrations and the owner's and reader's argon2 hashes, once per run: each test gets
    a copy of the same database, so no test sees another's changes."""
    directory = tmp_path_factory.mktemp("web-template")
    with new_database_url(directory) as url:
        yield _template(_settings(directory, url))


def _template(settings: Settings) -> Template:
    database = Database(settings)
    upgrade(database.engine)
    with database.transaction() as session:
        created = bootstrap(session, 1_780_000_000_000, owner_email=OWNER_EMAIL)
        assert created is not None and created.owner_password is not None
        users_service.create(
            session,
            Change(created.project.id, Actor(id="test", name="test"), 1_780_000_000_000),
            email=READER_EMAIL,
            role=READ_ONLY,
            password=READER_PASSWORD,
        )
    database.dispose()
    assert settings.database_url is not None
    return Template(settings.database_url, created)


@pytest.fixture()
def served(tmp_path: Path, template: Template) -> Iterator[Served]:
    with copied_database_url(template.url, tmp_path) as url:
        yield from _serve(_settings(tmp_path, url), template)


def _serve(settings: Settings, template: Template) -> Iterator[Served]:
    database = Database(settings)
    created = template.project
    assert created.owner_password is not None
    port = _free_port()
    app = create_app(settings, database=database)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        log_config=None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    started = threading.Event()
    while thread.is_alive() and not started.wait(0.02):
        if server.started:
            started.set()
    assert server.started, "the server did not start"
    http = httpx.Client(timeout=ANSWER_SECONDS, verify=TLS)
    try:
        yield Served(
            f"http://127.0.0.1:{port}",
            created,
            created.owner_password,
            http,
            app,
            settings.resolved_warehouse_files_dir,
        )
    finally:
        http.close()
        server.should_exit = True
        thread.join(timeout=10)
        database.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


# axe-core's own entry point, reporting violations only (as axe_playwright_python's Axe.run
# does, which would send the whole axe script with every check).
AXE_RUN = "axe.run(document, {resultTypes: ['violations']})"


@dataclass
class Console:
    """One browser tab on the console, with what went wrong in it recorded."""

    page: Page
    served: Served
    errors: list[str] = field(default_factory=list)
    expected_statuses: set[int] = field(default_factory=set)

    def go(self, path: str) -> None:
        self.page.goto(f"{self.served.url}{path}")
        self.check()

    def check(self) -> None:
        """Every page, once loaded: exactly one h1, a title, and zero axe violations (axe is
        in every document of the tab's context, put there by ``console``)."""
        # A click that navigates returns once the next page starts loading: the checks wait
        # for it to finish, or they could read a page still arriving on a loaded machine.
        self.page.wait_for_load_state("load")
        expect(self.page.locator("h1")).to_have_count(1)
        assert self.page.title().endswith("· Lockgate")
        results = AxeResults(self.page.evaluate(AXE_RUN))
        assert results.violations_count == 0, results.generate_report()

    def sign_in(self, email: str = OWNER_EMAIL, password: str | None = None) -> None:
        self.go("/ui/login")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(password or self.served.owner_password)
        self.page.get_by_role("button", name="Sign in").click()
        self.check()


@pytest.fixture()
def console(browser: Browser, served: Served) -> Iterator[Console]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # axe-core, once for the context: the browser runs it in each document the tab loads
    context.add_init_script(script=AXE_SCRIPT)
    page = context.new_page()
    tab = Console(page, served)

    def on_console(message: ConsoleMessage) -> None:
        # A failed load is also a response, judged by on_response (some are expected).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            tab.errors.append(f"console: {message.text}")

    def on_response(response: Response) -> None:
        if response.status >= 400 and response.status not in tab.expected_statuses:
            tab.errors.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("response", on_response)
    yield tab
    context.close()
    assert tab.errors == []


# --- in process, without a browser: an Admin and a Read Only member, and the Console API ------


@pytest.fixture()
def members(db: Database, project: Bootstrap, clock: ManualClock) -> None:
    with db.transaction() as session:
        change = Change(project.project.id, Actor(id="test", name="test"), clock.now_ms())
        users_service.create(session, change, email="admin@acme.com", role=ADMIN, password=PASSWORD)
        users_service.create(
            session, change, email="reader@acme.com", role=READ_ONLY, password=PASSWORD
        )


@pytest.fixture()
def admin(app: FastAPI, members: None) -> Iterator[Signed]:
    yield from signed_in(app, "admin@acme.com")


@pytest.fixture()
def reader(app: FastAPI, members: None) -> Iterator[Signed]:
    yield from signed_in(app, "reader@acme.com")


# The settings pages without a browser: members of any role signed in on the app in process.
SignIn = Callable[[str, str], tuple[ContractClient, str]]


@pytest.fixture()
def sign_in(app: FastAPI, db: Database, project: Bootstrap, clock: ManualClock) -> Iterator[SignIn]:
    """Add a member with ``role`` and sign them in; returns their client and CSRF token."""
    with ExitStack() as stack:

        def as_member(email: str, role: str) -> tuple[ContractClient, str]:
            with db.transaction() as session:
                change = Change(project.project.id, SYSTEM_ACTOR, clock.now_ms())
                users_service.create(session, change, email=email, role=role, password=PASSWORD)
            client = stack.enter_context(ContractClient(app))
            signed = client.post("/ui/login", data={"email": email, "password": PASSWORD})
            assert signed.status_code == 303
            page = client.get("/ui/settings/tags").text
            token = re.search(r'name="csrf" value="([^"]+)"', page)
            assert token is not None
            return client, token.group(1)

        yield as_member


@pytest.fixture()
def api(app: FastAPI, project: Bootstrap) -> Iterator[ContractClient]:
    with ContractClient(app, key=project.console_key) as client:
        client.headers.update(API_VERSION)
        yield client


def settings_state(console: ContractClient) -> dict[str, Any]:
    """Everything the settings pages can change, read through the Console API."""
    paths = (
        "environments",
        "tags",
        "target_app",
        "users",
        "settings/project",
        "settings/reviews",
        "settings/roles",
        "settings/teams",
        "users/teams",
        "roles",
        "unit_id_types",
        "gates",
        "dynamic_configs",
        "experiments",
    )
    state = {path: console.get(f"/console/v1/{path}").json()["data"] for path in paths}
    state["audit"] = console.get("/console/v1/audit_logs").json()["pagination"]["totalItems"]
    return state
