"""The job-service commands: ``serve``, ``worker``, ``submit``, ``jobs``, ``result``, ``cancel``,
and ``admin`` (``bootstrap``, ``create-project``, ``create-user``, ``add-member``,
``create-token``, ``revoke-token``: these act on the database directly).

Client commands find the server in ``--server`` (or ``$KIZUNA_SERVER``, default
``http://127.0.0.1:8000``) and the token in ``--token-file`` (or ``$KIZUNA_TOKEN_FILE``, or
the token itself in ``$KIZUNA_TOKEN``). A token is printed once, when made, and never
otherwise.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from ._common import CliError, note, out

__all__ = ["admin_app", "cancel", "jobs", "result", "serve", "submit", "worker"]

DbOpt = Annotated[str | None, typer.Option("--database-url", help="SQLAlchemy URL (default: SQLite in "
                                           "$KIZUNA_DATA_DIR or ~/.local/share/kizuna).", show_default=False)]
ServerOpt = Annotated[str | None, typer.Option("--server", help="Service URL [$KIZUNA_SERVER or "
                                               "http://127.0.0.1:8000].", show_default=False)]
TokenOpt = Annotated[Path | None, typer.Option("--token-file", help="File holding the API token "
                                               "[$KIZUNA_TOKEN_FILE; or the token in $KIZUNA_TOKEN].",
                                               show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def _client(server: str | None, token_file: Path | None):
    from kizuna.client import Client

    url = server or os.environ.get("KIZUNA_SERVER") or "http://127.0.0.1:8000"
    path = token_file or (Path(os.environ["KIZUNA_TOKEN_FILE"]) if os.environ.get("KIZUNA_TOKEN_FILE") else None)
    if path is not None:
        if not path.exists():
            raise CliError(f"{path}: no such token file")
        token = path.read_text(encoding="utf-8").strip()
        if not token:
            raise CliError(f"{path}: the token file is empty")
    else:
        token = os.environ.get("KIZUNA_TOKEN", "").strip()
        if not token:
            raise CliError("no API token: give --token-file FILE (or set KIZUNA_TOKEN_FILE or KIZUNA_TOKEN)")
    return Client(url, token)


def serve(
    database_url: DbOpt = None,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    rate_limit: Annotated[float, typer.Option("--rate-limit", help="Requests per second per token.")] = 50.0,
) -> None:
    """Run the job service (FastAPI under uvicorn); the schema is created or upgraded first."""
    try:
        from kizuna.service.app import serve as run
    except ImportError as exc:
        raise CliError(f"the job service needs its extra: pip install 'kizuna[service]' ({exc.name} missing)") from None
    run(database_url, host=host, port=port, rate_limit_per_s=rate_limit)


def worker(
    database_url: DbOpt = None,
    lease_s: Annotated[float, typer.Option("--lease-s", help="Lease length in seconds.")] = 30.0,
    poll_s: Annotated[float, typer.Option("--poll-s", help="Seconds between looks at an empty queue.")] = 0.5,
    isolation: Annotated[str, typer.Option("--isolation", help="process (time limits enforced) or thread.")]
    = "process",
    once: Annotated[bool, typer.Option("--once", help="Stop when the queue is empty.")] = False,
    dask_scheduler: Annotated[str | None, typer.Option(
        "--dask-scheduler", help="Dask scheduler address (tcp://host:8786) for the shot chunks of large "
        "circuit jobs.", show_default=False)] = None,
) -> None:
    """Take jobs from the service's database and run them."""
    import logging

    from kizuna.service.worker import run_worker

    if isolation not in ("process", "thread"):
        raise CliError(f"--isolation must be process or thread (got {isolation!r})")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    n = run_worker(database_url, once=once, poll_s=poll_s, lease_s=lease_s, isolation=isolation,
                   dask_scheduler=dask_scheduler)
    note(f"worker finished {n} job(s)")


def submit(
    file: Annotated[Path, typer.Argument(help="OpenQASM 2 file (or a network scenario .yaml/.json).",
                                         metavar="FILE", show_default=False)],
    server: ServerOpt = None,
    token_file: TokenOpt = None,
    shots: Annotated[int, typer.Option("--shots", "-n", min=1, help="Shots (circuits).")] = 1024,
    seed: Annotated[int | None, typer.Option("--seed", "-s", min=0, help="Seed (default: drawn by the server).",
                                             show_default=False)] = None,
    backend: Annotated[str, typer.Option("--backend", "-b", help="Simulator backend (circuits).")] = "auto",
    project_id: Annotated[int | None, typer.Option("--project", help="Project id (default: your only one).",
                                                   show_default=False)] = None,
    time_limit_s: Annotated[float | None, typer.Option("--time-limit-s", help="Wall-time limit (s).",
                                                       show_default=False)] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the result and print it.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Submit a circuit (or a network scenario) as a job; print its id."""
    if not file.exists():
        raise CliError(f"{file}: no such file")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise CliError(f"{file}: not a UTF-8 text file") from e
    client = _client(server, token_file)
    if file.suffix.lower() in (".yaml", ".yml", ".json"):
        spec = {"kind": "network", "scenario": text}
        job_id = client.submit(spec, seed=seed, project_id=project_id, time_limit_s=time_limit_s)
    else:
        job_id = client.submit(text, shots=shots, seed=seed, backend=backend, project_id=project_id,
                               time_limit_s=time_limit_s)
    if not wait:
        out(json.dumps({"id": job_id}) if as_json else job_id)
        return
    doc = client.wait(job_id, progress=True)
    _print_result(doc, as_json)


def _print_result(doc: dict, as_json: bool) -> None:
    if as_json:
        out(json.dumps(doc))
        return
    res = doc["result"]
    prov = doc["provenance"]
    out(f"job {doc['job_id']} ({doc['kind']}): seed {prov.get('seed')}, backend {prov.get('backend')}, "
        f"kizuna {prov.get('kizuna_version')}, {prov.get('sim_seconds', 0):.3f} simulator-seconds")
    if doc["kind"] == "circuit":
        for bits, n in sorted(res["counts"].items(), key=lambda kv: (-kv[1], kv[0])):
            out(f"{bits}  {n}")
    else:
        out(json.dumps(res, indent=2))


def jobs(
    server: ServerOpt = None,
    token_file: TokenOpt = None,
    state: Annotated[str | None, typer.Option("--state", help="Only jobs in this state.", show_default=False)]
    = None,
    project_id: Annotated[int | None, typer.Option("--project", help="Only this project.", show_default=False)]
    = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List your projects' jobs, newest first."""
    rows = _client(server, token_file).list_jobs(project_id=project_id, state=state, limit=limit)
    if as_json:
        out(json.dumps(rows))
        return
    out(f"{'id':<28} {'project':>7} {'kind':<8} {'state':<10} {'sim_s':>8}  error")
    for r in rows:
        out(f"{r['id']:<28} {r['project_id']:>7} {r['kind']:<8} {r['state']:<10} {r['sim_seconds']:>8.3f}  "
            f"{r.get('error') or ''}")


def result(
    job_id: Annotated[str, typer.Argument(help="Job id.", metavar="JOB_ID", show_default=False)],
    server: ServerOpt = None,
    token_file: TokenOpt = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the job to finish.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Print a completed job's result and provenance."""
    client = _client(server, token_file)
    doc = client.wait(job_id, progress=True) if wait else client.result(job_id)
    _print_result(doc, as_json)


def cancel(
    job_id: Annotated[str, typer.Argument(help="Job id.", metavar="JOB_ID", show_default=False)],
    server: ServerOpt = None,
    token_file: TokenOpt = None,
) -> None:
    """Cancel a job."""
    st = _client(server, token_file).cancel(job_id)
    out(f"job {job_id}: {st['state']}{' (cancel requested)' if st.get('cancel_requested') else ''}")


admin_app = typer.Typer(
    name="admin",
    help="Administer the job service's database directly (run on the server's machine).",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _db(database_url):
    from kizuna.service._db import Database

    return Database(database_url)


@admin_app.command("bootstrap")
def bootstrap(
    database_url: DbOpt = None,
    institution: Annotated[str, typer.Option("--institution", help="First institution's name.")] = "default",
    project: Annotated[str, typer.Option("--project", help="First project's name.")] = "default",
    user: Annotated[str, typer.Option("--user", help="The administrator's user name.")] = "admin",
    token_file: Annotated[Path | None, typer.Option("--token-file", help="Write the token here (mode 600) "
                                                    "instead of printing it.", show_default=False)] = None,
) -> None:
    """On an empty database: create an institution, a project, an admin user and their token."""
    from kizuna.service._admin import bootstrap as run

    db = _db(database_url)
    try:
        with db.session() as s:
            b = run(s, institution=institution, project=project, user=user)
    finally:
        db.dispose()
    note(f"institution {b.institution_id}, project {b.project_id}, admin user {b.user_id} created")
    _emit_token(b.token, token_file)


def _emit_token(token: str, token_file: Path | None) -> None:
    if token_file is None:
        note("the token is shown once; keep it:")
        out(token)
        return
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    note(f"token written to {token_file}")


@admin_app.command("create-project")
def create_project(
    name: Annotated[str, typer.Argument(help="Project name.", show_default=False)],
    institution_id: Annotated[int, typer.Option("--institution", help="Institution id.")] = 1,
    quota_sim_seconds: Annotated[float | None, typer.Option("--quota-sim-seconds", help="Simulator-seconds budget.",
                                                            show_default=False)] = None,
    max_qubits: Annotated[int, typer.Option("--max-qubits", help="Widest circuit allowed.")] = 24,
    database_url: DbOpt = None,
) -> None:
    """Create a project; print its id."""
    from kizuna.service._admin import create_project as run

    db = _db(database_url)
    try:
        with db.session() as s:
            p = run(s, institution_id, name, quota_sim_seconds=quota_sim_seconds, max_qubits=max_qubits)
            out(str(p.id))
    finally:
        db.dispose()


@admin_app.command("create-user")
def create_user(
    name: Annotated[str, typer.Argument(help="User name.", show_default=False)],
    superuser: Annotated[bool, typer.Option("--superuser", help="A server administrator.")] = False,
    database_url: DbOpt = None,
) -> None:
    """Create a user; print the id."""
    from kizuna.service._admin import create_user as run

    db = _db(database_url)
    try:
        with db.session() as s:
            out(str(run(s, name, is_superuser=superuser).id))
    finally:
        db.dispose()


@admin_app.command("add-member")
def add_member(
    project_id: Annotated[int, typer.Argument(help="Project id.", show_default=False)],
    user_id: Annotated[int, typer.Argument(help="User id.", show_default=False)],
    role: Annotated[str, typer.Option("--role", help="admin, member or viewer.")] = "member",
    database_url: DbOpt = None,
) -> None:
    """Give a user a role in a project."""
    from kizuna.service._admin import add_member as run

    db = _db(database_url)
    try:
        with db.session() as s:
            run(s, project_id, user_id, role)
    finally:
        db.dispose()
    out(f"user {user_id} is {role} of project {project_id}")


@admin_app.command("create-token")
def create_token(
    user_id: Annotated[int, typer.Argument(help="User id.", show_default=False)],
    expires_in_s: Annotated[float | None, typer.Option("--expires-in-s", help="Lifetime in seconds.",
                                                       show_default=False)] = None,
    name: Annotated[str, typer.Option("--name", help="A label.")] = "",
    token_file: Annotated[Path | None, typer.Option("--token-file", help="Write the token here (mode 600).",
                                                    show_default=False)] = None,
    database_url: DbOpt = None,
) -> None:
    """Make an API token for a user (shown once)."""
    from kizuna.service._auth import issue_token

    db = _db(database_url)
    try:
        with db.session() as s:
            secret, row = issue_token(s, user_id, name=name, expires_in_s=expires_in_s)
            note(f"token {row.id} for user {user_id}")
    finally:
        db.dispose()
    _emit_token(secret, token_file)


@admin_app.command("revoke-token")
def revoke_token(
    token_id: Annotated[int, typer.Argument(help="Token id.", show_default=False)],
    database_url: DbOpt = None,
) -> None:
    """Revoke an API token."""
    from kizuna.service._auth import revoke_token as run

    db = _db(database_url)
    try:
        with db.session() as s:
            run(s, token_id)
    finally:
        db.dispose()
    out(f"token {token_id} revoked")
