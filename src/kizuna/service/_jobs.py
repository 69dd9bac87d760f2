"""The job store: submit (validation, quotas), claim with a lease, heartbeat, complete exactly
once, fail, cancel, re-queue expired leases, fair-share order, publish.

States: ``QUEUED -> RUNNING -> COMPLETED | FAILED | CANCELLED`` (a running job whose lease
expires goes back to ``QUEUED``). Every change of state is one conditional ``UPDATE ... WHERE
state = ...`` whose row count says whether it happened, so two workers (or a worker and a
cancel) never both win:

* ``claim`` takes the first queued job in fair-share order with ``UPDATE jobs SET
  state='RUNNING', lease_token=<fresh> WHERE id=? AND state='QUEUED'`` (on PostgreSQL the
  candidate is read with ``SELECT ... FOR UPDATE SKIP LOCKED``; on SQLite the transaction holds
  the write lock from ``BEGIN IMMEDIATE``);
* ``heartbeat``, ``complete`` and ``fail`` match ``lease_token`` too: once a lease is lost (the
  job was re-queued), the old worker's calls are rejected with ``LeaseLost``; the result row's
  primary key is the job id, so a result is written at most once.

**Fair share.** Among projects with queued jobs, the one that used the fewest
simulator-seconds over the last ``window_s`` (finished jobs, plus the running time of jobs
still running) goes first; ties go to the oldest queued job. Within a project, jobs run in
submission order.

**Quotas.** A project's ``quota_sim_seconds`` is a total budget: a submission is refused (403)
once it is spent, and a job's time limit is cut to what remains.

This module imports SQLAlchemy; times are UNIX seconds and every function takes ``now`` for
tests.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..errors import ServiceError
from ._auth import Identity, require_role
from ._models import Job, JobResult, Project, Publication, User
from ._runner import MAX_SEED, Limits, SpecError, normalize_spec

__all__ = ["ClaimedJob", "Conflict", "LeaseLost", "NotFound", "QuotaExceeded", "cancel", "claim", "complete",
           "fail", "get_job", "heartbeat", "job_view", "list_jobs", "publish", "requeue_expired", "submit"]

FINAL = ("COMPLETED", "FAILED", "CANCELLED")


class NotFound(ServiceError):
    """No such job (or one the caller may not see: the two read the same) (HTTP 404)."""

    status_code = 404


class Conflict(ServiceError):
    """The job is not in a state the request needs, e.g. no result yet (HTTP 409)."""

    status_code = 409


class QuotaExceeded(ServiceError):
    """The project's simulator-seconds are spent (HTTP 403)."""

    status_code = 403


class LeaseLost(ServiceError):
    """A worker's lease on a job is gone (expired and re-queued, or the job was cancelled)."""

    status_code = 409


def canonical_json(value) -> str:
    """Sorted-key, compact JSON: the text hashed into ``inputs_sha256``."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def sha256_json(value) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def project_usage_s(session: Session, project_id: int, now: float) -> float:
    """Simulator-seconds ``project_id`` has used: finished jobs plus running time so far."""
    done = session.execute(select(func.coalesce(func.sum(Job.sim_seconds), 0.0))
                           .where(Job.project_id == project_id)).scalar_one()
    running = session.execute(select(Job.started_at).where(Job.project_id == project_id,
                                                          Job.state == "RUNNING")).scalars().all()
    return float(done) + sum(max(0.0, now - (s or now)) for s in running)


def submit(session: Session, identity: Identity, project_id: int, spec: dict, *, limits: Limits,
           time_limit_s: float | None = None, now: float | None = None) -> Job:
    """Validate ``spec`` and queue it for ``project_id``.

    Raises:
        NotFound: no such project, or the caller is not in it.
        PermissionDenied: the caller is only a viewer.
        SpecError / SpecTooLarge: a bad or oversized spec (422 / 413).
        QuotaExceeded: the project's simulator-seconds are spent.
    """
    now = time.time() if now is None else now
    project = session.get(Project, project_id)
    if project is None or (identity.role_in(project_id) is None and not identity.is_superuser):
        raise NotFound(f"no project {project_id}")
    require_role(identity, project_id, "member")
    if time_limit_s is None:
        time_limit_s = limits.default_time_limit_s
    if isinstance(time_limit_s, bool) or not isinstance(time_limit_s, int | float) or \
            not 0 < time_limit_s <= limits.max_time_limit_s:
        raise SpecError(f"time_limit_s must be in (0, {limits.max_time_limit_s:g}] (got {time_limit_s!r})")
    spec, num_qubits = normalize_spec(spec, limits, max_qubits=project.max_qubits)
    if project.quota_sim_seconds is not None:
        left = project.quota_sim_seconds - project_usage_s(session, project_id, now)
        if left <= 0:
            raise QuotaExceeded(f"project {project.name!r} has used its quota of "
                                f"{project.quota_sim_seconds:g} simulator-seconds")
        time_limit_s = min(time_limit_s, left)
    if spec.get("seed") is None:
        spec["seed"] = secrets.randbelow(MAX_SEED + 1)
    job = Job(id="job_" + secrets.token_hex(12), project_id=project_id, submitter_id=identity.user_id,
              kind=spec["kind"], spec=canonical_json(spec), inputs_sha256=sha256_json(spec), seed=spec["seed"],
              num_qubits=num_qubits, state="QUEUED", time_limit_s=float(time_limit_s), submitted_at=now,
              sim_seconds=0.0, progress=0.0, attempts=0, cancel_requested=False)
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, identity: Identity | None, job_id: str, role: str = "viewer") -> Job:
    """The job ``job_id`` if ``identity`` holds ``role`` in its project.

    Raises:
        NotFound: no such job, or one in a project the caller is not in (the same answer,
            so ids of other projects' jobs leak nothing).
        PermissionDenied: the caller is in the project with too weak a role.
    """
    job = session.get(Job, job_id)
    if job is None or identity is None or (identity.role_in(job.project_id) is None and not identity.is_superuser):
        raise NotFound(f"no job {job_id!r}")
    require_role(identity, job.project_id, role)
    return job


def queue_position(session: Session, job: Job) -> int | None:
    """1 + the number of queued jobs submitted before ``job`` (all projects; fair share may
    reorder them), or ``None`` when the job is not queued."""
    if job.state != "QUEUED":
        return None
    ahead = session.execute(select(func.count()).select_from(Job).where(
        Job.state == "QUEUED",
        (Job.submitted_at < job.submitted_at) | ((Job.submitted_at == job.submitted_at) & (Job.id < job.id)),
    )).scalar_one()
    return int(ahead) + 1


def job_view(session: Session, job: Job, *, position: bool = True) -> dict:
    """The public description of a job (never its lease token)."""
    return {"id": job.id, "project_id": job.project_id, "kind": job.kind, "state": job.state,
            "queue_position": queue_position(session, job) if position else None,
            "progress": job.progress, "submitted_at": job.submitted_at, "started_at": job.started_at,
            "finished_at": job.finished_at, "time_limit_s": job.time_limit_s, "sim_seconds": job.sim_seconds,
            "attempts": job.attempts, "num_qubits": job.num_qubits, "seed": job.seed,
            "inputs_sha256": job.inputs_sha256, "error": job.error, "cancel_requested": job.cancel_requested}


def list_jobs(session: Session, identity: Identity, *, project_id: int | None = None, state: str | None = None,
              limit: int = 100) -> list[Job]:
    """The caller's projects' jobs, newest first."""
    q = select(Job).order_by(Job.submitted_at.desc(), Job.id.desc()).limit(limit)
    if not identity.is_superuser:
        q = q.where(Job.project_id.in_(list(identity.roles) or [-1]))
    if project_id is not None:
        q = q.where(Job.project_id == project_id)
    if state is not None:
        q = q.where(Job.state == state)
    return list(session.execute(q).scalars())


def cancel(session: Session, identity: Identity, job_id: str, *, now: float | None = None) -> Job:
    """Cancel a job: a queued one at once, a running one at its worker's next heartbeat.
    Members may cancel their own jobs, admins any job of the project. Cancelling a finished
    job changes nothing.

    Raises:
        NotFound, PermissionDenied: as ``get_job``; a member cancelling someone else's job.
    """
    now = time.time() if now is None else now
    job = get_job(session, identity, job_id, "member")
    if job.submitter_id != identity.user_id:
        require_role(identity, job.project_id, "admin")
    done = session.execute(update(Job).where(Job.id == job_id, Job.state == "QUEUED").values(
        state="CANCELLED", finished_at=now, error="cancelled by " + identity.user_name))
    if done.rowcount == 0:
        session.execute(update(Job).where(Job.id == job_id, Job.state == "RUNNING").values(cancel_requested=True))
    session.refresh(job)
    return job


@dataclass(frozen=True)
class ClaimedJob:
    """What a worker gets from ``claim``: the job, its spec and the lease it must present."""

    id: str
    spec: dict
    lease_token: str
    time_limit_s: float
    attempt: int


def _fair_share_projects(session: Session, now: float, window_s: float) -> list[int]:
    queued = session.execute(select(Job.project_id, func.min(Job.submitted_at)).where(Job.state == "QUEUED")
                             .group_by(Job.project_id)).all()
    if not queued:
        return []
    usage = dict(session.execute(select(Job.project_id, func.sum(Job.sim_seconds))
                                 .where(Job.finished_at >= now - window_s).group_by(Job.project_id)).all())
    for project_id, started in session.execute(select(Job.project_id, Job.started_at).where(Job.state == "RUNNING")):
        usage[project_id] = (usage.get(project_id) or 0.0) + max(0.0, now - (started or now))
    return [p for p, _ in sorted(queued, key=lambda r: (usage.get(r[0]) or 0.0, r[1], r[0]))]


def claim(session: Session, worker_id: str, *, lease_s: float, now: float | None = None,
          window_s: float = 3600.0) -> ClaimedJob | None:
    """Take the next job in fair-share order for ``worker_id`` with a lease of ``lease_s``
    seconds; ``None`` when nothing is queued. Commit the session to make the claim stick."""
    now = time.time() if now is None else now
    postgres = session.get_bind().dialect.name == "postgresql"
    for project_id in _fair_share_projects(session, now, window_s):
        q = (select(Job.id).where(Job.state == "QUEUED", Job.project_id == project_id)
             .order_by(Job.submitted_at, Job.id).limit(1))
        if postgres:
            q = q.with_for_update(skip_locked=True)
        job_id = session.execute(q).scalar_one_or_none()
        if job_id is None:
            continue
        lease = secrets.token_hex(16)
        won = session.execute(update(Job).where(Job.id == job_id, Job.state == "QUEUED").values(
            state="RUNNING", worker_id=worker_id, lease_token=lease, lease_expires_at=now + lease_s,
            started_at=now, attempts=Job.attempts + 1, progress=0.0).execution_options(synchronize_session=False))
        if won.rowcount == 1:
            row = session.execute(select(Job.spec, Job.time_limit_s, Job.attempts).where(Job.id == job_id)).one()
            return ClaimedJob(job_id, json.loads(row.spec), lease, row.time_limit_s, row.attempts)
    return None


def heartbeat(session: Session, job_id: str, lease_token: str, *, lease_s: float, progress: float | None = None,
              now: float | None = None) -> str:
    """Extend a lease; returns ``"ok"``, or ``"cancel"`` when a cancel was asked for.

    Raises:
        LeaseLost: the job is no longer running under this lease.
    """
    now = time.time() if now is None else now
    values = {"lease_expires_at": now + lease_s}
    if progress is not None:
        values["progress"] = min(1.0, max(0.0, float(progress)))
    done = session.execute(update(Job).where(Job.id == job_id, Job.lease_token == lease_token,
                                             Job.state == "RUNNING").values(**values)
                           .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise LeaseLost(f"job {job_id}: lease lost")
    cancel_requested = session.execute(select(Job.cancel_requested).where(Job.id == job_id)).scalar_one()
    return "cancel" if cancel_requested else "ok"


def _finish(session: Session, job_id: str, lease_token: str, state: str, now: float, **values) -> None:
    done = session.execute(update(Job).where(Job.id == job_id, Job.lease_token == lease_token,
                                             Job.state == "RUNNING")
                           .values(state=state, finished_at=now, lease_token=None, lease_expires_at=None,
                                   **values).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise LeaseLost(f"job {job_id}: lease lost; the outcome of this run is discarded")


def complete(session: Session, job_id: str, lease_token: str, result: dict, provenance: dict, *,
             sim_seconds: float, now: float | None = None) -> None:
    """Store the result of a job exactly once: the job must still be running under
    ``lease_token``; the result row is inserted, never updated. Provenance gets the inputs
    hash, seed, submitter and timestamps added.

    Raises:
        LeaseLost: the lease was lost (nothing is written).
    """
    now = time.time() if now is None else now
    _finish(session, job_id, lease_token, "COMPLETED", now, sim_seconds=float(sim_seconds), progress=1.0)
    job = session.get(Job, job_id)
    session.refresh(job)
    submitter = session.get(User, job.submitter_id)
    prov = dict(provenance)
    prov.update({"job_id": job.id, "kind": job.kind, "inputs_sha256": job.inputs_sha256, "seed": job.seed,
                 "submitter": submitter.name, "project_id": job.project_id, "submitted_at": job.submitted_at,
                 "started_at": job.started_at, "finished_at": now, "sim_seconds": float(sim_seconds),
                 "worker_id": job.worker_id, "attempt": job.attempts})
    text = canonical_json(result)
    session.add(JobResult(job_id=job_id, result=text, provenance=canonical_json(prov),
                          result_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(), created_at=now))
    session.flush()


def fail(session: Session, job_id: str, lease_token: str, reason: str, *, sim_seconds: float = 0.0,
         cancelled: bool = False, now: float | None = None) -> None:
    """Mark a running job FAILED (or CANCELLED) with ``reason``.

    Raises:
        LeaseLost: the lease was lost.
    """
    now = time.time() if now is None else now
    _finish(session, job_id, lease_token, "CANCELLED" if cancelled else "FAILED", now,
            sim_seconds=float(sim_seconds), error=reason)


def has_queued_jobs(session: Session) -> bool:
    """Whether any job waits (a cheap read before taking the write lock to claim)."""
    return session.execute(select(Job.id).where(Job.state == "QUEUED").limit(1)).first() is not None


def has_expired_leases(session: Session, *, now: float | None = None) -> bool:
    """Whether some running job's lease has expired."""
    now = time.time() if now is None else now
    return session.execute(select(Job.id).where(Job.state == "RUNNING", Job.lease_expires_at < now)
                           .limit(1)).first() is not None


def requeue_expired(session: Session, *, now: float | None = None, max_attempts: int = 3) -> int:
    """Put running jobs whose lease expired back in the queue (or fail them after
    ``max_attempts`` runs, or cancel them if a cancel was asked for); returns how many."""
    now = time.time() if now is None else now
    expired = (Job.state == "RUNNING") & (Job.lease_expires_at < now)
    cancelled = session.execute(update(Job).where(expired, Job.cancel_requested.is_(True)).values(
        state="CANCELLED", finished_at=now, lease_token=None, lease_expires_at=None, error="cancelled")
        .execution_options(synchronize_session=False)).rowcount
    failed = session.execute(update(Job).where(expired, Job.attempts >= max_attempts).values(
        state="FAILED", finished_at=now, lease_token=None, lease_expires_at=None,
        error=f"its worker stopped responding {max_attempts} times")
        .execution_options(synchronize_session=False)).rowcount
    requeued = session.execute(update(Job).where(expired).values(
        state="QUEUED", lease_token=None, lease_expires_at=None, worker_id=None, started_at=None, progress=0.0)
        .execution_options(synchronize_session=False)).rowcount
    return cancelled + failed + requeued


def get_result(session: Session, identity: Identity, job_id: str) -> tuple[Job, JobResult]:
    """The result of a completed job.

    Raises:
        NotFound, PermissionDenied: as ``get_job``.
        Conflict: the job has no result (not completed), with its state and error.
    """
    job = get_job(session, identity, job_id, "viewer")
    row = session.get(JobResult, job_id)
    if row is None:
        why = f": {job.error}" if job.error else ""
        raise Conflict(f"job {job_id} has no result (state {job.state}{why})")
    return job, row


def result_document(job: Job, row: JobResult) -> dict:
    return {"job_id": job.id, "kind": job.kind, "result": json.loads(row.result),
            "provenance": json.loads(row.provenance), "result_sha256": row.result_sha256}


def publish(session: Session, identity: Identity, job_id: str, *, now: float | None = None) -> str:
    """Make a completed job's result readable through ``/public/results/<link>``; returns the
    link token (the same one when published twice). Project admins only.

    Raises:
        NotFound, PermissionDenied: as ``get_job`` with role admin.
        Conflict: the job has no result.
    """
    now = time.time() if now is None else now
    job = get_job(session, identity, job_id, "admin")
    if session.get(JobResult, job_id) is None:
        raise Conflict(f"job {job_id} has no result to publish (state {job.state})")
    existing = session.execute(select(Publication).where(Publication.job_id == job_id)).scalar_one_or_none()
    if existing is not None:
        return existing.link_token
    token = secrets.token_urlsafe(24)
    session.add(Publication(link_token=token, job_id=job_id, published_by=identity.user_id, created_at=now))
    session.flush()
    return token


def published_result(session: Session, link_token: str) -> dict:
    """The result behind a public link.

    Raises:
        NotFound: no such link.
    """
    pub = session.get(Publication, link_token)
    if pub is None:
        raise NotFound("no published result at this link")
    job = session.get(Job, pub.job_id)
    return result_document(job, session.get(JobResult, pub.job_id))


