"""Administration: institutions, projects, users, memberships, and the bootstrap of an empty
database (the first institution, project and admin user, and that user's first token).

Each function takes an open session and raises ``ServiceError`` (HTTP 409 for a name already
taken, 404 for an unknown id, 422 for a bad value) naming the value.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import ServiceError
from ._auth import issue_token
from ._models import ROLES, Institution, Membership, Project, User

__all__ = ["Bootstrap", "add_member", "bootstrap", "create_institution", "create_project", "create_user"]


class NameTaken(ServiceError):
    status_code = 409


class UnknownId(ServiceError):
    status_code = 404


class BadValue(ServiceError):
    status_code = 422


def _name(value, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise BadValue(f"{what} name must be 1 to 200 characters (got {value!r})")
    return value.strip()


def create_institution(session: Session, name: str) -> Institution:
    name = _name(name, "institution")
    if session.execute(select(Institution).where(Institution.name == name)).first():
        raise NameTaken(f"institution {name!r} exists already")
    row = Institution(name=name, created_at=time.time())
    session.add(row)
    session.flush()
    return row


def create_project(session: Session, institution_id: int, name: str, *, quota_sim_seconds: float | None = None,
                   max_qubits: int = 24) -> Project:
    name = _name(name, "project")
    if session.get(Institution, institution_id) is None:
        raise UnknownId(f"no institution {institution_id}")
    if quota_sim_seconds is not None and not quota_sim_seconds > 0:
        raise BadValue(f"quota_sim_seconds must be > 0 or null (got {quota_sim_seconds!r})")
    if isinstance(max_qubits, bool) or not isinstance(max_qubits, int) or not 1 <= max_qubits <= 64:
        raise BadValue(f"max_qubits must be an integer in [1, 64] (got {max_qubits!r})")
    if session.execute(select(Project).where(Project.institution_id == institution_id, Project.name == name)).first():
        raise NameTaken(f"project {name!r} exists already in institution {institution_id}")
    row = Project(institution_id=institution_id, name=name, quota_sim_seconds=quota_sim_seconds,
                  max_qubits=max_qubits, created_at=time.time())
    session.add(row)
    session.flush()
    return row


def create_user(session: Session, name: str, *, is_superuser: bool = False) -> User:
    name = _name(name, "user")
    if session.execute(select(User).where(User.name == name)).first():
        raise NameTaken(f"user {name!r} exists already")
    row = User(name=name, is_superuser=bool(is_superuser), created_at=time.time())
    session.add(row)
    session.flush()
    return row


def add_member(session: Session, project_id: int, user_id: int, role: str) -> Membership:
    """Give ``user_id`` ``role`` in ``project_id`` (replacing an earlier role)."""
    if role not in ROLES:
        raise BadValue(f"role must be one of {', '.join(ROLES)} (got {role!r})")
    if session.get(Project, project_id) is None:
        raise UnknownId(f"no project {project_id}")
    if session.get(User, user_id) is None:
        raise UnknownId(f"no user {user_id}")
    row = session.execute(select(Membership).where(Membership.project_id == project_id,
                                                   Membership.user_id == user_id)).scalar_one_or_none()
    if row is None:
        row = Membership(project_id=project_id, user_id=user_id, role=role)
        session.add(row)
    else:
        row.role = role
    session.flush()
    return row


@dataclass(frozen=True)
class Bootstrap:
    institution_id: int
    project_id: int
    user_id: int
    token: str


def bootstrap(session: Session, *, institution: str = "default", project: str = "default", user: str = "admin",
              expires_in_s: float | None = None) -> Bootstrap:
    """On a database with no users: make an institution, a project, a superuser who is the
    project's admin, and a token for that user (``Bootstrap.token``; shown once).

    Raises:
        ServiceError: the database has users already.
    """
    if session.execute(select(func.count()).select_from(User)).scalar_one():
        raise NameTaken("the database has users already; bootstrap only runs on an empty one")
    inst = create_institution(session, institution)
    proj = create_project(session, inst.id, project)
    admin = create_user(session, user, is_superuser=True)
    add_member(session, proj.id, admin.id, "admin")
    secret, _ = issue_token(session, admin.id, name="bootstrap", expires_in_s=expires_in_s)
    return Bootstrap(inst.id, proj.id, admin.id, secret)
