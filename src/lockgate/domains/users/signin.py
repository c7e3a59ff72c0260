"""Signing in to the web console: an email and a password give the project member, or nothing;
a password hash of an older scheme is replaced by an argon2id one once the password verified."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy.orm import Session

from lockgate.domains.users import access, repository
from lockgate.kit.passwords import hash_password, memory_cost, needs_rehash, verify_password


@cache
def _decoy_hash(memory_kib: int) -> str:
    """Compared against when the email is unknown, so a wrong email costs as long as a wrong
    password; made on first use rather than at import, since a hash takes 64 MiB and some time,
    and made again should the process's memory cost change."""
    return hash_password("lockgate decoy: no member has this password")


@dataclass(frozen=True)
class SignedIn:
    member: access.Member
    verified_hash: str
    stale_hash: bool  # made by an older scheme or weaker parameters: rehash it (``upgrade_hash``)


def sign_in(session: Session, project_id: str, email: str, password: str) -> SignedIn | None:
    """The member of the project whose email and password these are."""
    user = repository.user_by_email(session, project_id, email.strip())
    if user is None:
        verify_password(password, _decoy_hash(memory_cost()))
        return None
    if user.password_hash is None or not verify_password(password, user.password_hash):
        return None
    member = access.member(session, project_id, user.id)
    if member is None:
        return None
    return SignedIn(member, user.password_hash, needs_rehash(user.password_hash))


def upgrade_hash(session: Session, signed_in: SignedIn, password: str) -> bool:
    """Store a fresh argon2id hash of the password that just signed in, unless the stored hash
    changed meanwhile (a new password set since must not be overwritten by the old one)."""
    member = signed_in.member
    user = repository.user_by_email(session, member.project_id, member.email, lock=True)
    if user is None or user.id != member.id or user.password_hash != signed_in.verified_hash:
        return False
    user.password_hash = hash_password(password)
    session.flush()
    return True
