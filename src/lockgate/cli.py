"""The ``lockgate`` command: serve, manage keys, migrate. It calls the same services as the API."""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from lockgate.domains.keys import repository as keys_repository
from lockgate.domains.keys import service as keys_service
from lockgate.domains.projects import repository as projects_repository
from lockgate.domains.projects.service import SYSTEM_ACTOR, bootstrap
from lockgate.domains.reviews import settings as review_settings
from lockgate.domains.users import access as users_access
from lockgate.domains.users import service as users_service
from lockgate.errors import LockgateError
from lockgate.kit.actor import Change
from lockgate.kit.clock import SystemClock
from lockgate.kit.db import Database
from lockgate.kit.passwords import use_memory_cost
from lockgate.kit.processes import (
    BACKLOG,
    Supervisor,
    balances_connections,
    bound_socket,
    default_worker_count,
    listener_beside,
)
from lockgate.kit.settings import Settings
from lockgate.logs import configure_logging
from lockgate.storage.migrations import current_revision, upgrade
from lockgate.storage.models import Project

logger = logging.getLogger(__name__)

KEY_TYPES = {"console": "CONSOLE", "server": "SERVER", "client": "CLIENT"}


def _settings(**overrides: Any) -> Settings:
    """The settings (environment, then the command's options), with logging at their level."""
    settings = Settings(**overrides)
    configure_logging(settings.log_level)
    use_memory_cost(settings.password_hash_memory_kib)
    return settings


def _database(settings: Settings) -> Database:
    database = Database(settings)
    upgrade(database.engine)
    return database


@click.group()
@click.version_option(package_name="lockgate")
def main() -> None:
    """Lockgate: a self-hosted experimentation platform that speaks Statsig's protocols."""


@main.command()
@click.option("--host", default=None, help="Address to bind (default: LOCKGATE_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default: LOCKGATE_PORT or 8000).")
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(0, 256),
    help="Worker processes serving the port (default: LOCKGATE_WORKERS, else one per core).",
)
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Start the server. A fresh data directory gets a company, a project and three keys.

    The port is bound first: a busy port ends the command with an error before anything is
    created, and the keys and the address are printed once the server accepts connections.
    With several workers, this process binds, migrates and bootstraps once, and forks the
    workers that serve the port (docs/operations.md §Several workers)."""
    # Imported here, not at the top, so that `keys` and `db` start without loading the web
    # stack (the HTTP servers, FastAPI and every route module).
    from lockgate import app, serving
    from lockgate.cores import evaluation

    overrides = {
        k: v for k, v in {"host": host, "port": port, "workers": workers}.items() if v is not None
    }
    settings = _settings(**overrides)
    logger.info("settings: %s", settings.summary())
    # Chosen at import by LOCKGATE_EVALUATOR (docs/sdk.md §Compiled evaluator), not a setting.
    logger.info("evaluator: %s", evaluation.BUILD)
    count = settings.workers or default_worker_count()
    # Several workers on Linux: this process only holds the port (bound, not listening) and
    # each worker listens on a socket of its own beside it, so that the kernel spreads the
    # connections over them (kit.processes.listener_beside); elsewhere they share this one.
    own_sockets = count > 1 and balances_connections()
    listener = _listen(settings.host, settings.port, listening=not own_sockets)
    with listener:
        database = _database(settings)

        def announce() -> None:
            bound_host, bound_port = listener.getsockname()[:2]
            address = f"[{bound_host}]" if ":" in bound_host else bound_host
            click.echo(f"Lockgate listening on http://{address}:{bound_port}", err=True)

        # Migrated above, once: the app's start-up need not look again.
        served = app.create_app(
            settings.model_copy(update={"run_migrations_on_start": False}), database=database
        )
        if count == 1:

            def started() -> None:
                _bootstrap(database, settings.owner_email)
                announce()

            serving.serve(settings.server, served, listener, settings.log_level, started)
            return
        # The socket already queues connections: bootstrap before any worker answers one, so
        # that a client never meets a server without its project.
        _bootstrap(database, settings.owner_email)
        logger.info("starting %d workers", count)
        # No connection of this process may cross into the workers: each opens its own.
        database.dispose()

        def work(ready: Callable[[], None]) -> None:
            database.engine.dispose(close=False)  # drop what was inherited, leave it open
            sock = listener
            if own_sockets:
                sock = listener_beside(listener)
                listener.close()  # this worker's copy; the port stays held by the parent
            serving.serve(settings.server, served, sock, settings.log_level, ready)

        status = Supervisor(count, work).run(announce)
        if status:
            raise click.ClickException("a worker failed to start; see the log above")


def _listen(host: str, port: int, *, listening: bool = True) -> socket.socket:
    """A socket bound to ``host``:``port`` and listening, or the reason it cannot be; with
    ``listening=False``, bound with ``SO_REUSEPORT`` and not listening, for the workers'
    sockets to join."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        if listening:
            return socket.create_server((host, port), family=family, backlog=BACKLOG)
        return bound_socket(family, (host, port), reuse_port=True)
    except OSError as problem:
        # create_server words a failed bind at length; the errno says it plainly. Name
        # lookup errors (socket.gaierror) have negative numbers and their own text.
        number = problem.errno or 0
        reason = os.strerror(number) if number > 0 else problem.strerror or str(problem)
        raise click.ClickException(f"cannot listen on {host}:{port}: {reason}") from None


def _bootstrap(database: Database, owner_email: str) -> None:
    """On a fresh database, create the default project and its Owner, and print the keys and
    the Owner's sign-in, once."""
    with database.transaction() as session:
        created = bootstrap(session, SystemClock().now_ms(), owner_email=owner_email)
    if created is None:
        return
    logger.info("created project %s with keys %s", created.project.id, ", ".join(created.key_ids))
    click.echo("Created the default project. These keys are shown once; keep them safe:")
    click.echo(f"  project:         {created.project.id}")
    click.echo(f"  console API key: {created.console_key}")
    click.echo(f"  server secret:   {created.server_key}")
    click.echo(f"  client key:      {created.client_key}")
    click.echo(
        "Sign in to the web console as the project's Owner"
        " (a new password: lockgate users set-password):"
    )
    click.echo(f"  email:           {created.owner_email}")
    click.echo(f"  password:        {created.owner_password}")


@main.group()
def keys() -> None:
    """Create and list API keys."""


def _project(database: Database, name: str | None) -> Project:
    with database.transaction(write=False) as session:
        project = (
            projects_repository.find_project(session, name)
            if name
            else projects_repository.first_project(session)
        )
    if project is None:
        raise click.ClickException(
            f"no project {name!r}" if name else "no project yet: run `lockgate serve` once first"
        )
    return project


@keys.command("create")
@click.option("--type", "key_type", type=click.Choice(sorted(KEY_TYPES)), required=True)
@click.option("--scope", "scopes", multiple=True, help="A scope; repeat for several.")
@click.option("--description", default="", help="What the key is for.")
@click.option("--project", default=None, help="Project id or name (default: the first project).")
@click.option(
    "--user",
    "user_email",
    default=None,
    help="Email of the member a personal console key acts as (scope personal_read_write or "
    "personal_read_only).",
)
def keys_create(
    key_type: str,
    scopes: tuple[str, ...],
    description: str,
    project: str | None,
    user_email: str | None,
) -> None:
    """Create a key and print it alone on stdout."""
    settings = _settings()
    database = _database(settings)
    target = _project(database, project)
    try:
        with database.transaction() as session:
            user_id = None
            if user_email is not None:
                member = users_access.member_by_email(session, target.id, user_email)
                if member is None:
                    raise click.ClickException(f"no member {user_email} in the project")
                user_id = member.id
            _, secret = keys_service.issue(
                session,
                project_id=target.id,
                actor=SYSTEM_ACTOR,
                now_ms=SystemClock().now_ms(),
                key_type=KEY_TYPES[key_type],
                description=description or f"{key_type} key created by the CLI",
                scopes=list(scopes),
                user_id=user_id,
            )
    except LockgateError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(secret)


@keys.command("list")
@click.option("--project", default=None, help="Project id or name (default: the first project).")
def keys_list(project: str | None) -> None:
    """List keys (public ids only; secrets are never stored)."""
    settings = _settings()
    database = _database(settings)
    target = _project(database, project)
    with database.transaction(write=False) as session:
        rows, _ = keys_repository.list_keys(
            session, target.id, target_app=None, environment=None, offset=0, limit=10_000
        )
        for key in rows:
            scopes = ",".join(key.scopes or []) or "-"
            click.echo(f"{key.id}\t{key.type}\t{key.status}\t{scopes}\t{key.description}")


@main.group("settings")
def settings_group() -> None:
    """Project settings the Console API does not expose: the review webhooks."""


def _read_secret(from_stdin: bool) -> str | None:
    """A secret read from stdin (first line), so it never shows in the process list."""
    if not from_stdin:
        return None
    return sys.stdin.readline().strip()


def _set_webhook(project: str | None, apply: Any) -> None:
    settings = _settings()
    database = _database(settings)
    try:
        target = _project(database, project)
        with database.transaction() as session:
            apply(session, Change(target.id, SYSTEM_ACTOR, SystemClock().now_ms()))
            summary = review_settings.webhook_summary(session, target.id)
    except LockgateError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        database.dispose()
    for name, value in summary.items():
        click.echo(f"{name}: {value if value is not None else '-'}")


@settings_group.command("precommit-webhook")
@click.option("--url", default=None, help="Where committed changes are POSTed ('' clears it).")
@click.option("--key-stdin", is_flag=True, help="Read the x-statsig-webhook-key from stdin.")
@click.option("--initial-message", default=None, help="The validation message shown at first.")
@click.option("--project", default=None, help="Project id or name (default: the first project).")
def settings_precommit_webhook(
    url: str | None, key_stdin: bool, initial_message: str | None, project: str | None
) -> None:
    """Set the pre-commit webhook that validates committed reviews, and print the result."""
    key = _read_secret(key_stdin)
    _set_webhook(
        project,
        lambda session, change: review_settings.set_precommit_webhook(
            session, change, url=url, key=key, initial_message=initial_message
        ),
    )


@settings_group.command("notification-webhook")
@click.option("--url", default=None, help="Where review notifications are POSTed ('' clears).")
@click.option("--secret-stdin", is_flag=True, help="Read the signing secret from stdin.")
@click.option("--project", default=None, help="Project id or name (default: the first project).")
def settings_notification_webhook(url: str | None, secret_stdin: bool, project: str | None) -> None:
    """Set the webhook that receives review notifications, signed with the secret."""
    secret = _read_secret(secret_stdin)
    _set_webhook(
        project,
        lambda session, change: review_settings.set_notification_webhook(
            session, change, url=url, secret=secret
        ),
    )


@main.group()
def users() -> None:
    """Create and list the members of a project."""


@users.command("create")
@click.option("--email", required=True, help="The member's email (their sign-in name).")
@click.option("--role", required=True, help="Admin, Member, Read Only or a custom role.")
@click.option("--first-name", default="", help="First name.")
@click.option("--last-name", default="", help="Last name.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the sign-in password from stdin instead of generating one.",
)
@click.option("--project", default=None, help="Project id or name (default: the first project).")
def users_create(
    email: str,
    role: str,
    first_name: str,
    last_name: str,
    password_stdin: bool,
    project: str | None,
) -> None:
    """Add a member and print their sign-in password once (unless read from stdin)."""
    settings = _settings()
    database = _database(settings)
    target = _project(database, project)
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    if password_stdin and not password:
        raise click.ClickException("no password on stdin")
    try:
        with database.transaction() as session:
            change = Change(target.id, SYSTEM_ACTOR, SystemClock().now_ms())
            user, clear = users_service.create(
                session,
                change,
                email=email,
                role=role,
                first_name=first_name,
                last_name=last_name,
                password=password,
            )
            shown_email, shown_role = user.email, user.role
    except LockgateError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"created {shown_email} ({shown_role})", err=True)
    if not password_stdin:
        click.echo(clear)


@users.command("set-password")
@click.option("--email", required=True, help="The member's email.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the new password from stdin instead of generating one.",
)
@click.option("--project", default=None, help="Project id or name (default: the first project).")
def users_set_password(email: str, password_stdin: bool, project: str | None) -> None:
    """Give a member a new sign-in password and print it once (unless read from stdin)."""
    settings = _settings()
    database = _database(settings)
    target = _project(database, project)
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    if password_stdin and not password:
        raise click.ClickException("no password on stdin")
    try:
        with database.transaction() as session:
            clear = users_service.set_password(session, target.id, email, password)
    except LockgateError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"new password set for {email}", err=True)
    if not password_stdin:
        click.echo(clear)


@users.command("list")
@click.option("--project", default=None, help="Project id or name (default: the first project).")
def users_list(project: str | None) -> None:
    """List members: email, role, first and last name."""
    settings = _settings()
    database = _database(settings)
    target = _project(database, project)
    with database.transaction(write=False) as session:
        rows, _ = users_service.list_(session, target.id)
    for row in rows:
        click.echo(f"{row['email']}\t{row['role']}\t{row['firstName']}\t{row['lastName']}")


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration and say which."""
    settings = Settings()
    database = Database(settings)
    try:
        applied = upgrade(database.engine)
        revision = current_revision(database.engine)
    finally:
        database.dispose()
    for migration in applied:
        click.echo(f"applied migration {migration}")
    if applied:
        click.echo(f"database upgraded to revision {revision}")
    else:
        click.echo(f"database is current (revision {revision}); nothing to apply")


@db.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def db_backup(path: Path) -> None:
    """Copy the SQLite database to PATH, consistently, while servers keep writing to it."""
    settings = Settings()
    if not settings.is_sqlite:
        raise click.ClickException(
            "the database is PostgreSQL: back it up with pg_dump (or pg_basebackup), which "
            "copy a running database consistently"
        )
    source = settings.sqlite_path
    if source is None or not source.is_file():
        raise click.ClickException(f"no SQLite database at {source or settings.database_url}")
    if not path.parent.is_dir():
        raise click.ClickException(f"no directory {path.parent} to write the copy in")
    database = Database(settings)
    try:
        database.backup(path)
    finally:
        database.dispose()
    click.echo(f"backed up {source} to {path}")


if __name__ == "__main__":
    sys.exit(main())
