"""Web console sessions: a signed cookie naming the member, a CSRF token per session, and the
request context every page works in (the unit of work, the member, their permissions).

The cookie holds ``project|user|csrf|expiry`` and an HMAC-SHA256 over them, keyed by a secret
kept in the data directory (created on first use), so sessions survive restarts and several
processes sharing one data directory agree on them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from lockgate.domains.events import incoming
from lockgate.domains.users import access, throttle
from lockgate.errors import Forbidden
from lockgate.kit.actor import Change
from lockgate.kit.clock import Clock
from lockgate.kit.db import Database

COOKIE = "lockgate_session"
SESSION_MS = 12 * 3600 * 1000
SECRET_FILE = "web-session.key"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SignInThrottle:
    """Failed sign-ins per email, counted in the database every process shares
    (``domains/users/throttle``): after ``policy.limit`` of them within ``policy.window_ms``
    the email is refused until the oldest has left the window, so a password cannot be guessed
    fast."""

    def __init__(
        self, database: Database, clock: Clock, policy: throttle.Policy = throttle.Policy()
    ) -> None:
        self._database = database
        self._clock = clock
        self._policy = policy

    def admit(self, email: str) -> int | None:
        """Count this sign-in as failed until ``succeeded``, or return the milliseconds until
        the email may try again."""
        now_ms = self._clock.now_ms()
        with self._database.transaction(write=False) as session:
            wait = throttle.refusal(session, email, now_ms, self._policy)
        if wait is not None:
            return wait
        with self._database.transaction() as session:
            return throttle.admit(session, email, now_ms, self._policy)

    def succeeded(self, email: str) -> None:
        with self._database.transaction() as session:
            throttle.succeeded(session, email)


class SignInRequired(Exception):
    """No valid session: the page redirects to the sign-in form, remembering where to return."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def load_secret(data_dir: Path) -> bytes:
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            with path.open("x") as handle:
                handle.write(secrets.token_hex(32))
            path.chmod(0o600)
        except FileExistsError:  # another process made it first
            pass
    return bytes.fromhex(path.read_text().strip())


@dataclass(frozen=True)
class SessionData:
    project_id: str
    user_id: str
    csrf: str
    expires_ms: int


class SessionCodec:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sign(self, payload: bytes) -> str:
        mac = hmac.new(self._secret, payload, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def encode(self, data: SessionData) -> str:
        payload = f"{data.project_id}|{data.user_id}|{data.csrf}|{data.expires_ms}".encode()
        body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{body}.{self._sign(payload)}"

    def decode(self, cookie: str | None, now_ms: int) -> SessionData | None:
        if not cookie or "." not in cookie:
            return None
        body, signature = cookie.rsplit(".", 1)
        try:
            payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except ValueError:
            return None
        if not hmac.compare_digest(self._sign(payload), signature):
            return None
        parts = payload.decode().split("|")
        if len(parts) != 4 or not parts[3].isdigit() or int(parts[3]) < now_ms:
            return None
        return SessionData(parts[0], parts[1], parts[2], int(parts[3]))

    def new(self, project_id: str, user_id: str, now_ms: int) -> SessionData:
        return SessionData(project_id, user_id, secrets.token_urlsafe(24), now_ms + SESSION_MS)


@dataclass(frozen=True)
class WebContext:
    session: Session
    member: access.Member
    csrf: str
    clock: Clock

    @property
    def project_id(self) -> str:
        return self.member.project_id

    @property
    def change(self) -> Change:
        return Change(self.project_id, self.member.actor(), self.clock.now_ms())

    def require(self, permission: str) -> None:
        """Refuse a change the member's role does not allow (the Console API's permission keys)."""
        if not self.member.can(permission):
            raise Forbidden(f"Your role ({self.member.role}) lacks the {permission} permission.")


def _next_path(request: Request) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return quote(f"{request.url.path}{query}", safe="")


async def checked_form(request: Request) -> None:
    """Every unsafe request carries the session's CSRF token (form field or ``X-CSRF-Token``)
    and, when the browser sends one, an Origin of this very host."""
    if request.method not in UNSAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host"):
        raise Forbidden("Cross-origin form posts are refused.")
    state = request.app.state
    data = state.web_sessions.decode(request.cookies.get(COOKIE), state.clock.now_ms())
    if data is None:
        return  # web_context redirects to sign in
    token = request.headers.get("x-csrf-token")
    if token is None:
        form = await request.form()
        field = form.get("csrf")
        token = field if isinstance(field, str) else None
    if token is None or not hmac.compare_digest(token, data.csrf):
        raise Forbidden("The form's CSRF token is missing or stale; reload the page.")


def web_context(
    request: Request, _csrf: Annotated[None, Depends(checked_form)]
) -> Iterator[WebContext]:
    """The signed-in member and one transaction for the page, committed when it returns."""
    state = request.app.state
    database: Database = state.database
    data = state.web_sessions.decode(request.cookies.get(COOKIE), state.clock.now_ms())
    if data is None:
        raise SignInRequired(_next_path(request))
    # The member is read in a transaction of its own, as the Console API reads its key: the
    # page's session starts clean, so services may settle landed events before their reads.
    with database.transaction(write=False) as lookup:
        member = access.member(lookup, data.project_id, data.user_id)
    if member is None:
        raise SignInRequired(_next_path(request))
    writing = request.method in UNSAFE_METHODS
    session = database.session(write=writing)
    try:
        # Pages of experiments, layers, metrics and events read the event tables, whose landed
        # rows must be settled before the page session's first statement; cheap when none wait.
        incoming.settle_before(session)
        yield WebContext(session=session, member=member, csrf=data.csrf, clock=state.clock)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


Web = Annotated[WebContext, Depends(web_context, scope="function")]
