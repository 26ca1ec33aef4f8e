"""A job panel: start a background job, watch its progress refresh by itself, cancel or resume it."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from core.errors import WinnowError
from core.jobs import cancel_job, list_jobs, read_job, resume_job, start_job
from core.workspace import Workspace

# Material icons (drawn by Streamlit in Markdown text, whatever fonts the browser has)
STATUS_ICON = {"queued": ":material/schedule:", "running": ":material/progress_activity:",
               "done": ":material/check_circle:", "failed": ":material/error:", "cancelled": ":material/cancel:",
               "interrupted": ":material/warning:"}


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    return f"{seconds // 60}m {seconds % 60:02d}s left" if seconds >= 60 else f"{seconds}s left"


def job_caption(job: dict, icon: bool = True) -> str:
    """One line about a job: what, status, stage, done/total, rate and ETA while it runs.

    With icon=False it is plain text (for widgets that do not draw Markdown, like a selectbox).
    """
    done, total = job.get("done") or 0, job.get("total") or 0
    mark = f"{STATUS_ICON.get(job['status'], '')} " if icon else ""
    parts = [f"{mark}{job.get('title') or job['kind']}: {job['status']}"]
    if job.get("stage") and job["status"] in ("queued", "running"):
        parts.append(job["stage"])
    if total:
        parts.append(f"{done:,}/{total:,}")
    if job.get("rate") and job["status"] == "running":
        parts.append(f"{job['rate']:,.1f}/s" if job["rate"] < 10 else f"{job['rate']:,.0f}/s")
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
    job_id = st.session_state.get(f"job_{key}")
    if job_id is None or read_job(ws, job_id) is None:  # none started here yet, or another workspace's
        job_id = (latest or {}).get("id")
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

    # While the job runs, only this fragment reruns (every second): the rest of the page stays usable.
    @st.fragment(run_every=1.0 if active else None)
    def _status() -> None:
        current = read_job(ws, job_id) or job
        total = current.get("total") or 0
        frac = min(1.0, (current.get("done") or 0) / total) if total else (1.0 if current["status"] == "done" else 0.0)
        st.progress(frac, text=job_caption(current))
        if current["status"] in ("queued", "running"):
            if st.button("Cancel", key=f"cancel_{key}_{job_id}", help="stop after the current batch; finished batches are kept"):
                cancel_job(ws, job_id, grace_s=5)
                st.rerun(scope="app")
            return
        if current["status"] == "failed" and current.get("error"):
            st.error(current["error"])
        elif current["status"] == "interrupted":
            st.warning("The job's process stopped without finishing (killed, or the machine restarted).")
        if current["status"] in ("interrupted", "failed", "cancelled") and st.button(
                "Resume", key=f"resume_{key}_{job_id}", help="run it again; it continues from its last finished batch"):
            try:
                resume_job(ws, job_id)
            except WinnowError as exc:
                st.error(str(exc))
                return
            st.rerun(scope="app")
        if active:  # it was running when the page drew: rerun the page to show the results
            st.rerun(scope="app")

    _status()


def jobs_frame(jobs: list[dict]) -> pd.DataFrame:
    """One row per job for a table: what, status, progress, rate, ETA, times, error."""
    rows = []
    for j in jobs:
        done, total = j.get("done") or 0, j.get("total") or 0
        running = j["status"] in ("queued", "running")
        rows.append({
            "job": j["id"], "kind": j["kind"], "what": j.get("title") or j["kind"],
            "status": j["status"],
            "progress": min(1.0, done / total) if total else (1.0 if j["status"] == "done" else 0.0),
            "done": f"{done:,}/{total:,}" if total else "",
            "stage": (j.get("stage") or "") if running else "",
            "rate /s": round(j["rate"], 1) if running and j.get("rate") else None,
            "ETA": _fmt_eta(j.get("eta_s")).replace(" left", "") if running else "",
            "started": j.get("started") or j.get("created"), "ended": j.get("ended"),
            "error": j.get("error") or "",
        })
    return pd.DataFrame(rows)


JOBS_COLUMNS = {
    "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0, format="percent"),
    "rate /s": st.column_config.NumberColumn("rate /s", format="%.1f", help="items per second in this run"),
    "error": st.column_config.TextColumn("error", width="large"),
}


def jobs_table(ws: Workspace, limit: int = 30) -> None:
    jobs = list_jobs(ws, limit=limit)
    if not jobs:
        st.caption("No jobs yet.")
        return
    st.dataframe(jobs_frame(jobs), hide_index=True, width="stretch", column_config=JOBS_COLUMNS)
