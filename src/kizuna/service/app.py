"""The HTTP API (FastAPI): jobs, results, public links, administration.

Every route needs ``Authorization: Bearer <token>`` except ``/health``, ``/openapi.json``,
``/docs`` and ``/public/results/{link_token}``. Errors are ``{"detail": message}`` with the
status of the failure: 401 bad credentials, 403 a role too weak or a quota spent, 404 an
unknown id (also for another project's job: the two read the same), 409 a job in the wrong
state, 413 a body or QASM text over the size limit, 422 a bad spec, 429 over the per-token rate
limit (with ``Retry-After``).

Secrets are never logged: tokens travel in a header only, and messages name tokens by id.

No ``from __future__ import annotations`` here: FastAPI reads the route annotations at run time.
This module imports FastAPI; nothing in ``kizuna`` outside ``kizuna.service`` imports it.
"""


import math
import threading
import time
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from ..errors import ServiceError
from . import _admin, _auth, _jobs
from ._db import Database
from ._models import Project, Token
from ._runner import Limits

__all__ = ["create_app", "serve"]

PUBLIC_PATHS = ("/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/public/results/{link_token}")


class RateLimiter:
    """A token bucket per API token: ``rate_per_s`` requests per second, bursts of ``burst``."""

    def __init__(self, rate_per_s: float, burst: int):
        self.rate, self.burst = float(rate_per_s), float(burst)
        self._buckets: dict[int, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: int) -> float:
        """0 when the request may go ahead, else seconds to wait."""
        if math.isinf(self.rate):
            return 0.0
        now = time.monotonic()
        with self._lock:
            level, last = self._buckets.get(key, (self.burst, now))
            level = min(self.burst, level + (now - last) * self.rate)
            if level >= 1.0:
                self._buckets[key] = (level - 1.0, now)
                return 0.0
            self._buckets[key] = (level, now)
            return (1.0 - level) / self.rate


class RateLimited(ServiceError):
    status_code = 429


class TooLarge(ServiceError):
    status_code = 413


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubmitIn(_Strict):
    spec: dict[str, Any] = Field(description="The job: {'kind': 'circuit'|'network'|'qkd'|'sensing', ...} "
                                             "(see kizuna.service._runner).")
    project_id: int | None = Field(None, description="Default: the caller's only project.")
    time_limit_s: float | None = Field(None, description="Wall-time limit in seconds.")


class InstitutionIn(_Strict):
    name: str


class ProjectIn(_Strict):
    institution_id: int
    name: str
    quota_sim_seconds: float | None = None
    max_qubits: int = 24


class UserIn(_Strict):
    name: str
    is_superuser: bool = False


class MemberIn(_Strict):
    user_id: int
    role: str


class TokenIn(_Strict):
    user_id: int | None = Field(None, description="Default: the caller. Superusers may name anyone.")
    name: str = ""
    expires_in_s: float | None = None


def create_app(database_url: str | None = None, *, limits: Limits | None = None, rate_limit_per_s: float = 50.0,
               rate_burst: int = 100, max_body_bytes: int = 1_000_000, upgrade: bool = True) -> FastAPI:
    """The FastAPI application over the database at ``database_url`` (default: SQLite in the
    data directory), its schema upgraded first (``upgrade=True``).

    Args:
        limits: sizes a job may ask for (``_runner.Limits``).
        rate_limit_per_s, rate_burst: the per-token rate limit (``math.inf``: none).
        max_body_bytes: a request body larger than this is refused with 413.
    """
    limits = limits or Limits()
    db = Database(database_url, upgrade=upgrade)
    limiter = RateLimiter(rate_limit_per_s, rate_burst)
    app = FastAPI(title="Kizuna job service", version=_version(),
                  description="Run Kizuna circuits, network scenarios, QKD sessions and sensing protocols as jobs.")
    app.state.db, app.state.limits, app.state.limiter = db, limits, limiter

    @app.exception_handler(ServiceError)
    async def _service_error(_request: Request, exc: ServiceError):
        headers = {"WWW-Authenticate": "Bearer"} if getattr(exc, "status_code", 400) == 401 else {}
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        return JSONResponse({"detail": str(exc)}, status_code=getattr(exc, "status_code", 400), headers=headers)

    @app.middleware("http")
    async def _body_limit(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > max_body_bytes:
            return JSONResponse({"detail": f"request body is {length} bytes; at most {max_body_bytes}"},
                                status_code=413)
        return await call_next(request)

    def session():
        with db.session() as s:
            yield s

    def read_session():
        with db.read_session() as s:
            yield s

    # one database session per request, shared by the token check and the route (FastAPI
    # caches a dependency within a request): a request never holds two pooled connections
    Session_ = Annotated[Any, _around_function(session)]
    Reader = Annotated[Any, _around_function(read_session)]

    def _authenticate(request: Request, s) -> _auth.Identity:
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        who = _auth.authenticate(s, secret.strip() if scheme.lower() == "bearer" else None)
        wait = limiter.take(who.token_id)
        if wait > 0:
            exc = RateLimited(f"rate limit of {limiter.rate:g} requests/s exceeded for token {who.token_id}")
            exc.retry_after = wait
            raise exc
        return who

    def identity(request: Request, s: Session_) -> _auth.Identity:
        return _authenticate(request, s)

    def reader_identity(request: Request, s: Reader) -> _auth.Identity:
        return _authenticate(request, s)

    Who = Annotated[_auth.Identity, Depends(identity)]
    ReaderWho = Annotated[_auth.Identity, Depends(reader_identity)]

    def superuser(who: _auth.Identity) -> None:
        if not who.is_superuser:
            raise _auth.PermissionDenied(f"user {who.user_name!r} is not a server administrator")

    @app.get("/health", tags=["public"])
    def health() -> dict:
        """Liveness: the server answers and its database too."""
        with db.read_session() as s:
            s.execute(select(1))
        return {"status": "ok", "version": _version()}

    @app.get("/api/v1/whoami", tags=["account"])
    def whoami(who: ReaderWho) -> dict:
        return {"user_id": who.user_id, "user": who.user_name, "is_superuser": who.is_superuser,
                "projects": {str(k): v for k, v in who.roles.items()}, "token_id": who.token_id}

    @app.post("/api/v1/jobs", status_code=201, tags=["jobs"])
    def submit_job(body: SubmitIn, who: Who, s: Session_) -> dict:
        project_id = body.project_id
        if project_id is None:
            mine = list(who.roles)
            if len(mine) != 1:  # several: the one where the caller may submit, if unique
                mine = [p for p, r in who.roles.items() if r != "viewer"]
            if len(mine) != 1:
                raise _runner_error(f"project_id is required (user {who.user_name!r} may submit to "
                                    f"{len(mine)} projects)")
            project_id = mine[0]
        job = _jobs.submit(s, who, project_id, body.spec, limits=limits, time_limit_s=body.time_limit_s)
        return _jobs.job_view(s, job)

    @app.get("/api/v1/jobs", tags=["jobs"])
    def list_jobs(who: ReaderWho, s: Reader, project_id: int | None = None, state: str | None = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict]:
        jobs = _jobs.list_jobs(s, who, project_id=project_id, state=state, limit=limit)
        return [_jobs.job_view(s, j, position=False) for j in jobs]

    @app.get("/api/v1/jobs/{job_id}", tags=["jobs"])
    def job_status(job_id: str, who: ReaderWho, s: Reader) -> dict:
        return _jobs.job_view(s, _jobs.get_job(s, who, job_id))

    @app.get("/api/v1/jobs/{job_id}/result", tags=["jobs"])
    def job_result(job_id: str, who: ReaderWho, s: Reader) -> dict:
        return _jobs.result_document(*_jobs.get_result(s, who, job_id))

    @app.post("/api/v1/jobs/{job_id}/cancel", tags=["jobs"])
    def cancel_job(job_id: str, who: Who, s: Session_) -> dict:
        return _jobs.job_view(s, _jobs.cancel(s, who, job_id))

    @app.post("/api/v1/jobs/{job_id}/publish", tags=["jobs"])
    def publish_job(job_id: str, who: Who, s: Session_, request: Request) -> dict:
        link = _jobs.publish(s, who, job_id)
        return {"job_id": job_id, "link_token": link, "path": f"/public/results/{link}",
                "url": str(request.base_url).rstrip("/") + f"/public/results/{link}"}

    @app.get("/public/results/{link_token}", tags=["public"])
    def public_result(link_token: str, s: Reader) -> dict:
        return _jobs.published_result(s, link_token)

    @app.get("/api/v1/projects/{project_id}", tags=["projects"])
    def project_info(project_id: int, who: ReaderWho, s: Reader) -> dict:
        p = s.get(Project, project_id)
        if p is None or (who.role_in(project_id) is None and not who.is_superuser):
            raise _jobs.NotFound(f"no project {project_id}")
        return {"id": p.id, "name": p.name, "institution_id": p.institution_id,
                "quota_sim_seconds": p.quota_sim_seconds, "max_qubits": p.max_qubits,
                "used_sim_seconds": _jobs.project_usage_s(s, p.id, time.time()), "role": who.role_in(project_id)}

    @app.post("/api/v1/projects/{project_id}/members", status_code=201, tags=["projects"])
    def add_member(project_id: int, body: MemberIn, who: Who, s: Session_) -> dict:
        if who.role_in(project_id) is None and not who.is_superuser:
            raise _jobs.NotFound(f"no project {project_id}")
        _auth.require_role(who, project_id, "admin")
        m = _admin.add_member(s, project_id, body.user_id, body.role)
        return {"project_id": m.project_id, "user_id": m.user_id, "role": m.role}

    @app.post("/api/v1/admin/institutions", status_code=201, tags=["admin"])
    def create_institution(body: InstitutionIn, who: Who, s: Session_) -> dict:
        superuser(who)
        row = _admin.create_institution(s, body.name)
        return {"id": row.id, "name": row.name}

    @app.post("/api/v1/admin/projects", status_code=201, tags=["admin"])
    def create_project(body: ProjectIn, who: Who, s: Session_) -> dict:
        superuser(who)
        row = _admin.create_project(s, body.institution_id, body.name, quota_sim_seconds=body.quota_sim_seconds,
                                    max_qubits=body.max_qubits)
        return {"id": row.id, "name": row.name, "institution_id": row.institution_id,
                "quota_sim_seconds": row.quota_sim_seconds, "max_qubits": row.max_qubits}

    @app.post("/api/v1/admin/users", status_code=201, tags=["admin"])
    def create_user(body: UserIn, who: Who, s: Session_) -> dict:
        superuser(who)
        row = _admin.create_user(s, body.name, is_superuser=body.is_superuser)
        return {"id": row.id, "name": row.name, "is_superuser": row.is_superuser}

    @app.get("/api/v1/tokens", tags=["account"])
    def list_tokens(who: ReaderWho, s: Reader) -> list[dict]:
        rows = s.execute(select(Token).where(Token.user_id == who.user_id).order_by(Token.id)).scalars()
        return [_token_view(t) for t in rows]

    @app.post("/api/v1/tokens", status_code=201, tags=["account"])
    def create_token(body: TokenIn, who: Who, s: Session_) -> dict:
        user_id = who.user_id if body.user_id is None else body.user_id
        if user_id != who.user_id:
            superuser(who)
        secret, row = _auth.issue_token(s, user_id, name=body.name, expires_in_s=body.expires_in_s)
        return {**_token_view(row), "token": secret}

    @app.delete("/api/v1/tokens/{token_id}", tags=["account"])
    def revoke_token(token_id: int, who: Who, s: Session_) -> dict:
        row = s.get(Token, token_id)
        if row is None or (row.user_id != who.user_id and not who.is_superuser):
            raise _jobs.NotFound(f"no token {token_id}")
        return _token_view(_auth.revoke_token(s, token_id))

    from ._dashboard import mount

    mount(app)  # the web dashboard: static pages at / and /dashboard, data only through the API
    return app


def _around_function(dependency):
    """``Depends`` whose code after ``yield`` (the commit) runs before the response is sent: a
    client that got 201 must find its job at once. (FastAPI >= 0.121 needs ``scope="function"``
    for this; older releases did it by default.)"""
    try:
        return Depends(dependency, scope="function")
    except TypeError:  # pragma: no cover - FastAPI < 0.121
        return Depends(dependency)


def _token_view(t: Token) -> dict:
    return {"id": t.id, "user_id": t.user_id, "name": t.name, "prefix": t.prefix, "created_at": t.created_at,
            "expires_at": t.expires_at, "revoked_at": t.revoked_at}


def _runner_error(message: str):
    from ._runner import SpecError

    return SpecError(message)


def _version() -> str:
    import kizuna

    return kizuna.__version__


def serve(database_url: str | None = None, *, host: str = "127.0.0.1", port: int = 8000, **options) -> None:
    """Run the service under uvicorn until interrupted (``kizuna serve``)."""
    import uvicorn

    uvicorn.run(create_app(database_url, **options), host=host, port=port, log_level="info")
