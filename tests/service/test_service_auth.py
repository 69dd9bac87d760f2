"""Authentication, roles, rate limits, and secrets that never leak."""

from __future__ import annotations

import hashlib
import logging

import pytest

pytest.importorskip("fastapi")


def test_public_endpoints_need_no_token(svc):
    assert svc.http.get("/health").json()["status"] == "ok"
    doc = svc.http.get("/openapi.json").json()
    assert "/api/v1/jobs" in doc["paths"]


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer kz_not_a_token", "Basic abc", "kz_nothing"])
def test_missing_or_unknown_token_is_401(svc, header):
    headers = {} if header is None else {"Authorization": header}
    r = svc.http.get("/api/v1/jobs", headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


def test_expired_token_is_401(svc):
    from kizuna.service._auth import issue_token

    with svc.app.state.db.session() as s:
        secret, _ = issue_token(s, svc.users["amy"], expires_in_s=10, now=0.0)  # expired long ago
    r = svc.http.get("/api/v1/jobs", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 401
    assert "expired" in r.json()["detail"]
    assert secret not in r.text


def test_revoked_token_is_401_and_only_its_owner_or_a_superuser_revokes(svc):
    r = svc.http.post("/api/v1/tokens", json={"name": "laptop"}, headers=svc.headers["amy"])
    assert r.status_code == 201
    token, token_id = r.json()["token"], r.json()["id"]
    h = {"Authorization": f"Bearer {token}"}
    assert svc.http.get("/api/v1/whoami", headers=h).json()["user"] == "amy"
    assert svc.http.delete(f"/api/v1/tokens/{token_id}", headers=svc.headers["bob"]).status_code == 404
    assert svc.http.delete(f"/api/v1/tokens/{token_id}", headers=svc.headers["amy"]).status_code == 200
    r = svc.http.get("/api/v1/whoami", headers=h)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    # the listing never shows a secret
    listed = svc.http.get("/api/v1/tokens", headers=svc.headers["amy"]).json()
    assert all("token" not in t for t in listed) and any(t["revoked_at"] for t in listed)


def test_tokens_are_stored_hashed(svc):
    from pathlib import Path

    data = Path(svc.url.removeprefix("sqlite:///"))
    svc.app.state.db.engine.dispose()
    raw = b"".join(p.read_bytes() for p in (data, data.with_name(data.name + "-wal")) if p.exists())
    for secret in svc.tokens.values():
        assert secret.encode() not in raw
        assert hashlib.sha256(secret.encode()).hexdigest().encode() in raw


def test_viewer_cannot_submit_and_member_cannot_publish(svc, bell_spec, submit_job):
    r = svc.http.post("/api/v1/jobs", json={"spec": bell_spec()}, headers=svc.headers["vic"])
    assert r.status_code == 403
    assert "viewer" in r.json()["detail"]
    job = submit_job(svc, "amy")
    assert svc.http.get(f"/api/v1/jobs/{job}", headers=svc.headers["vic"]).status_code == 200
    assert svc.http.post(f"/api/v1/jobs/{job}/cancel", headers=svc.headers["vic"]).status_code == 403
    assert svc.http.post(f"/api/v1/jobs/{job}/publish", headers=svc.headers["amy"]).status_code == 403


def test_a_member_cancels_only_their_own_jobs_an_admin_any(svc, submit_job):
    mine = submit_job(svc, "alice")
    assert svc.http.post(f"/api/v1/jobs/{mine}/cancel", headers=svc.headers["amy"]).status_code == 403
    theirs = submit_job(svc, "amy")
    assert svc.http.post(f"/api/v1/jobs/{theirs}/cancel", headers=svc.headers["alice"]).json()["state"] == "CANCELLED"


@pytest.mark.parametrize("path, body", [
    ("/api/v1/admin/institutions", {"name": "x"}),
    ("/api/v1/admin/projects", {"institution_id": 1, "name": "x"}),
    ("/api/v1/admin/users", {"name": "x"}),
])
def test_admin_endpoints_are_for_superusers(svc, path, body):
    assert svc.http.post(path, json=body, headers=svc.headers["alice"]).status_code == 403
    assert svc.http.post(path, json=body, headers=svc.headers["root"]).status_code == 201


def test_project_admin_manages_members_but_not_of_other_projects(svc):
    r = svc.http.post(f"/api/v1/projects/{svc.project_a}/members",
                      json={"user_id": svc.users["bob"], "role": "viewer"}, headers=svc.headers["alice"])
    assert r.status_code == 201
    r = svc.http.post(f"/api/v1/projects/{svc.project_a}/members",
                      json={"user_id": svc.users["vic"], "role": "admin"}, headers=svc.headers["amy"])
    assert r.status_code == 403
    r = svc.http.post(f"/api/v1/projects/{svc.project_a}/members",
                      json={"user_id": svc.users["vic"], "role": "owner"}, headers=svc.headers["alice"])
    assert r.status_code == 422 and "'owner'" in r.json()["detail"]


def test_rate_limit_answers_429_with_retry_after(make_service, tmp_path):
    svc = make_service(tmp_path, rate_limit_per_s=1.0, rate_burst=3)
    codes = [svc.http.get("/api/v1/whoami", headers=svc.headers["amy"]).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]
    r = svc.http.get("/api/v1/whoami", headers=svc.headers["amy"])
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    # per token: another user's token is unaffected
    assert svc.http.get("/api/v1/whoami", headers=svc.headers["bob"]).status_code == 200
    svc.app.state.db.dispose()


def test_tokens_never_appear_in_logs(svc, caplog, submit_job):
    caplog.set_level(logging.DEBUG)
    job = submit_job(svc, "amy")
    svc.http.get(f"/api/v1/jobs/{job}", headers=svc.headers["amy"])
    svc.http.get("/api/v1/jobs", headers={"Authorization": "Bearer kz_wrong_secret_value"})
    from kizuna.service.worker import run_worker

    run_worker(svc.url, once=True, isolation="thread")
    text = caplog.text
    assert job in text or text == ""  # the worker logs job ids, never secrets
    for secret in [*svc.tokens.values(), "kz_wrong_secret_value"]:
        assert secret not in text


def test_bootstrap_refuses_a_database_with_users(svc):
    from kizuna.errors import ServiceError
    from kizuna.service._admin import bootstrap

    with pytest.raises(ServiceError, match="has users already"), svc.app.state.db.session() as s:
        bootstrap(s)
