"""A member of project A can neither see nor touch project B's jobs, through any route.

The table below names every route of the app. A route added without an entry here fails
``test_every_route_is_in_the_isolation_table``, so each new endpoint gets its isolation
checked (or a written reason why it has none).
"""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")

# (method, path) -> how the isolation is checked:
#   "job":     bob (project B only) asks about a job of project A -> 404, nothing leaks
#   "project": bob asks about project A -> 404
#   "token":   bob acts on a token of amy (project A) -> 404
#   "list":    bob's listing shows none of A's jobs
#   "own":     answers about the caller only (whoami, own tokens, a new own token)
#   "public":  no authentication by design (health, OpenAPI, docs, published results)
#   "superuser": server administration; bob is refused with 403
ROUTES = {
    ("GET", "/health"): "public",
    ("GET", "/openapi.json"): "public",
    ("GET", "/docs"): "public",
    ("GET", "/docs/oauth2-redirect"): "public",
    ("GET", "/redoc"): "public",
    ("GET", "/public/results/{link_token}"): "public",
    ("GET", "/api/v1/whoami"): "own",
    ("POST", "/api/v1/jobs"): "project",
    ("GET", "/api/v1/jobs"): "list",
    ("GET", "/api/v1/jobs/{job_id}"): "job",
    ("GET", "/api/v1/jobs/{job_id}/result"): "job",
    ("POST", "/api/v1/jobs/{job_id}/cancel"): "job",
    ("POST", "/api/v1/jobs/{job_id}/publish"): "job",
    ("GET", "/api/v1/projects/{project_id}"): "project",
    ("POST", "/api/v1/projects/{project_id}/members"): "project",
    ("POST", "/api/v1/admin/institutions"): "superuser",
    ("POST", "/api/v1/admin/projects"): "superuser",
    ("POST", "/api/v1/admin/users"): "superuser",
    ("GET", "/api/v1/tokens"): "own",
    ("POST", "/api/v1/tokens"): "own",
    ("DELETE", "/api/v1/tokens/{token_id}"): "token",
}


try:  # the web dashboard's static pages (public, no data), once create_app mounts them
    from kizuna.service._dashboard import DASHBOARD_PATHS
except ImportError:  # pragma: no cover
    DASHBOARD_PATHS = ()
DASHBOARD_ROUTES = {("GET", p) for p in DASHBOARD_PATHS}
ROUTES.update(dict.fromkeys(DASHBOARD_ROUTES, "public"))


def _app_routes(app):
    out = set()
    for route in app.routes:
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                out.add((method, route.path))
    return out


def test_every_route_is_in_the_isolation_table(svc):
    routes = _app_routes(svc.app)
    assert routes - set(ROUTES) == set(), "new routes: add them to ROUTES with their isolation check"
    assert set(ROUTES) - routes <= DASHBOARD_ROUTES, "ROUTES names routes the app does not have"


@pytest.fixture
def finished_job_of_a(svc, submit_job):
    """A completed, published job of project A (so result and publish routes have something)."""
    from kizuna.service.worker import run_worker

    job = submit_job(svc, "amy")
    run_worker(svc.url, once=True, isolation="thread")
    assert svc.http.get(f"/api/v1/jobs/{job}", headers=svc.headers["amy"]).json()["state"] == "COMPLETED"
    return job


def _call(svc, method, path, who, body=None):
    return svc.http.request(method, path, headers=svc.headers[who], json=body)


@pytest.mark.parametrize("method, path", sorted(k for k, v in ROUTES.items() if v == "job"))
def test_job_routes_hide_other_projects_jobs(svc, finished_job_of_a, method, path):
    url = path.format(job_id=finished_job_of_a)
    r = _call(svc, method, url, "bob")
    assert r.status_code == 404, r.text
    assert r.json() == {"detail": f"no job {finished_job_of_a!r}"}  # the same as for a job that never existed
    missing = _call(svc, method, path.format(job_id="job_000000000000000000000000"), "bob")
    assert missing.status_code == 404
    # the owner's project sees it (admin for publish)
    assert _call(svc, method, url, "alice").status_code == 200
    # nothing changed for A: still completed, not cancelled
    assert svc.http.get(f"/api/v1/jobs/{finished_job_of_a}", headers=svc.headers["amy"]).json()["state"] == \
        "COMPLETED"


@pytest.mark.parametrize("method, path", sorted(k for k, v in ROUTES.items() if v == "project"))
def test_project_routes_hide_other_projects(svc, method, path, bell_spec):
    body = {"POST /api/v1/jobs": {"spec": bell_spec(), "project_id": svc.project_a},
            "POST /api/v1/projects/{project_id}/members": {"user_id": svc.users["bob"], "role": "admin"}}
    r = _call(svc, method, path.format(project_id=svc.project_a), "bob", body.get(f"{method} {path}"))
    assert r.status_code == 404, r.text
    assert r.json()["detail"] == f"no project {svc.project_a}"
    assert svc.http.get("/api/v1/jobs", headers=svc.headers["amy"]).json() == []


def test_job_listing_shows_only_the_callers_projects(svc, submit_job):
    a = submit_job(svc, "amy")
    b = submit_job(svc, "bob")
    assert [j["id"] for j in _call(svc, "GET", "/api/v1/jobs", "bob").json()] == [b]
    assert [j["id"] for j in _call(svc, "GET", "/api/v1/jobs", "amy").json()] == [a]
    assert _call(svc, "GET", f"/api/v1/jobs?project_id={svc.project_a}", "bob").json() == []


def test_token_routes_hide_other_users_tokens(svc):
    amy_tokens = _call(svc, "GET", "/api/v1/tokens", "amy").json()
    r = _call(svc, "DELETE", f"/api/v1/tokens/{amy_tokens[0]['id']}", "bob")
    assert r.status_code == 404
    assert _call(svc, "GET", "/api/v1/whoami", "amy").status_code == 200  # still valid
    assert all(t["user_id"] == svc.users["bob"] for t in _call(svc, "GET", "/api/v1/tokens", "bob").json())
    r = _call(svc, "POST", "/api/v1/tokens", "bob", {"user_id": svc.users["amy"]})
    assert r.status_code == 403


def test_own_routes_answer_about_the_caller_only(svc):
    me = _call(svc, "GET", "/api/v1/whoami", "bob").json()
    assert me["user"] == "bob" and set(me["projects"]) == {str(svc.project_b)}


@pytest.mark.parametrize("method, path", sorted(k for k, v in ROUTES.items() if v == "superuser"))
def test_superuser_routes_refuse_project_admins(svc, method, path):
    body = {"name": "x", "institution_id": 1}
    body = {k: v for k, v in body.items() if path.endswith("projects") or k == "name"}
    assert _call(svc, method, path, "bob", body).status_code == 403


def test_a_published_result_is_readable_without_auth_and_nothing_else_is(svc, finished_job_of_a):
    r = _call(svc, "POST", f"/api/v1/jobs/{finished_job_of_a}/publish", "alice")
    link = r.json()["link_token"]
    assert r.json()["path"] == f"/public/results/{link}"
    public = svc.http.get(f"/public/results/{link}")
    assert public.status_code == 200
    private = svc.http.get(f"/api/v1/jobs/{finished_job_of_a}/result", headers=svc.headers["amy"]).json()
    assert public.json() == private
    # publishing twice gives the same link; other links and the job routes stay closed
    assert _call(svc, "POST", f"/api/v1/jobs/{finished_job_of_a}/publish", "alice").json()["link_token"] == link
    assert svc.http.get("/public/results/not-a-link").status_code == 404
    assert svc.http.get(f"/api/v1/jobs/{finished_job_of_a}/result").status_code == 401
    assert svc.http.get(f"/api/v1/jobs/{finished_job_of_a}").status_code == 401
