"""The length signal, and when a signal recomputes (only when its parameters or the documents change)."""

from __future__ import annotations

import json

import pytest

from core.ingest import ingest_paths
from core.signals.runner import run_signal
from tests.unit._signal_helpers import compute


def test_length_counts_characters_words_lines_and_mean_word_length():
    out = compute("length", ["", "one two\nthree", "line one\r\nline two\n", "   "])
    assert out["n_chars"].tolist() == [0, 13, 19, 3]
    assert out["n_words"].tolist() == [0, 3, 4, 0]
    assert out["n_lines"].tolist() == [0, 2, 2, 1]
    assert out["mean_word_length"].iloc[1] == pytest.approx(11 / 3)
    assert out["mean_word_length"].isna().tolist() == [True, False, False, True]


def test_a_signal_recomputes_only_when_parameters_or_documents_change(make_ws, tmp_path):
    ws = make_ws([{"text": "The first document of the set."}, {"text": "A second one, with more words in it."}])
    first = run_signal(ws, "gopher_quality")
    assert not first.skipped and first.summary["rows"] == 2
    stamp = (ws.dir("signals") / "gopher_quality.parquet").stat().st_mtime_ns

    again = run_signal(ws, "gopher_quality")
    assert again.skipped
    assert (ws.dir("signals") / "gopher_quality.parquet").stat().st_mtime_ns == stamp

    changed = run_signal(ws, "gopher_quality", {"min_doc_words": 5})
    assert not changed.skipped
    assert json.loads((ws.dir("signals") / "gopher_quality.json").read_text())["params"]["min_doc_words"] == 5
    assert run_signal(ws, "gopher_quality", {"min_doc_words": 5}).skipped

    extra = tmp_path / "more.jsonl"
    extra.write_text(json.dumps({"text": "A third document arrives later."}) + "\n")
    ingest_paths(ws, [extra])
    grown = run_signal(ws, "gopher_quality", {"min_doc_words": 5})
    assert not grown.skipped and grown.summary["rows"] == 3
    assert run_signal(ws, "gopher_quality", {"min_doc_words": 5}, force=True).skipped is False


def test_a_copied_workspace_keeps_its_signals_and_a_rewritten_part_does_not(make_ws, tmp_path):
    """The documents' fingerprint is their content, not file times: `cp -r` (new mtimes) recomputes
    nothing, while a part rewritten with other text is noticed."""
    import os
    import shutil

    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from core.workspace import Workspace

    ws = make_ws([{"text": "The first document of the set."}, {"text": "A second one, with more words."}])
    assert not run_signal(ws, "gopher_quality").skipped
    copy = Workspace(shutil.copytree(ws.root, tmp_path / "copy"))  # copytree sets new mtimes on the parts
    part = copy.doc_files()[0]
    os.utime(part, ns=(1, 1))
    assert copy.fingerprint() == ws.fingerprint()
    assert run_signal(copy, "gopher_quality").skipped
    table = pq.read_table(part)
    edited = table.set_column(1, "text", pc.replace_substring(table.column("text"), "first", "fir5t"))
    pq.write_table(edited.set_column(7, "sha1", pc.replace_substring(table.column("sha1"), "a", "b")), part)
    assert copy.fingerprint() != ws.fingerprint()
    assert not run_signal(copy, "gopher_quality").skipped


def test_signals_recorded_with_the_old_mtime_fingerprint_stay_up_to_date(make_ws):
    """Workspaces made before the content fingerprint: their sidecars hold the names-sizes-mtimes digest;
    upgrading must not make every signal stale (at 1M documents the heuristics alone take an hour)."""
    import hashlib

    ws = make_ws([{"text": "The first document of the set."}, {"text": "A second one, with more words."}])
    run_signal(ws, "gopher_quality")
    stamps = [f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in ws.doc_files()]
    legacy = hashlib.sha1("|".join(stamps).encode()).hexdigest()[:16]
    sidecar = ws.dir("signals") / "gopher_quality.json"
    meta = json.loads(sidecar.read_text())
    meta["inputs"]["docs"] = legacy
    sidecar.write_text(json.dumps(meta))
    assert ws.same_docs(legacy) and not ws.same_docs("0123456789abcdef") and not ws.same_docs(None)
    assert run_signal(ws, "gopher_quality").skipped
