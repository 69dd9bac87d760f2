"""``kizuna serve / worker / submit / jobs / result / cancel / admin``, run in-process, and the
client's errors."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
typer = pytest.importorskip("typer")

import kizuna

# (not imported from conftest: with several conftest modules, "import conftest" is ambiguous)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _app():
    from kizuna.cli import service

    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    for name in ("serve", "worker", "submit", "jobs", "result", "cancel"):
        app.command(name)(getattr(service, name))
    app.add_typer(service.admin_app, name="admin")
    return app


def run_cli(*args) -> int:
    """As ``kizuna.cli.main`` does for registered commands: 0, or 1 with one error line."""
    import sys

    from kizuna.cli._common import CliError
    from kizuna.errors import KizunaError

    try:
        typer.main.get_command(_app()).main(args=[str(a) for a in args], prog_name="kizuna", standalone_mode=False)
        return 0
    except (CliError, KizunaError) as e:
        sys.stderr.write(f"kizuna: error: {e}\n")
        return 1


def test_admin_commands_make_a_working_setup(tmp_path, capsys):
    from kizuna.service._auth import authenticate
    from kizuna.service._db import Database

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    token_file = tmp_path / "admin.token"
    assert run_cli("admin", "bootstrap", "--database-url", url, "--token-file", token_file) == 0
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    assert run_cli("admin", "bootstrap", "--database-url", url) == 1
    assert "has users already" in capsys.readouterr().err
    assert run_cli("admin", "create-project", "physics", "--quota-sim-seconds", "100", "--database-url", url) == 0
    project = int(capsys.readouterr().out.strip())
    assert run_cli("admin", "create-user", "carol", "--database-url", url) == 0
    user = int(capsys.readouterr().out.strip())
    assert run_cli("admin", "add-member", project, user, "--role", "viewer", "--database-url", url) == 0
    assert capsys.readouterr().out.strip() == f"user {user} is viewer of project {project}"
    assert run_cli("admin", "create-token", user, "--expires-in-s", "60", "--database-url", url) == 0
    captured = capsys.readouterr()
    secret = captured.out.strip()
    assert secret.startswith("kz_") and "shown once" in captured.err
    db = Database(url, upgrade=False)
    with db.session() as s:
        who = authenticate(s, secret)
        assert who.user_name == "carol" and who.roles == {project: "viewer"}
        admin = authenticate(s, token_file.read_text().strip())
        assert admin.is_superuser
    assert run_cli("admin", "revoke-token", "2", "--database-url", url) == 0
    from kizuna.service._auth import AuthError

    with pytest.raises(AuthError, match="revoked"), db.session() as s:
        authenticate(s, secret)
    assert run_cli("admin", "add-member", project, user, "--role", "boss", "--database-url", url) == 1
    assert "'boss'" in capsys.readouterr().err
    db.dispose()


def test_submit_jobs_result_against_a_live_server(svc, live_server, tmp_path, capsys):
    from kizuna.service.worker import run_worker

    token_file = tmp_path / "amy.token"
    token_file.write_text(svc.tokens["amy"] + "\n")
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(svc.url,),
                              kwargs={"isolation": "thread", "poll_s": 0.05, "stop": stop}, daemon=True)
    worker.start()
    try:
        with live_server(svc.app) as server:
            common = ["--server", server.url, "--token-file", token_file]
            assert run_cli("submit", EXAMPLES / "bell.qasm", *common, "--seed", 3, "--shots", 300, "--wait",
                           "--json") == 0
            doc = json.loads(capsys.readouterr().out)
            bell = kizuna.qasm2.load(EXAMPLES / "bell.qasm")
            assert doc["result"]["counts"] == kizuna.run(bell, shots=300, seed=3).counts
            assert run_cli("jobs", *common, "--json") == 0
            listed = json.loads(capsys.readouterr().out)
            assert [j["id"] for j in listed] == [doc["job_id"]] and listed[0]["state"] == "COMPLETED"
            assert run_cli("result", doc["job_id"], *common) == 0
            text = capsys.readouterr().out
            assert "seed 3" in text and "00" in text and "11" in text
            assert run_cli("result", "job_nope", *common) == 1
            assert "job job_nope" in capsys.readouterr().err
            assert run_cli("submit", EXAMPLES / "bell.qasm", "--server", server.url, "--token-file",
                           tmp_path / "missing.token") == 1
            assert "missing.token: no such token file" in capsys.readouterr().err
    finally:
        stop.set()
        worker.join(30)


def test_client_errors_name_the_url_and_never_the_token():
    from kizuna.client import Client
    from kizuna.errors import ServiceError

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = Client(f"http://127.0.0.1:{port}", "kz_secret_value", timeout=5)
    assert "kz_secret_value" not in repr(client)
    with pytest.raises(ServiceError, match=f"cannot reach the job service at http://127.0.0.1:{port}") as info:
        client.status("job_x")
    assert "kz_secret_value" not in str(info.value)
    with pytest.raises(ServiceError, match="url must start with http"):
        Client("ftp://x", "t")
