"""Job records: progress, rate and ETA, cancel requests, failures, interrupted jobs and resume."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from core.errors import Cancelled, WinnowError
from core.jobs import JobReporter, list_jobs, read_job, resume_job, run_as_job
from core.workspace import Workspace, write_json


@pytest.fixture
def ws(tmp_path):
    return Workspace.create(tmp_path / "ws")


def test_progress_is_recorded_with_rate_and_eta(ws):
    with run_as_job(ws, "embed", "job-1", ["embed"], quiet=True) as job:
        job(500, 1000)  # half was found in the cache at once
        time.sleep(0.6)  # the record is written at most twice a second
        job(600, 1000)
        state = read_job(ws, "job-1")
        assert state["status"] == "running" and state["done"] == 600 and state["total"] == 1000
        # the rate counts this run's work only (100 in ~0.6 s), not the 500 taken from the cache
        assert 50 < state["rate"] < 300
        assert state["eta_s"] == pytest.approx(400 / state["rate"])
    state = read_job(ws, "job-1")
    assert state["status"] == "done" and state["done"] == 1000 and state["ended"]


def test_cancel_file_stops_the_work_and_records_it(ws):
    with pytest.raises(Cancelled), run_as_job(ws, "embed", "job-2", ["embed"], quiet=True) as job:
        job(1, 10)
        (ws.dir("jobs") / "job-2.cancel").touch()
        job(2, 10)
        pytest.fail("progress should have raised Cancelled")
    state = read_job(ws, "job-2")
    assert state["status"] == "cancelled" and state["done"] == 2  # what was reported finished counts
    assert not (ws.dir("jobs") / "job-2.cancel").exists()


def test_failure_is_recorded_with_its_message(ws):
    with pytest.raises(WinnowError), run_as_job(ws, "map", "job-3", ["map"], quiet=True):
        raise WinnowError("no embeddings in this workspace yet: run `python -m core embed`")
    state = read_job(ws, "job-3")
    assert state["status"] == "failed" and "python -m core embed" in state["error"]
    with pytest.raises(ZeroDivisionError), run_as_job(ws, "map", "job-4", ["map"], quiet=True):
        1 / 0  # noqa: B018
    assert read_job(ws, "job-4")["error"].startswith("ZeroDivisionError")


def test_a_job_whose_process_died_reads_as_interrupted(ws):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_json({"id": "job-5", "kind": "embed", "argv": ["embed"], "status": "running", "pid": dead.pid,
                "done": 3, "total": 10, "created_ts": time.time()}, ws.dir("jobs") / "job-5.json")
    assert read_job(ws, "job-5")["status"] == "interrupted"
    assert [j["id"] for j in list_jobs(ws)] == ["job-5"]


def test_resume_refuses_a_running_job(ws):
    JobReporter(ws, "job-6", "embed", ["embed"])  # this process: alive
    assert read_job(ws, "job-6")["status"] == "running"
    with pytest.raises(WinnowError, match="still running"):
        resume_job(ws, "job-6")
    with pytest.raises(WinnowError, match="no job"):
        resume_job(ws, "nope")


def test_a_stage_restarts_the_rate(ws):
    job = JobReporter(ws, "job-7", "map", ["map"])
    job(0, 100)
    time.sleep(0.2)  # e.g. loading a model
    job.stage("embedding")
    job(10, 100)
    time.sleep(0.1)
    job(20, 100)
    assert read_job(ws, "job-7")["stage"] == "embedding"
    assert job.state["rate"] > 10 / 0.3 * 1.2  # not diluted by the time before the stage
