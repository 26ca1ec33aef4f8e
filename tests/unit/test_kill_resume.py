"""Crashes: `python -m core ingest`, `embed`, `score gopher_quality` and `export` are SIGKILLed at seeded random
moments, 5 times each (20 kills), each kill on top of the last one's leftovers; every other kill waits until
the command has begun writing results, so kills land in the middle of the work. After every kill the workspace
opens, its store answers, and every file a reader would open (Parquet, JSON, .npy) is whole. Then the same
command runs again to the end and its results equal an uninterrupted run's, row for row."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

from core.jobs import list_jobs
from core.store import Store
from core.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
KILLS_PER_COMMAND = 5
SEED = 20261128
N_DOCS = 2000
BIG_ROWS = 110_000  # the ingest stage's input: ingest writes a part every 100,000 rows, so a kill can fall between
TOPICS = ["river", "tea", "bridge", "market", "train", "garden", "harbour", "library"]

STAGES = {  # stage -> argv (after `python -m core`); each runs on the workspace the stage before left
    "ingest": ["ingest", "{big}", "--id-field", "id"],
    "embed": ["embed", "--batch-size", "128"],
    "score": ["score", "gopher_quality"],
    "export": ["export", "--selection", "half", "--format", "jsonl", "--shard-size", "300", "--columns", "text,label",
               "--force"],  # a kill after the export was moved into place leaves a finished export: replace it
}


def run_core(argv: list[str], ws: Path, inp: Path) -> subprocess.Popen:
    args = [a.replace("{big}", str(inp.with_name("big.jsonl"))) for a in argv]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "core", *args, "--workspace", str(ws), "--quiet"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def finish(argv: list[str], ws: Path, inp: Path) -> float:
    started = time.monotonic()
    proc = run_core(argv, ws, inp)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, (argv, out.decode()[-2000:], err.decode()[-2000:])
    return time.monotonic() - started


def make_input(path: Path) -> Path:
    rng = random.Random(SEED)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(N_DOCS):
            topic = TOPICS[i % len(TOPICS)]
            words = [rng.choice(["the", "a", "of", "and", "to", "in", topic, "water", "people", "stone", "morning",
                                 "walked", "quiet", "old", "city", "light", "over", "with"]) for _ in range(rng.randint(20, 160))]
            fh.write(json.dumps({"id": f"d{i:05d}", "text": f"{topic.title()} {i}. " + " ".join(words) + ".",
                                 "topic": topic}) + "\n")
    return path


def make_big_input(path: Path) -> Path:
    """Short rows and one malformed line: ingest reads it row by row and writes a part per 100,000 rows."""
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(BIG_ROWS):
            fh.write('{"id": "b' + str(i) + '", "text": "row ' + str(i) + ' of the big file"\n' if i == 777
                     else json.dumps({"id": f"b{i}", "text": f"row {i} of the big file", "n": i}) + "\n")
    return path


# -- what a reader sees --------------------------------------------------------------------------------
def check_readable(root: Path) -> None:
    """The workspace opens, the store answers, and every file a reader opens is whole (temporary files,
    named `.<name>.<random>.tmp` by atomic_path, are never opened by a reader)."""
    ws = Workspace.open(root)
    store = Store(ws)
    if ws.has_docs():
        assert store.scalar("SELECT count(*) FROM docs") > 0
        store.scalar("SELECT count(*) FROM scores")
    for export in (root / "exports").iterdir():  # an export folder is only ever a finished one
        if not export.name.startswith("."):
            assert (export / "manifest.json").is_file(), f"{export} has no manifest"
    for path in root.rglob("*"):
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if path.suffix == ".parquet":
            pq.read_table(path)
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".npy":
            np.load(path, allow_pickle=False)
        elif path.suffix == ".jsonl":
            for line in path.read_text(encoding="utf-8").splitlines():
                json.loads(line)


def results(root: Path, stage: str):
    """What the stage produced, in a form two runs can be compared by."""
    con = duckdb.connect()
    try:
        if stage == "ingest":
            docs = con.execute(f"SELECT * FROM read_parquet('{root}/docs/part-*.parquet') ORDER BY id").fetchall()
            assert len(docs) == BIG_ROWS - 1
            bad = con.execute(f"SELECT file, \"row\", reason FROM read_parquet('{root}/quarantine/*.parquet')").fetchall()
            return docs, bad
        if stage == "embed":
            ids = pq.read_table(root / "embeddings" / "static.ids.parquet").column("id").to_pylist()
            vectors = np.load(root / "embeddings" / "static.npy")
            assert len(ids) == len(vectors) == N_DOCS
            return dict(zip(ids, map(bytes, vectors), strict=True))  # exact float32 bytes per document
        if stage == "score":
            side = json.loads((root / "signals" / "gopher_quality.json").read_text())
            rows = con.execute(f"SELECT * FROM read_parquet('{root}/signals/gopher_quality.parquet') ORDER BY id").fetchall()
            return rows, side.get("version"), side.get("params")
        if stage == "export":
            folder = root / "exports" / "half"
            files = {p.name: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "manifest.json"}
            manifest = json.loads((folder / "manifest.json").read_text())
            return files, manifest.get("files"), manifest.get("counts")
    finally:
        con.close()
    raise AssertionError(stage)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run of every stage; a snapshot of the workspace before each, and each one's time."""
    base = tmp_path_factory.mktemp("killref")
    inp = make_input(base / "corpus.jsonl")
    make_big_input(base / "big.jsonl")
    ws = base / "ws"
    Workspace.create(ws)
    snapshots, seconds = {}, {}
    for stage, argv in STAGES.items():
        snapshots[stage] = base / f"before-{stage}"
        shutil.copytree(ws, snapshots[stage])
        if stage == "ingest":  # the big file into a workspace of its own; the small corpus feeds the other stages
            seconds[stage] = finish(argv, base / "ws-ingest", inp)
            finish(["ingest", str(inp), "--id-field", "id", "--label-field", "topic"], ws, inp)
            continue
        seconds[stage] = finish(argv, ws, inp)
        if stage == "score":  # the export stage needs a saved selection
            recipe = base / "half.json"
            recipe.write_text(json.dumps({"strategy": "random", "size": N_DOCS // 2, "seed": 3}))
            finish(["select", "--name", "half", "--recipe", str(recipe)], ws, inp)
            shutil.rmtree(snapshots[stage])  # the score snapshot must not hold the selection
            shutil.copytree(ws, snapshots[stage], ignore=shutil.ignore_patterns("signals"))
            (snapshots[stage] / "signals").mkdir()
    return inp, ws, snapshots, seconds


@pytest.mark.parametrize("stage", list(STAGES))
def test_kill_at_random_points_then_resume_equals_an_uninterrupted_run(stage, reference, tmp_path):
    inp, ref_ws, snapshots, seconds = reference
    if stage == "ingest":
        ref_ws = ref_ws.with_name("ws-ingest")
    rng = random.Random(f"{SEED}-{stage}")
    ws = tmp_path / "ws"
    shutil.copytree(snapshots[stage], ws)
    kills = attempts = mid_work = 0
    while kills < KILLS_PER_COMMAND:
        attempts += 1
        assert attempts <= 4 * KILLS_PER_COMMAND, f"{stage}: the command kept finishing before the kill"
        proc = run_core(STAGES[stage], ws, inp)
        if attempts % 2:  # a moment anywhere in the run (start-up included)
            time.sleep(rng.uniform(0.3, 0.97) * seconds[stage])
        else:  # a moment after the command has begun writing results
            deadline = time.monotonic() + 120
            while proc.poll() is None and time.monotonic() < deadline and not _wrote_something(ws, snapshots[stage]):
                time.sleep(0.01)
            time.sleep(rng.uniform(0, 0.2))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
            proc.stdout.close()
            proc.stderr.close()
            kills += 1
            mid_work += _wrote_something(ws, snapshots[stage])
        else:  # it finished first: start again from the state before the stage, so the next kill is mid-work
            proc.communicate()
            assert proc.returncode == 0
            shutil.rmtree(ws)
            shutil.copytree(snapshots[stage], ws)
        check_readable(ws)
    # a killed job reads as interrupted (the Jobs page offers to resume it), never as running forever
    states = [j["status"] for j in list_jobs(Workspace.open(ws))]
    assert "running" not in states and "queued" not in states, states
    assert mid_work >= 1, f"{stage}: no kill fell after the command had begun writing"
    finish(STAGES[stage], ws, inp)  # resume (or rerun) to the end
    check_readable(ws)
    assert results(ws, stage) == results(ref_ws, stage)
    _record(stage, kills, mid_work)


def _wrote_something(ws: Path, before: Path) -> bool:
    """Whether the killed command had already written results (a file the stage's starting state lacks)."""
    return any(p.is_file() and "jobs" not in p.parts and not (before / p.relative_to(ws)).exists() for p in ws.rglob("*"))


def _record(stage: str, kills: int, mid_work: int) -> None:
    """The counts README's Reliability section quotes (test-artifacts/kill_resume.json)."""
    path = ROOT / "test-artifacts" / "kill_resume.json"
    path.parent.mkdir(exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {}
    data[stage] = {"kills_survived": kills, "killed_after_writing_results": mid_work, "rows_lost": 0}
    path.write_text(json.dumps(data, indent=2))
