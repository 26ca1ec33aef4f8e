"""Background jobs: long work runs as `python -m core ...` in its own process, never in the web server.

A job's state is `jobs/<id>.json` (kind, argv, status, progress, rate, ETA, error, pid). The job
process updates it through `JobReporter`, which is also the `progress` callback handed to core
functions; it raises Cancelled when `jobs/<id>.cancel` appears. A job whose process died while
"running" reads as "interrupted"; `resume_job` starts the same command again, and the work resumes
from its checkpoints (which are keyed by what is computed, not by the job).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from core.errors import Cancelled, WinnowError
from core.progress import Progress, TerminalBar
from core.workspace import Workspace, read_json, write_json

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ACTIVE = {"queued", "running"}
WRITE_EVERY_S = 0.5


def _job_path(ws: Workspace, job_id: str) -> Path:
    if not job_id.replace("-", "").replace("_", "").isalnum():
        raise WinnowError(f"invalid job id {job_id!r}")
    return ws.dir("jobs") / f"{job_id}.json"


def new_job_id(kind: str) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{kind.replace('_', '-')}-{secrets.token_hex(3)}"


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (finished, not yet reaped by its parent) is not alive
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def read_job(ws: Workspace, job_id: str) -> dict[str, Any] | None:
    try:
        job = read_json(_job_path(ws, job_id))
    except (ValueError, OSError):
        return None
    # a job whose process is gone reads as interrupted; a queued one gets a grace period, since
    # its process may not have written its pid yet
    if (job and job.get("status") in ACTIVE and not _pid_alive(job.get("pid"))
            and (job.get("status") == "running" or time.time() - job.get("created_ts", 0) > 30)):
        job["status"] = "interrupted"
    return job


def list_jobs(ws: Workspace, limit: int = 50, kind: str | None = None) -> list[dict[str, Any]]:
    files = sorted(ws.dir("jobs").glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    jobs = []
    for f in files:
        job = read_job(ws, f.stem)
        if job and (kind is None or job.get("kind") == kind):
            jobs.append(job)
        if len(jobs) >= limit:
            break
    return jobs


def start_job(ws: Workspace, kind: str, argv: list[str], title: str | None = None, job_id: str | None = None) -> str:
    """Start `python -m core <argv> --workspace W --job-id ID` detached; return the job id."""
    job_id = job_id or new_job_id(kind)
    path = _job_path(ws, job_id)
    (ws.dir("jobs") / f"{job_id}.cancel").unlink(missing_ok=True)
    record = {
        "id": job_id, "kind": kind, "title": title or kind, "argv": argv, "status": "queued",
        "done": 0, "total": 0, "rate": None, "eta_s": None, "error": None, "result": None,
        "created": time.strftime("%Y-%m-%d %H:%M:%S"), "created_ts": time.time(),
        "started": None, "ended": None, "pid": None,
    }
    write_json(record, path)
    log = open(ws.dir("jobs") / f"{job_id}.log", "ab")  # noqa: SIM115 - handed to the child
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(  # noqa: S603 - our own CLI with an argument list
        [sys.executable, "-m", "core", *argv, "--workspace", str(ws.root), "--job-id", job_id, "--quiet"],
        cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True, env=env,
    )
    log.close()
    record["pid"] = proc.pid
    current = read_json(path) or record
    if current.get("pid") is None:  # the child may already have written its own state
        current["pid"] = proc.pid
        write_json(current, path)
    return job_id


def cancel_job(ws: Workspace, job_id: str, grace_s: float = 10.0) -> None:
    """Ask the job to stop at its next progress report; terminate it if it does not within grace_s."""
    (ws.dir("jobs") / f"{job_id}.cancel").touch()
    job = read_job(ws, job_id)
    if not job or job.get("status") not in ACTIVE:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        job = read_job(ws, job_id)
        if not job or job.get("status") not in ACTIVE:
            return
        time.sleep(0.2)
    pid = job.get("pid")
    if _pid_alive(pid):
        try:  # jobs started by start_job lead their own process group (their children go too)
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGTERM)
            else:  # a job run by hand shares the terminal's group: stop only its process
                os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    job["status"] = "cancelled"
    job["ended"] = time.strftime("%Y-%m-%d %H:%M:%S")
    write_json({k: v for k, v in job.items()}, _job_path(ws, job_id))


def resume_job(ws: Workspace, job_id: str) -> str:
    """Run an interrupted, failed or cancelled job's command again; it resumes from its checkpoints."""
    job = read_job(ws, job_id)
    if job is None:
        raise WinnowError(f"no job {job_id!r}")
    if job.get("status") in ACTIVE:
        raise WinnowError(f"job {job_id} is still {job['status']}")
    return start_job(ws, job["kind"], job["argv"], job.get("title"), job_id=job_id)


class JobReporter:
    """The progress callback inside a job process: writes jobs/<id>.json, honours cancel requests."""

    def __init__(self, ws: Workspace, job_id: str, kind: str, argv: list[str], echo: Progress | None = None) -> None:
        self.ws, self.job_id = ws, job_id
        self.path = _job_path(ws, job_id)
        self.cancel_file = ws.dir("jobs") / f"{job_id}.cancel"
        self.echo = echo
        self.started = time.monotonic()
        self._last_write = 0.0
        # the rate counts work done in this run and stage: documents found in a checkpoint or cache
        # (done at once) and the time spent loading a model would otherwise distort it and the ETA
        self._base: tuple[float, int] | None = None
        old = read_json(self.path) or {}
        self.state: dict[str, Any] = {
            "id": job_id, "kind": kind, "title": old.get("title", kind), "argv": argv,
            "created": old.get("created", time.strftime("%Y-%m-%d %H:%M:%S")),
            "created_ts": old.get("created_ts", time.time()),
            "status": "running", "done": 0, "total": 0, "rate": None, "eta_s": None, "error": None,
            "result": None, "started": time.strftime("%Y-%m-%d %H:%M:%S"), "ended": None, "pid": os.getpid(),
            "stage": None,
        }
        write_json(self.state, self.path)

    def stage(self, name: str) -> None:
        """Name the current step of a multi-step job ("embedding", "projecting", ...)."""
        self.state["stage"] = name
        self._base = (time.monotonic(), int(self.state.get("done") or 0))
        self.state.update(rate=None, eta_s=None)
        self._write(force=True)

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self._base is None or done < self._base[1]:
            self._base = (now, int(done))
        elapsed, work = now - self._base[0], done - self._base[1]
        rate = work / elapsed if work > 0 and elapsed > 0 else None
        self.state.update(done=int(done), total=int(total), rate=rate,
                          eta_s=(total - done) / rate if rate and total >= done else None)
        if self.echo:
            self.echo(done, total)
        # the work reported so far is finished (saved), so the record counts it before a cancel stops the rest
        if self.cancel_file.exists():
            raise Cancelled()
        self._write(force=done >= total)

    def _write(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_write >= WRITE_EVERY_S:
            self._last_write = now
            write_json(self.state, self.path)

    def finish(self, status: str, error: str | None = None, result: Any = None) -> None:
        if status == "done" and self.state["kind"] in CHANGES_SCORES and self.state["status"] == "running":
            _prepare_store(self.ws, self)
        self.state.update(status=status, error=error, ended=time.strftime("%Y-%m-%d %H:%M:%S"))
        if result is not None:
            self.state["result"] = result
        if status == "done" and self.state.get("total"):
            self.state["done"] = self.state["total"]
        write_json(self.state, self.path)
        self.cancel_file.unlink(missing_ok=True)


@contextmanager
def run_as_job(ws: Workspace, kind: str, job_id: str | None, argv: list[str], quiet: bool = False) -> Iterator[JobReporter]:
    """Wrap a CLI command's work: every run (from the app or by hand) is recorded in jobs/.

    By hand it also draws a terminal progress bar. The job's final status says what happened.
    """
    echo = None if quiet else TerminalBar(kind)
    reporter = JobReporter(ws, job_id or new_job_id(kind), kind, argv, echo=echo)
    try:
        yield reporter
    except Cancelled:
        reporter.finish("cancelled", "cancelled by the user")
        raise
    except WinnowError as exc:
        reporter.finish("failed", str(exc))
        raise
    except BaseException as exc:
        reporter.finish("failed", f"{exc.__class__.__name__}: {exc}")
        raise
    else:
        if reporter.state["status"] == "running":
            reporter.finish("done")


CHANGES_SCORES = frozenset({"ingest", "score", "map"})  # jobs whose files the app's scores table joins


def _prepare_store(ws: Workspace, reporter: JobReporter) -> None:
    """Join the app's scores table (and write its cache file, for a large workspace) before the job
    says it is done, so the first page opened afterwards finds it ready (about 9 s at 1M documents
    that the user would otherwise wait for). A failure here only means the app joins it itself."""
    from core.store import Store

    reporter.stage("preparing the app's tables")
    try:
        store = Store(ws)
    except Exception:  # never fail a finished job over a cache
        return
    try:
        _prepare_map(store, reporter)
    finally:
        with suppress(Exception):
            store.close()


def _prepare_map(store: Any, reporter: JobReporter) -> None:
    """The Map page's figures at its default settings (core.map_view.prepare: the layout with its density
    image, the drawn points' hover snippets and every cluster's sample documents, one pass over the texts),
    kept in .cache, so the first Map open after a job reads them instead of the texts (1.2-5 s at 1M).
    Only where they are kept (a workspace of CACHE_MIN_DOCS documents or more) and a map exists. After a
    score job they are still valid (keyed by the documents and the map only): found in .cache at once.
    A failure here only means the page computes them itself."""
    from core import map_view

    with suppress(Exception):
        if store.source_keys.get("map") is None or not map_view.has_map(store):
            return
        reporter.stage("preparing the map's figures")
        map_view.prepare(store)
