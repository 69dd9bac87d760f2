"""Workers: take jobs from the database with a lease, run them, store the outcome once.

``run_worker(url)`` loops: re-queue jobs whose lease expired, claim the next job in fair-share
order (``_jobs.claim``), run it while renewing the lease every ``heartbeat_s`` seconds, and
complete or fail it. A worker that dies stops renewing; after ``lease_s`` any other worker
re-queues the job and runs it again from its recorded seed (same inputs, same result), and
the dead worker's completion, should it ever arrive, is rejected (``LeaseLost``).

Isolation: by default (``isolation="process"``) jobs run in a child process (forked from a
``forkserver`` that imported Kizuna once; a new child after a kill), so a job over its time
limit or cancelled while running is stopped for real, and a child dies with its worker
(``PR_SET_PDEATHSIG`` on Linux; the fork server exits with the worker).
``isolation="thread"`` runs jobs in a thread of the worker: faster to start, but a job over
its limit is only marked FAILED; its computation runs on to the end in the background.

Run one from a shell with ``kizuna worker --database-url URL`` or
``python -m kizuna.service.worker --database-url URL``.
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import os
import socket
import threading
import time
import traceback

from sqlalchemy.exc import DBAPIError

from ..errors import ServiceError
from ._db import Database, current_revision
from ._jobs import (
    ClaimedJob,
    LeaseLost,
    claim,
    complete,
    fail,
    has_expired_leases,
    has_queued_jobs,
    heartbeat,
    requeue_expired,
)

__all__ = ["run_worker"]

log = logging.getLogger("kizuna.service.worker")


class _Dask(concurrent.futures.Executor):
    """The executor of a Dask cluster, connected on first use (most jobs never need it)."""

    def __init__(self, address: str):
        self.address, self._client = address, None

    def submit(self, fn, /, *args, **kwargs):
        if self._client is None:
            from .._optional import require

            distributed = require("distributed", "dask")
            self._client = distributed.Client(self.address, timeout=30)
        return self._client.get_executor().submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @staticmethod
    def make(address: str | None):
        return None if address is None else _Dask(address)


def _child_main(conn, dask_scheduler=None) -> None:  # pragma: no cover - runs in the spawned child
    try:  # die with the worker, even when it is killed with SIGKILL
        import ctypes
        import signal

        # PR_SET_PDEATHSIG: the parent is the fork server, which exits when its worker does
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGKILL))
        if os.getppid() == 1:
            os._exit(0)
    except (OSError, AttributeError):
        pass
    import kizuna  # noqa: F401 - load the library before saying ready: a job's clock starts after

    from ._runner import execute

    dask = _Dask.make(dask_scheduler)
    conn.send(("ready",))
    while True:
        try:
            spec = conn.recv()
        except (EOFError, OSError):
            return
        if spec is None:
            if dask is not None:
                dask.shutdown()
            return
        t0 = time.perf_counter()
        try:
            result, prov = execute(spec, progress=_throttled(conn.send), executor=dask)
            conn.send(("ok", result, prov, time.perf_counter() - t0))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back as text
            conn.send(("error", f"{type(exc).__name__}: {exc}", None, time.perf_counter() - t0))


def _throttled(send):
    """A progress callback that passes a fraction on at most every 0.2 s."""
    last = [0.0]

    def report(fraction):
        now = time.monotonic()
        if now - last[0] >= 0.2 or fraction >= 1.0:
            last[0] = now
            send(("progress", float(fraction)))

    return report


class _ProcessRunner:
    """One persistent child process that runs specs; ``kill`` and a new one on demand."""

    def __init__(self, dask_scheduler: str | None = None):
        self._proc = None
        self._conn = None
        self._dask_scheduler = dask_scheduler

    def _ensure(self):
        if self._proc is None or not self._proc.is_alive():
            ctx = multiprocessing.get_context("forkserver")
            # children fork from a server that has imported Kizuna once: a restart after a
            # kill costs milliseconds, not an interpreter start
            ctx.set_forkserver_preload(["kizuna", "kizuna.service._runner"])
            parent, child = ctx.Pipe()
            self._proc = ctx.Process(target=_child_main, args=(child, self._dask_scheduler), daemon=True,
                                     name="kizuna-job")
            self._proc.start()
            child.close()
            self._conn = parent
            if not parent.poll(300) or parent.recv() != ("ready",):
                raise RuntimeError("the job process did not start")

    def ready(self) -> None:
        """Start the child process now (so a job's time limit does not pay for it)."""
        self._ensure()

    def start(self, spec: dict) -> None:
        self._ensure()
        self._conn.send(spec)

    def poll(self, timeout: float):
        """``("progress", f)``, ``("ok", result, prov, s)``, ``("error", msg, None, s)`` or ``None``."""
        try:
            if self._conn.poll(timeout):
                return self._conn.recv()
        except (EOFError, OSError):
            return ("error", f"the job process died (exit code {self._proc.exitcode})", None, 0.0)
        if not self._proc.is_alive():
            return ("error", f"the job process died (exit code {self._proc.exitcode})", None, 0.0)
        return None

    def kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(5)
            self._proc = None

    def close(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            try:
                self._conn.send(None)
            except OSError:
                pass
            self._proc.join(2)
            if self._proc.is_alive():
                self._proc.kill()
        self._proc = None


class _ThreadRunner:
    """Runs a spec in a daemon thread of this process (cannot be stopped)."""

    def __init__(self, dask_scheduler: str | None = None):
        import queue

        self._queue = queue.Queue()
        self._q = queue
        self._dask = _Dask.make(dask_scheduler)

    def start(self, spec: dict) -> None:
        from ._runner import execute

        q = self._queue = self._q.Queue()

        def work():
            t0 = time.perf_counter()
            try:
                result, prov = execute(spec, progress=_throttled(q.put), executor=self._dask)
                q.put(("ok", result, prov, time.perf_counter() - t0))
            except BaseException as exc:  # noqa: BLE001
                q.put(("error", f"{type(exc).__name__}: {exc}", None, time.perf_counter() - t0))

        threading.Thread(target=work, daemon=True, name="kizuna-job").start()

    def poll(self, timeout: float):
        try:
            return self._queue.get(timeout=timeout)
        except self._q.Empty:
            return None

    def kill(self) -> None:
        self._queue = self._q.Queue()  # forget the running thread's messages

    def ready(self) -> None:
        pass

    def close(self) -> None:
        if self._dask is not None:
            self._dask.shutdown()


def _provenance(prov: dict, worker_id: str) -> dict:
    import kizuna

    out = dict(prov or {})
    out.update({"kizuna_version": kizuna.__version__, "worker": worker_id})
    return out


def run_job(db: Database, job: ClaimedJob, runner, *, worker_id: str, lease_s: float, heartbeat_s: float) -> str:
    """Run one claimed job to its end; returns its final state (or ``"LOST"`` when the lease
    was lost and the outcome discarded)."""
    t0 = time.monotonic()
    runner.start(job.spec)
    progress = None
    next_beat = t0 + heartbeat_s
    while True:
        now = time.monotonic()
        elapsed = now - t0
        msg = runner.poll(max(0.0, min(next_beat, t0 + job.time_limit_s) - now))
        try:
            if msg is not None and msg[0] == "progress":
                progress, msg = msg[1], None
            if msg is not None and msg[0] == "ok":
                with db.session() as s:
                    complete(s, job.id, job.lease_token, msg[1], _provenance(msg[2], worker_id),
                             sim_seconds=msg[3])
                return "COMPLETED"
            if msg is not None:
                with db.session() as s:
                    fail(s, job.id, job.lease_token, msg[1], sim_seconds=msg[3])
                return "FAILED"
            if elapsed >= job.time_limit_s:
                runner.kill()
                with db.session() as s:
                    fail(s, job.id, job.lease_token, f"time limit of {job.time_limit_s:g} s exceeded",
                         sim_seconds=elapsed)
                return "FAILED"
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + heartbeat_s
                with db.session() as s:
                    if heartbeat(s, job.id, job.lease_token, lease_s=lease_s, progress=progress) == "cancel":
                        runner.kill()
                        fail(s, job.id, job.lease_token, "cancelled while running", cancelled=True,
                             sim_seconds=time.monotonic() - t0)
                        return "CANCELLED"
        except LeaseLost:
            log.warning("job %s: lease lost; discarding this run", job.id)
            runner.kill()
            return "LOST"


def _next_job(db: Database, worker_id: str, *, lease_s: float, max_attempts: int, requeue: bool):
    if requeue:
        with db.read_session() as s:
            stale = has_expired_leases(s)
        if stale:
            with db.session() as s:
                requeue_expired(s, max_attempts=max_attempts)
    with db.read_session() as s:  # look without the write lock first: idle workers stay cheap
        if not has_queued_jobs(s):
            return None
    with db.session() as s:
        return claim(s, worker_id, lease_s=lease_s)


def run_worker(database_url: str | None = None, *, once: bool = False, poll_s: float = 0.5, lease_s: float = 30.0,
               heartbeat_s: float | None = None, isolation: str = "process", worker_id: str | None = None,
               max_jobs: int | None = None, max_attempts: int = 3, stop: threading.Event | None = None,
               dask_scheduler: str | None = None) -> int:
    """Take and run jobs until ``stop`` is set (or, with ``once``, until the queue is empty;
    or after ``max_jobs`` jobs). Returns the number of jobs this worker finished.

    Args:
        database_url: the service database (default: the data directory's SQLite file).
        poll_s: seconds between looks at an empty queue.
        lease_s: how long a claim lasts without a heartbeat (seconds).
        heartbeat_s: seconds between lease renewals (default ``lease_s / 3``).
        isolation: ``"process"`` (default) or ``"thread"`` (see the module docstring).
        dask_scheduler: a Dask scheduler address (``tcp://host:8786``): circuit jobs of more
            than ``_runner.SHOT_CHUNK`` shots send their chunks there (same counts as without).

    Raises:
        ValueError: a bad ``isolation``, ``lease_s`` or ``poll_s``.
    """
    if isolation not in ("process", "thread"):
        raise ValueError(f"isolation must be 'process' or 'thread' (got {isolation!r})")
    if not lease_s > 0 or not poll_s > 0:
        raise ValueError(f"lease_s and poll_s must be > 0 (got {lease_s!r}, {poll_s!r})")
    heartbeat_s = lease_s / 3 if heartbeat_s is None else heartbeat_s
    worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"
    db = Database(database_url, upgrade=False)  # the server migrates; workers only check
    if current_revision(db.url) is None:
        db.dispose()
        raise ServiceError(f"the database at {_safe_url(db.url)} has no Kizuna job schema; start the server "
                           "('kizuna serve') or run 'kizuna admin bootstrap' first")
    runner = _ProcessRunner(dask_scheduler) if isolation == "process" else _ThreadRunner(dask_scheduler)
    done = 0
    next_requeue = 0.0
    try:
        while stop is None or not stop.is_set():
            runner.ready()
            try:
                job = _next_job(db, worker_id, lease_s=lease_s, max_attempts=max_attempts,
                                requeue=time.monotonic() >= next_requeue)
            except DBAPIError as exc:  # the database is away or busy: try again, do not die
                log.warning("cannot reach the database: %s", exc.__class__.__name__)
                job = None
            if time.monotonic() >= next_requeue:
                next_requeue = time.monotonic() + min(lease_s / 2, 5.0)
            if job is None:
                if once:
                    break
                if stop is not None:
                    stop.wait(poll_s)
                else:
                    time.sleep(poll_s)
                continue
            log.info("job %s: claimed (attempt %d)", job.id, job.attempt)
            try:
                state = run_job(db, job, runner, worker_id=worker_id, lease_s=lease_s, heartbeat_s=heartbeat_s)
            except Exception:  # noqa: BLE001 - a database hiccup: the lease expires, the job re-queues
                log.error("job %s: %s", job.id, traceback.format_exc())
                runner.kill()
                continue
            log.info("job %s: %s", job.id, state)
            if state != "LOST":
                done += 1
            if max_jobs is not None and done >= max_jobs:
                break
    finally:
        runner.close()
        db.dispose()
    return done


def _safe_url(url: str) -> str:
    """``url`` without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m kizuna.service.worker --database-url URL [--lease-s S] [--poll-s S] [--once]
    [--isolation process|thread]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m kizuna.service.worker")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--lease-s", type=float, default=30.0)
    parser.add_argument("--heartbeat-s", type=float, default=None)
    parser.add_argument("--poll-s", type=float, default=0.5)
    parser.add_argument("--isolation", default="process")
    parser.add_argument("--worker-id", default=None)
    parser.add_argument("--once", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run_worker(args.database_url, once=args.once, poll_s=args.poll_s, lease_s=args.lease_s,
               heartbeat_s=args.heartbeat_s, isolation=args.isolation, worker_id=args.worker_id)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
