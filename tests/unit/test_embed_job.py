"""The embed job end to end: killed part-way and resumed gives the same matrix; cancel stops it and keeps its work."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from core.embed import cache_dir, compute_embeddings, embedding_paths, load_embeddings
from core.jobs import cancel_job, read_job, resume_job, start_job

N_DOCS = 6000
BATCH = 10  # 600 batches: the job is still busy when the test stops it
WORDS = ["rates", "bank", "match", "goal", "phone", "chip", "vote", "budget", "film", "award", "river", "storm"]
RECORDS = [{"id": f"d{i:05d}", "text": f"{WORDS[i % 12]} {WORDS[(i // 12) % 12]} {WORDS[(i // 144) % 12]} report {i}"}
           for i in range(N_DOCS)]


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.005)
    pytest.fail(f"timed out waiting for {what}")


def _shards(ws) -> int:
    return len(list(cache_dir(ws, "static").glob("shard-*.npz")))


def _start_and_wait_for_progress(ws) -> str:
    job_id = start_job(ws, "embed", ["embed", "--model", "static", "--batch-size", str(BATCH)], title="embed test")
    _wait(lambda: _shards(ws) >= 2, 180, "the first finished batches")
    return job_id


def test_killed_embed_job_resumes_to_the_same_result(make_ws):
    ws = make_ws(RECORDS, id_field="id")
    job_id = _start_and_wait_for_progress(ws)
    os.killpg(read_job(ws, job_id)["pid"], signal.SIGKILL)
    _wait(lambda: read_job(ws, job_id)["status"] == "interrupted", 30, "the job to read as interrupted")
    finished = _shards(ws)
    assert 2 <= finished < N_DOCS // BATCH, "the kill should land part-way"
    assert not embedding_paths(ws, "static")[0].exists()

    resume_job(ws, job_id)
    job = _wait(lambda: (j := read_job(ws, job_id))["status"] not in ("queued", "running") and j, 240, "the resumed job")
    assert job["status"] == "done", job.get("error")
    # the finished batches were not recomputed
    assert job["result"]["cached"] >= finished * BATCH
    assert job["result"]["computed"] == N_DOCS - job["result"]["cached"]

    reference = make_ws(RECORDS, id_field="id")
    compute_embeddings(reference, "static", batch_size=BATCH)
    ids, resumed = load_embeddings(ws)
    ref_ids, uninterrupted = load_embeddings(reference)
    assert ids == ref_ids
    assert np.array_equal(resumed, uninterrupted)


def test_cancel_stops_the_job_and_keeps_finished_batches(make_ws):
    ws = make_ws(RECORDS, id_field="id")
    job_id = _start_and_wait_for_progress(ws)
    cancel_job(ws, job_id, grace_s=60)
    job = read_job(ws, job_id)
    assert job["status"] == "cancelled"
    assert "cancel" in job["error"]
    assert 0 < job["done"] < N_DOCS
    assert not embedding_paths(ws, "static")[0].exists()
    kept = _shards(ws)
    assert kept < N_DOCS // BATCH
    time.sleep(0.5)
    assert _shards(ws) == kept  # the process really stopped

    seen: list[str] = []

    def counting(texts):
        seen.extend(texts)
        from core.embed import embed_texts

        return embed_texts(texts)

    compute_embeddings(ws, "static", batch_size=BATCH * 50, embed_fn=counting)
    assert len(seen) == N_DOCS - job["done"]  # a rerun computes only what the cancelled job had not
