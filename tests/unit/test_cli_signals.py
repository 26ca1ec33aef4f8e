"""CLI: `signals` lists the registry, `score` computes signals as jobs, `table` prints columns with safe filters."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from core.cli import main
from core.jobs import list_jobs

GOOD = ("The river runs past the old mill and the farmers bring their grain to the market of the town. " * 8).strip()


@pytest.fixture
def ws(make_ws):
    return make_ws([
        {"id": "good", "text": GOOD},
        {"id": "short", "text": "Too short to keep the text."},
        {"id": "dup", "text": GOOD.replace(".", " !")},
        {"id": "hashes", "text": " ".join(["#tag"] * 60) + " the and of."},
    ], id_field="id")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_signals_lists_names_descriptions_columns_and_needs(capsys):
    rc, out, _ = run(capsys, "signals")
    assert rc == 0
    for name in ("gopher_quality", "gopher_repetition", "c4", "fineweb", "length", "exact_dup", "minhash_dup"):
        assert f"{name}  (version" in out
    assert "gopher_quality__gopher_quality_reason" in out and "needs: text" in out
    rc, out, _ = run(capsys, "signals", "--json", "fineweb")
    data = json.loads(out)
    cols = {c["name"]: c for c in data[0]["columns"]}
    assert cols["line_punct_ratio"]["keep_min"] == "line_punct_thr" and cols["line_punct_ratio"]["better"] == "higher"
    assert cols["fineweb_reason"]["kind"] == "reason"
    assert data[0]["params"]["char_duplicates_ratio"]["default"] == 0.1


def test_score_runs_as_a_job_and_skips_what_is_up_to_date(ws, capsys):
    rc, out, _ = run(capsys, "score", "-w", str(ws.root), "length", "gopher_quality", "exact_dup", "--quiet")
    assert rc == 0
    assert "gopher_quality: computed" in out and "kept 2 of 4" in out
    for key in ("length", "gopher_quality", "exact_dup"):
        assert (ws.dir("signals") / f"{key}.parquet").exists()
        assert json.loads((ws.dir("signals") / f"{key}.json").read_text())["rows"] == 4
    jobs = list_jobs(ws, kind="score")
    assert jobs and jobs[0]["status"] == "done" and set(jobs[0]["result"]) == {"length", "gopher_quality", "exact_dup"}
    rc, out, _ = run(capsys, "score", "-w", str(ws.root), "gopher_quality", "--quiet")
    assert "gopher_quality: up to date" in out
    rc, out, _ = run(capsys, "score", "-w", str(ws.root), "gopher_quality", "--param", "min_doc_words=3", "--quiet")
    assert "computed" in out and "kept 3 of 4" in out
    sidecar = json.loads((ws.dir("signals") / "gopher_quality.json").read_text())
    assert sidecar["params"]["min_doc_words"] == 3


def test_score_reports_bad_names_and_parameters_on_one_line(ws, capsys):
    rc, _, err = run(capsys, "score", "-w", str(ws.root), "nope")
    assert rc == 2 and "unknown signal 'nope'" in err
    rc, _, err = run(capsys, "score", "-w", str(ws.root), "length", "fineweb", "--param", "x=1")
    assert rc == 2 and "SIGNAL.x=1" in err
    rc, _, err = run(capsys, "score", "-w", str(ws.root), "fineweb", "--param", "fineweb.bogus=1", "--quiet")
    assert rc == 2 and "bogus" in err and "Traceback" not in err


def _csv(out: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(out), keep_default_na=False)


def test_table_prints_columns_with_filters(ws, capsys):
    run(capsys, "score", "-w", str(ws.root), "gopher_quality", "length", "--quiet")
    rc, out, _ = run(capsys, "table", "-w", str(ws.root), "--columns", "id,gopher_quality__gopher_quality_reason",
                     "--where", "gopher_quality__gopher_quality_reason is null")
    assert rc == 0
    assert _csv(out)["id"].tolist() == ["good", "dup"]
    rc, out, _ = run(capsys, "table", "-w", str(ws.root), "--columns", "id,length", "--where", "length__n_words < 10",
                     "--format", "jsonl")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == ["short"] and rows[0]["length__n_words"] == 6
    rc, out, _ = run(capsys, "table", "-w", str(ws.root), "--columns", "id", "--where", "text contains 'RIVER RUNS'",
                     "--where", "id in good,short")
    assert _csv(out)["id"].tolist() == ["good"]
    rc, out, _ = run(capsys, "table", "-w", str(ws.root), "--columns", "id,gopher_quality__n_words",
                     "--order-by", "gopher_quality__n_words", "--desc", "--limit", "2")
    assert _csv(out)["id"].tolist() == ["good", "dup"]


def test_table_writes_parquet_and_refuses_sql(ws, capsys, tmp_path):
    run(capsys, "score", "-w", str(ws.root), "length", "--quiet")
    out_file = tmp_path / "t.parquet"
    rc, _, err = run(capsys, "table", "-w", str(ws.root), "--columns", "id,text,length__n_chars", "--format", "parquet",
                     "--out", str(out_file))
    assert rc == 0 and "wrote 4 rows" in err
    df = pd.read_parquet(out_file)
    assert list(df.columns) == ["id", "text", "length__n_chars"] and df["length__n_chars"].iloc[1] == len("Too short to keep the text.")
    for bad in ("id = 'x' OR 1=1; DROP TABLE docs", "id; DROP TABLE docs", "length__n_chars > 1 OR 1=1"):
        rc, out, err = run(capsys, "table", "-w", str(ws.root), "--columns", "id", "--where", bad)
        assert rc == 2 and err.startswith("error: --where"), (bad, err)
    # a value is a bound parameter: SQL in it is just text that matches nothing
    rc, out, _ = run(capsys, "table", "-w", str(ws.root), "--columns", "id", "--where", "id = \"x' OR '1'='1\"")
    assert rc == 0 and _csv(out).empty
    rc, out, _ = run(capsys, "table", "-w", str(ws.root), "--columns", "id")
    assert len(_csv(out)) == 4  # the documents are all still there
    rc, _, err = run(capsys, "table", "-w", str(ws.root), "--columns", "id,nope")
    assert rc == 2 and "unknown column 'nope'" in err
    rc, _, err = run(capsys, "table", "-w", str(ws.root), "--format", "parquet")
    assert rc == 2 and "--out" in err


def test_score_started_as_a_background_job_from_the_app(ws):
    import time

    from core.jobs import read_job, start_job

    job_id = start_job(ws, "score", ["score", "length", "fineweb"], title="score length, fineweb")
    deadline = time.monotonic() + 180
    job = read_job(ws, job_id)
    while job and job["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.5)
        job = read_job(ws, job_id)
    assert job and job["status"] == "done", (job, (ws.dir("jobs") / f"{job_id}.log").read_text())
    assert job["done"] == job["total"] == 4
    assert set(job["result"]) == {"length", "fineweb"}
    assert (ws.dir("signals") / "fineweb.parquet").exists()


def test_table_applies_a_saved_filter(ws, capsys):
    from core.filters import FilterSpec, Range, save_filter

    run(capsys, "score", "-w", str(ws.root), "length", "--quiet")
    save_filter(ws, "long", FilterSpec(thresholds={"length__n_words": Range(min=10)}))
    rc, out, _ = run(capsys, "table", "-w", str(ws.root), "--columns", "id", "--filter", "long")
    assert rc == 0 and _csv(out)["id"].tolist() == ["good", "dup", "hashes"]
    rc, out, _ = run(capsys, "table", "-w", str(ws.root), "--columns", "id", "--filter", "long", "--where", "id != dup")
    assert _csv(out)["id"].tolist() == ["good", "hashes"]
    rc, _, err = run(capsys, "table", "-w", str(ws.root), "--columns", "id", "--filter", "nope")
    assert rc == 2 and "no saved filter named 'nope'" in err
