"""API tokens and roles.

A token is ``kz_`` + 43 URL-safe characters from ``secrets`` (256 bits). Only its SHA-256 is
stored; the secret is returned once, when the token is made. A token belongs to a user, may
expire (``expires_at``, UNIX seconds) and may be revoked; what it can do follows from the
user's memberships: ``viewer`` reads a project's jobs and results, ``member`` also submits and
cancels its own jobs, ``admin`` also cancels anyone's, publishes results and manages members.
A superuser administers the server (institutions, projects, users, tokens).

Nothing here logs or returns a stored secret; error messages name the token by its id or
prefix only.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import ServiceError
from ._models import ROLES, Membership, Token, User

__all__ = ["AuthError", "Identity", "PermissionDenied", "authenticate", "hash_token", "issue_token",
           "require_role", "revoke_token"]

TOKEN_PREFIX = "kz_"


class AuthError(ServiceError):
    """Missing, unknown, expired or revoked credentials (HTTP 401)."""

    status_code = 401


class PermissionDenied(ServiceError):
    """Valid credentials without the role an action needs (HTTP 403)."""

    status_code = 403


def hash_token(secret: str) -> str:
    """SHA-256 hex digest of a token secret (what the database stores).

    Example:
        >>> len(hash_token("kz_example"))
        64
    """
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Identity:
    """Who a request comes from: the user, the token, and the user's roles by project id."""

    user_id: int
    user_name: str
    token_id: int
    is_superuser: bool
    roles: dict

    def role_in(self, project_id: int) -> str | None:
        return self.roles.get(project_id)


def issue_token(session: Session, user_id: int, *, name: str = "", expires_in_s: float | None = None,
                now: float | None = None) -> tuple[str, Token]:
    """Make a token for ``user_id``; returns ``(secret, row)``. The secret is not stored.

    Raises:
        ServiceError: no such user, or ``expires_in_s`` <= 0.
    """
    now = time.time() if now is None else now
    if session.get(User, user_id) is None:
        raise ServiceError(f"no user with id {user_id}")
    if expires_in_s is not None and not expires_in_s > 0:
        raise ServiceError(f"expires_in_s must be > 0 (got {expires_in_s!r})")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = Token(user_id=user_id, token_sha256=hash_token(secret), prefix=secret[:8], name=name, created_at=now,
                expires_at=None if expires_in_s is None else now + expires_in_s, revoked_at=None)
    session.add(row)
    session.flush()
    return secret, row


def revoke_token(session: Session, token_id: int, *, now: float | None = None) -> Token:
    """Revoke token ``token_id`` (idempotent).

    Raises:
        ServiceError: no such token.
    """
    row = session.get(Token, token_id)
    if row is None:
        raise ServiceError(f"no token with id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = time.time() if now is None else now
    return row


def authenticate(session: Session, secret: str | None, *, now: float | None = None) -> Identity:
    """The identity behind a bearer token.

    Raises:
        AuthError: no token, an unknown one, or one expired or revoked.
    """
    if not secret:
        raise AuthError("missing bearer token (send 'Authorization: Bearer <token>')")
    now = time.time() if now is None else now
    row = session.execute(select(Token).where(Token.token_sha256 == hash_token(secret))).scalar_one_or_none()
    if row is None:
        raise AuthError("unknown token")
    if row.revoked_at is not None:
        raise AuthError(f"token {row.id} ({row.prefix}...) was revoked")
    if row.expires_at is not None and row.expires_at <= now:
        raise AuthError(f"token {row.id} ({row.prefix}...) expired")
    user = session.get(User, row.user_id)
    roles = dict(session.execute(select(Membership.project_id, Membership.role)
                                 .where(Membership.user_id == user.id)).all())
    return Identity(user.id, user.name, row.id, bool(user.is_superuser), roles)


def require_role(identity: Identity, project_id: int, role: str) -> None:
    """Raise unless ``identity`` holds ``role`` or a stronger one in ``project_id`` (superusers
    pass).

    Raises:
        PermissionDenied: the role is missing or too weak.
    """
    if identity.is_superuser:
        return
    have = identity.role_in(project_id)
    if have is None or ROLES.index(have) < ROLES.index(role):
        raise PermissionDenied(f"user {identity.user_name!r} needs role {role!r} in project {project_id} "
                               f"(has {have or 'none'})")
