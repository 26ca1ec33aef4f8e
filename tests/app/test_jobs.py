"""Jobs page: recent jobs with status, progress and errors; resume an interrupted job from the page."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from core.embed import compute_embeddings
from core.errors import WinnowError
from core.jobs import read_job, run_as_job
from core.workspace import write_json

RECORDS = [{"id": f"d{i}", "text": f"document number {i} about rivers and storms"} for i in range(30)]


@pytest.fixture
def ws(make_ws):
    ws = make_ws(RECORDS, id_field="id")
    with run_as_job(ws, "embed", "20260101-000000-embed-done01", ["embed", "--model", "static"], quiet=True) as job:
        compute_embeddings(ws, progress=job)
    with pytest.raises(WinnowError), run_as_job(ws, "map", "20260101-000100-map-fail01", ["map"], quiet=True):
        raise WinnowError("no embeddings for the map yet: run `python -m core embed`")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_json({"id": "20260101-000200-embed-kill01", "kind": "embed", "title": "embed (static)",
                "argv": ["embed", "--model", "static"], "status": "running", "pid": dead.pid, "done": 10,
                "total": 30, "created": "2026-01-01 00:02:00", "created_ts": time.time(), "started": None},
               ws.dir("jobs") / "20260101-000200-embed-kill01.json")
    return ws


def test_jobs_page_lists_recent_jobs_with_status_and_error(ws, open_page):
    at = open_page(ws, "8_jobs")
    table = at.dataframe[0].value
    assert set(table["job"]) == {"20260101-000000-embed-done01", "20260101-000100-map-fail01",
                                 "20260101-000200-embed-kill01"}
    status = dict(zip(table["job"], table["status"], strict=True))
    assert "done" in status["20260101-000000-embed-done01"]
    assert "failed" in status["20260101-000100-map-fail01"]
    assert "interrupted" in status["20260101-000200-embed-kill01"]
    errors = dict(zip(table["job"], table["error"], strict=True))
    assert "python -m core embed" in errors["20260101-000100-map-fail01"]
    progress = dict(zip(table["job"], table["progress"], strict=True))
    assert progress["20260101-000000-embed-done01"] == 1.0
    assert progress["20260101-000200-embed-kill01"] == pytest.approx(1 / 3)


def test_failed_job_shows_its_error_and_command(ws, open_page):
    at = open_page(ws, "8_jobs")
    at.selectbox(key="jobs_pick").select("20260101-000100-map-fail01").run()
    assert any("python -m core embed" in e.value for e in at.error)
    assert any("python -m core map --workspace" in c.value for c in at.code)


def test_resume_an_interrupted_job_from_the_page(ws, open_page):
    at = open_page(ws, "8_jobs")
    at.selectbox(key="jobs_pick").select("20260101-000200-embed-kill01").run()
    assert any("stopped without finishing" in w.value for w in at.warning)
    at.button(key="resume_jobs_detail_20260101-000200-embed-kill01").click().run()
    assert not at.exception
    deadline = time.monotonic() + 180
    while read_job(ws, "20260101-000200-embed-kill01")["status"] in ("queued", "running", "interrupted"):
        assert time.monotonic() < deadline, "the resumed job did not finish"
        time.sleep(0.5)
    job = read_job(ws, "20260101-000200-embed-kill01")
    assert job["status"] == "done", job.get("error")
    assert job["result"]["cached"] == 30  # the first run's vectors were reused
    at.run()
    status = dict(zip(at.dataframe[0].value["job"], at.dataframe[0].value["status"], strict=True))
    assert "done" in status["20260101-000200-embed-kill01"]


def test_no_jobs_yet(make_ws, open_page):
    at = open_page(make_ws(RECORDS[:2], id_field="id"), "8_jobs")
    assert any("No jobs yet" in i.value for i in at.info)


def test_cancel_a_running_job_from_the_page(ws, open_page):
    # a job process that never reports progress (so it cannot see the cancel request): the page
    # asks, waits a few seconds, then stops the process
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
    try:
        write_json({"id": "20260101-000300-map-run001", "kind": "map", "title": "map (static)", "argv": ["map"],
                    "status": "running", "pid": proc.pid, "done": 5, "total": 50, "rate": 1.0, "eta_s": 45,
                    "created": "2026-01-01 00:03:00", "created_ts": time.time(), "started": "2026-01-01 00:03:00"},
                   ws.dir("jobs") / "20260101-000300-map-run001.json")
        at = open_page(ws, "8_jobs")
        assert any("Running (1)" in h.value for h in at.subheader)
        at.button(key="cancel_jobs_running_20260101-000300-map-run001").click().run()
        assert not at.exception
        assert proc.wait(timeout=30) is not None  # the process was stopped
        assert read_job(ws, "20260101-000300-map-run001")["status"] == "cancelled"
        assert not any("Running" in h.value for h in at.subheader)
    finally:
        if proc.poll() is None:
            proc.kill()
