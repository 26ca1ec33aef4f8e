"""A job panel: start a background job, watch its progress refresh by itself, cancel or resume it."""

from __future__ import annotations

import time

import streamlit as st

from core.jobs import cancel_job, list_jobs, read_job, resume_job, start_job
from core.workspace import Workspace

STATUS_ICON = {"queued": "⏳", "running": "⏳", "done": "✅", "failed": "❌", "cancelled": "⏹", "interrupted": "⚠️"}


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    return f"{seconds // 60}m {seconds % 60:02d}s left" if seconds >= 60 else f"{seconds}s left"


def job_caption(job: dict) -> str:
    done, total = job.get("done") or 0, job.get("total") or 0
    parts = [f"{STATUS_ICON.get(job['status'], '')} {job.get('title') or job['kind']}: {job['status']}"]
    if job.get("stage"):
        parts.append(job["stage"])
    if total:
        parts.append(f"{done:,}/{total:,}")
    if job.get("rate") and job["status"] == "running":
        parts.append(f"{job['rate']:,.0f}/s")
        parts.append(_fmt_eta(job.get("eta_s")))
    return " · ".join(p for p in parts if p)


def job_panel(ws: Workspace, kind: str, argv: list[str], *, title: str, button: str, key: str,
              disabled: bool = False, help: str | None = None) -> dict | None:
    """A start button plus the latest job of this kind (progress, cancel, resume, error).

    Returns the latest job record. When a job finishes, the whole app reruns once so the page shows
    its results.
    """
    latest = next(iter(list_jobs(ws, limit=20, kind=kind)), None)
    running = latest is not None and latest["status"] in ("queued", "running")
    if st.button(button, key=f"start_{key}", disabled=disabled or running, help=help, type="primary"):
        job_id = start_job(ws, kind, argv, title=title)
        st.session_state[f"job_{key}"] = job_id
        time.sleep(0.3)
        st.rerun()
    job_id = st.session_state.get(f"job_{key}") or (latest or {}).get("id")
    if job_id:
        _job_status(ws, job_id, key)
    return latest


def job_status(ws: Workspace, job_id: str, key: str) -> None:
    """The progress bar of one job (refreshing by itself while it runs), with cancel, resume and its error."""
    _job_status(ws, job_id, key)


def _job_status(ws: Workspace, job_id: str, key: str) -> None:
    job = read_job(ws, job_id)
    if job is None:
        return
    active = job["status"] in ("queued", "running")

    @st.fragment(run_every=1.0 if active else None)
    def _status() -> None:
        current = read_job(ws, job_id) or job
        total = current.get("total") or 0
        frac = min(1.0, (current.get("done") or 0) / total) if total else (1.0 if current["status"] == "done" else 0.0)
        st.progress(frac, text=job_caption(current))
        if current["status"] in ("queued", "running"):
            if st.button("Cancel", key=f"cancel_{key}_{job_id}"):
                cancel_job(ws, job_id, grace_s=5)
                st.rerun(scope="app")
        else:
            if current["status"] == "failed" and current.get("error"):
                st.error(current["error"])
            if current["status"] in ("interrupted", "failed", "cancelled"):
                if st.button("Resume", key=f"resume_{key}_{job_id}", help="run it again; finished batches are kept"):
                    resume_job(ws, job_id)
                    st.rerun(scope="app")
            if active:  # it was running when the page drew: rerun the page to show the results
                st.rerun(scope="app")

    _status()


def jobs_table(ws: Workspace, limit: int = 30) -> None:
    jobs = list_jobs(ws, limit=limit)
    if not jobs:
        st.caption("No jobs yet.")
        return
    rows = [{"job": j["id"], "what": j.get("title") or j["kind"], "status": j["status"],
             "progress": f"{j.get('done') or 0:,}/{j.get('total') or 0:,}", "started": j.get("started") or j.get("created"),
             "ended": j.get("ended"), "error": j.get("error")} for j in jobs]
    st.dataframe(rows, hide_index=True, width="stretch")
