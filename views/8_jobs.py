"""Jobs: every long computation (ingest, embeddings, maps, signals) with its progress, rate, ETA and error.

Jobs run as separate `python -m core ...` processes; this page only reads `jobs/<id>.json`. While a job
runs, the table and its progress bar refresh by themselves; cancel stops it after its current batch,
and resume runs the same command again, which continues from its last finished batch.
"""

from __future__ import annotations

import shlex

import streamlit as st

from core.jobs import list_jobs, read_job
from ui.jobs import JOBS_COLUMNS, job_caption, job_status, jobs_frame
from ui.state import require_workspace

RECENT = 50
LOG_LINES = 40

ws, store = require_workspace()
st.title("Jobs")
st.caption("Long computations run in their own processes, so the app stays responsive. Cancel stops a job after "
           "its current batch; Resume continues from the last finished batch. The same jobs run from the command "
           "line (`python -m core ...`) show here too.")

jobs = list_jobs(ws, limit=RECENT)
if not jobs:
    st.info("No jobs yet. They appear here when you ingest a file, compute embeddings or a map, or run a signal "
            "(from a page or with `python -m core`).")
    st.stop()

active_ids = [j["id"] for j in jobs if j["status"] in ("queued", "running")]
if active_ids:
    st.subheader(f"Running ({len(active_ids)})")
    for job_id in active_ids:
        job_status(ws, job_id, "jobs_running")


@st.fragment(run_every=2.0 if active_ids else None)
def _recent() -> None:
    current = list_jobs(ws, limit=RECENT)
    st.subheader("Recent jobs")
    st.dataframe(jobs_frame(current), hide_index=True, width="stretch", column_config=JOBS_COLUMNS,
                 column_order=["what", "status", "progress", "done", "rate /s", "ETA", "error", "stage", "started",
                               "ended", "job"])
    now_active = [j["id"] for j in current if j["status"] in ("queued", "running")]
    if now_active != active_ids:  # a job started or ended: redraw the page (its sections and buttons)
        st.rerun(scope="app")


_recent()

st.subheader("Details")
by_id = {j["id"]: j for j in jobs}
default = active_ids[0] if active_ids else jobs[0]["id"]
if st.session_state.get("jobs_pick") not in by_id:  # e.g. another workspace's job, or one gone from the list
    st.session_state.pop("jobs_pick", None)
picked = st.selectbox("Job", list(by_id), index=list(by_id).index(default), key="jobs_pick",
                      format_func=lambda i: f"{by_id[i]['created']} · {job_caption(by_id[i], icon=False)}")
job = read_job(ws, picked) or by_id[picked]
if picked not in active_ids:  # running jobs already have their bar and Cancel button above
    job_status(ws, picked, "jobs_detail")
st.caption(f"Status: {job['status']} · created {job.get('created') or '—'} · started {job.get('started') or '—'} "
           f"· ended {job.get('ended') or '—'} · id {picked}")
st.caption("Command")
st.code("python -m core " + shlex.join([*job.get("argv", []), "--workspace", str(ws.root)]), language="bash")
if job.get("result"):
    st.caption("Result")
    st.json(job["result"])
log = ws.dir("jobs") / f"{picked}.log"
if log.exists() and log.stat().st_size:
    with st.expander("Output (last lines)"):
        lines = log.read_text(encoding="utf-8", errors="replace").replace("\r", "\n").splitlines()
        st.code("\n".join([ln for ln in lines if ln.strip()][-LOG_LINES:]), language=None)
