"""The job service's tables, as SQLAlchemy 2.0 ORM classes (portable SQL: SQLite and PostgreSQL).

Times are UNIX seconds (``float``, UTC) so lease arithmetic is plain subtraction on every
database; job specs, results and provenance are JSON text. The schema is created and upgraded
by the alembic migrations in ``migrations/versions`` (``_db.upgrade_database``), never by
``metadata.create_all``; a test checks the two agree.

Tables: ``institutions`` -> ``projects`` (quotas) -> ``memberships`` (``users`` with a role:
admin, member, viewer); ``tokens`` (sha256 of the secret, expiry, revocation); ``jobs``
(state machine, lease); ``results`` (written once per job, never updated); ``publications``
(read-only links to a result).

This module imports SQLAlchemy only; ``import kizuna`` never loads it.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["ROLES", "STATES", "Base", "Institution", "Job", "JobResult", "Membership", "Project",
           "Publication", "Token", "User"]

#: Roles a member holds in a project, weakest first.
ROLES = ("viewer", "member", "admin")
#: Job states; the last three are final.
STATES = ("QUEUED", "RUNNING", "COMPLETED", "FAILED", "CANCELLED")

# Named constraints keep migrations portable (PostgreSQL and SQLite batch mode need names).
_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)


class Institution(Base):
    __tablename__ = "institutions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[float] = mapped_column(Float)


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("institution_id", "name", name="uq_projects_institution_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    #: Simulator-seconds the project may use in all (``None``: no limit).
    quota_sim_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Widest circuit the project may submit.
    max_qubits: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    #: A server administrator: creates institutions, projects, users and tokens for anyone.
    is_superuser: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("project_id", "user_id", name="uq_memberships_project_user"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))


class Token(Base):
    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: SHA-256 (hex) of the secret; the secret itself is shown once and never stored.
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    #: The first characters of the secret, to tell tokens apart in listings.
    prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Job(Base):
    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    submitter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))
    #: The validated spec as JSON text, the seed filled in.
    spec: Mapped[str] = mapped_column(Text)
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int] = mapped_column(Integer)  # < 2**31: portable INTEGER
    num_qubits: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), index=True)
    time_limit_s: Mapped[float] = mapped_column(Float)
    submitted_at: Mapped[float] = mapped_column(Float, index=True)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Wall seconds the simulation ran (charged to the project's quota).
    sim_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: A fresh random value per claim: heartbeats and the completion must present it.
    lease_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class JobResult(Base):
    __tablename__ = "results"
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    result: Mapped[str] = mapped_column(Text)
    provenance: Mapped[str] = mapped_column(Text)
    result_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)


class Publication(Base):
    __tablename__ = "publications"
    #: The unguessable part of the public link.
    link_token: Mapped[str] = mapped_column(String(64), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), unique=True)
    published_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[float] = mapped_column(Float)
