"""A client for the Kizuna job service: submit jobs, follow them, fetch results.

    >>> from kizuna.client import Client
    >>> client = Client("http://127.0.0.1:8000", token="kz_...")     # doctest: +SKIP
    >>> job = client.submit(kizuna.Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1]),
    ...                     shots=1000, seed=7)                        # doctest: +SKIP
    >>> client.wait(job)["result"]["counts"]                           # doctest: +SKIP
    {'00': 497, '11': 503}

Failures raise ``kizuna.errors.ServiceError`` naming the job or the URL and the server's
message. Standard library only (``urllib``): importing this module loads nothing heavy, and the
token is sent in the ``Authorization`` header only, never in a URL or a message.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from .errors import ServiceError

__all__ = ["Client"]

FINAL_STATES = ("COMPLETED", "FAILED", "CANCELLED")


class Client:
    """A connection to a Kizuna job service at ``url`` with an API ``token``.

    Args:
        url: the server's base URL, e.g. ``"http://127.0.0.1:8000"``.
        token: an API token (``kz_...``).
        timeout: seconds to wait for each HTTP request.
        retries: how many times a request answered 429 (rate limit) or 503 is retried, after
            the ``Retry-After`` the server gives.

    Raises:
        ServiceError: from every method, naming the job or URL and the server's reason.
    """

    def __init__(self, url: str, token: str, *, timeout: float = 30.0, retries: int = 5):
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ServiceError(f"url must start with http:// or https:// (got {url!r})")
        if not isinstance(token, str) or not token.strip():
            raise ServiceError("token must be a non-empty string")
        self.url = url.rstrip("/")
        self._token = token.strip()
        self.timeout = float(timeout)
        self.retries = int(retries)

    def __repr__(self) -> str:  # never show the token
        return f"Client({self.url!r})"

    # --- HTTP ---------------------------------------------------------------------------------
    def _request(self, method: str, path: str, body=None, *, what: str | None = None):
        url = self.url + path
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(self.retries + 1):
            req = urllib.request.Request(url, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return json.loads(resp.read().decode("utf-8") or "null")
            except urllib.error.HTTPError as exc:
                detail = _detail(exc)
                if exc.code in (429, 503) and attempt < self.retries:
                    time.sleep(min(30.0, float(exc.headers.get("Retry-After") or 1)))
                    continue
                raise ServiceError(f"{what or method + ' ' + url}: HTTP {exc.code}: {detail}") from None
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                raise ServiceError(f"cannot reach the job service at {self.url}: {reason}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    # --- jobs ---------------------------------------------------------------------------------
    def submit(self, job, *, shots: int | None = None, seed: int | None = None, backend: str | None = None,
               project_id: int | None = None, time_limit_s: float | None = None, **fields) -> str:
        """Queue a job; returns its id.

        Args:
            job: a ``kizuna.Circuit``, OpenQASM 2 text, or a spec dict (``{"kind": ...}``; see
                ``kizuna.service._runner``).
            shots, seed, backend: for circuits (``seed`` for every kind).
            project_id: the project to charge (default: the caller's only project).
            time_limit_s: the job's wall-time limit in seconds.
            **fields: further spec fields (``noise``, ``device``, ``memory``...).
        """
        if isinstance(job, dict):
            spec = dict(job)
        else:
            if not isinstance(job, str):
                from .computing.qasm2 import dumps

                job = dumps(job)
            spec = {"kind": "circuit", "qasm": job}
        for key, value in (("shots", shots), ("seed", seed), ("backend", backend)):
            if value is not None:
                spec[key] = value
        spec.update(fields)
        body = {"spec": spec}
        if project_id is not None:
            body["project_id"] = project_id
        if time_limit_s is not None:
            body["time_limit_s"] = time_limit_s
        return self._request("POST", "/api/v1/jobs", body, what=f"submitting a {spec.get('kind')} job to {self.url}")["id"]

    def status(self, job_id: str) -> dict:
        """The job's state, queue position, progress, times and error."""
        return self._request("GET", f"/api/v1/jobs/{_quote(job_id)}", what=f"job {job_id}")

    def result(self, job_id: str) -> dict:
        """``{"job_id", "kind", "result", "provenance", "result_sha256"}`` of a completed job.

        Raises:
            ServiceError: the job is not completed (HTTP 409 with its state and error).
        """
        return self._request("GET", f"/api/v1/jobs/{_quote(job_id)}/result", what=f"result of job {job_id}")

    def cancel(self, job_id: str) -> dict:
        """Cancel the job (a running one stops at its worker's next heartbeat)."""
        return self._request("POST", f"/api/v1/jobs/{_quote(job_id)}/cancel", what=f"cancelling job {job_id}")

    def publish(self, job_id: str) -> dict:
        """Publish a completed job's result (project admins): ``{"link_token", "url", ...}``."""
        return self._request("POST", f"/api/v1/jobs/{_quote(job_id)}/publish", what=f"publishing job {job_id}")

    def list_jobs(self, *, project_id: int | None = None, state: str | None = None, limit: int = 100) -> list[dict]:
        """The caller's projects' jobs, newest first."""
        query = {k: v for k, v in (("project_id", project_id), ("state", state), ("limit", limit)) if v is not None}
        return self._request("GET", "/api/v1/jobs?" + urllib.parse.urlencode(query), what=f"listing jobs at {self.url}")

    def whoami(self) -> dict:
        return self._request("GET", "/api/v1/whoami")

    def wait(self, job_id: str, timeout: float | None = None, progress: bool = True, *,
             poll_s: float = 0.2, max_poll_s: float = 2.0) -> dict:
        """Wait until the job finishes; return its result document.

        Args:
            timeout: seconds to wait at most (``None``: forever).
            progress: write the state and progress to stderr as it changes (on a terminal, one
                line rewritten in place).
            poll_s, max_poll_s: the first and the longest pause between polls (it doubles).

        Raises:
            ServiceError: the job failed or was cancelled (with its reason), or ``timeout``
                passed (naming the job and its state).
        """
        start = time.monotonic()
        pause = poll_s
        last = None
        while True:
            st = self.status(job_id)
            line = f"job {job_id}: {st['state']}"
            if st["state"] == "QUEUED" and st.get("queue_position"):
                line += f" (position {st['queue_position']})"
            elif st["state"] == "RUNNING":
                line += f" {100 * (st.get('progress') or 0):.0f}%"
            if progress and line != last:
                tty = sys.stderr.isatty()
                sys.stderr.write(("\r\x1b[2K" if tty else "") + line + ("" if tty else "\n"))
                sys.stderr.flush()
                last = line
            if st["state"] in FINAL_STATES:
                if progress and sys.stderr.isatty():
                    sys.stderr.write("\n")
                if st["state"] != "COMPLETED":
                    raise ServiceError(f"job {job_id} {st['state'].lower()}: {st.get('error') or 'no reason given'}")
                return self.result(job_id)
            if timeout is not None and time.monotonic() - start >= timeout:
                raise ServiceError(f"job {job_id} still {st['state']} after {timeout:g} s")
            time.sleep(pause if timeout is None else max(0.0, min(pause, timeout - (time.monotonic() - start))))
            pause = min(max_poll_s, pause * 2)


def _quote(job_id: str) -> str:
    return urllib.parse.quote(str(job_id), safe="")


def _detail(exc) -> str:
    try:
        doc = json.loads(exc.read().decode("utf-8"))
        detail = doc.get("detail", doc)
        return detail if isinstance(detail, str) else json.dumps(detail)
    except (ValueError, AttributeError, OSError):
        return exc.reason or "no detail"
