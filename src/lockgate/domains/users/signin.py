"""Signing in to the web console: an email and a password give the project member, or nothing."""

from __future__ import annotations

from sqlalchemy.orm import Session

from lockgate.domains.users import access, repository
from lockgate.kit.passwords import verify_password

# Compared against when the email is unknown, so a wrong email costs as long as a wrong password.
_DECOY_HASH = (
    "scrypt$16384$8$1$00000000000000000000000000000000$"
    "0000000000000000000000000000000000000000000000000000000000000000"
)


def sign_in(session: Session, project_id: str, email: str, password: str) -> access.Member | None:
    """The member of the project whose email and password these are."""
    user = repository.user_by_email(session, project_id, email.strip())
    if user is None:
        verify_password(password, _DECOY_HASH)
        return None
    if not verify_password(password, user.password_hash):
        return None
    return access.member(session, project_id, user.id)
