"""The column-wise JSONL path writes its parts several at a time: every row lands once, in order, with
the same lengths, word counts and hashes the row-by-row path gives, and a second ingest adds nothing."""

from __future__ import annotations

import hashlib
import json

import duckdb
import pytest

import core.ingest as ingest_module
from core.ingest import ingest_paths
from core.workspace import Workspace


def _docs(ws: Workspace):
    con = duckdb.connect()
    rows = con.execute(f"SELECT id, text, source, label, meta, n_chars, n_words, sha1, filename "
                       f"FROM read_parquet('{ws.dir('docs')}/part-*.parquet', filename=true)").fetchall()
    con.close()
    return rows


def test_parts_written_in_parallel_hold_every_row_once(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest_module, "CHUNK_ROWS", 7)
    monkeypatch.setattr(ingest_module._Ingest, "add", lambda *a: pytest.fail("read row by row, not column-wise"))
    texts = [f"document {i} says  hello\tworld " + "word " * (i % 5) + "\u00e9t\u00e9" for i in range(50)]
    src = tmp_path / "many.jsonl"
    src.write_text("".join(json.dumps({"id": f"d{i:03d}", "text": t, "url": f"u{i}", "label": ["a", "b"][i % 2]})
                           + "\n" for i, t in enumerate(texts)), encoding="utf-8")
    ws = Workspace.create(tmp_path / "ws")
    report = ingest_paths(ws, [src], id_field="id", label_field="label")
    assert (report.loaded, report.quarantined) == (50, 0)
    assert report.parts == [f"part-{i:05d}.parquet" for i in range(8)]  # 50 rows, 7 a part
    rows = _docs(ws)
    assert sorted(r[0] for r in rows) == [f"d{i:03d}" for i in range(50)]
    for doc_id, text, source, label, meta, n_chars, n_words, sha1, filename in rows:
        i = int(doc_id[1:])
        assert text == texts[i] and source == "many" and label == ["a", "b"][i % 2]
        assert json.loads(meta) == {"url": f"u{i}"}
        assert (n_chars, n_words) == (len(text), len(text.split()))
        assert sha1 == hashlib.sha1(text.encode("utf-8")).hexdigest()
        assert filename.endswith(f"part-{i // 7:05d}.parquet")  # the parts keep the file's order
    again = ingest_paths(ws, [src], id_field="id", label_field="label")
    assert (again.loaded, again.quarantined, again.unchanged) == (0, 0, 50)
    assert len(_docs(ws)) == 50


def _write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def test_repeated_ids_across_column_wise_and_row_by_row_files(tmp_path):
    clean = _write(tmp_path / "clean.jsonl", [{"id": f"c{i}", "text": f"clean text {i}"} for i in range(5)])
    # a malformed line sends this file row by row; its c3 repeats an id the column-wise file loaded
    messy = _write(tmp_path / "messy.jsonl", [{"id": "m0", "text": "messy zero"}, "{not json",
                                                {"id": "c3", "text": "another text"}])
    # column-wise again, with one id the row-by-row file loaded and one the first file did
    late = _write(tmp_path / "late.jsonl", [{"id": "m0", "text": "late"}, {"id": "c1", "text": "late too"},
                                             {"id": "l2", "text": "late new"}])
    ws = Workspace.create(tmp_path / "ws")
    report = ingest_paths(ws, [clean, messy, late], id_field="id")
    assert (report.loaded, report.quarantined) == (7, 4)
    con = duckdb.connect()
    bad = con.execute(f"SELECT file, \"row\", reason FROM read_parquet('{ws.dir('quarantine')}/*.parquet') "
                      "ORDER BY file, \"row\"").fetchall()
    ids = {r[0] for r in con.execute(f"SELECT id FROM read_parquet('{ws.dir('docs')}/part-*.parquet')").fetchall()}
    con.close()
    assert ids == {"c0", "c1", "c2", "c3", "c4", "m0", "l2"}
    assert [(f, r) for f, r, _ in bad] == [("late.jsonl", 1), ("late.jsonl", 2), ("messy.jsonl", 2), ("messy.jsonl", 3)]
    reasons = {(f, r): reason for f, r, reason in bad}
    assert reasons[("messy.jsonl", 3)] == "duplicate id (first seen at clean.jsonl:4)"
    assert reasons[("late.jsonl", 1)] == "duplicate id (first seen at messy.jsonl:1)"
    assert reasons[("late.jsonl", 2)] == "duplicate id (first seen at clean.jsonl:2)"
    assert reasons[("messy.jsonl", 2)].startswith("malformed JSON")


def test_word_counts_match_split_with_empty_and_blank_texts_anywhere():
    import pyarrow as pa

    from core.ingest import word_counts

    texts = ["", " a b ", "", "x", "  ", "hello  world\tfoo\n", "", "\u00e9t\u00e9 z", "\x01y", "", ""]
    arr = pa.array(texts)
    assert list(word_counts(arr)) == [len(t.split()) for t in texts]
    assert list(word_counts(arr.slice(2))) == [len(t.split()) for t in texts[2:]]  # an offset into the buffers
    assert list(word_counts(pa.chunked_array([arr.slice(0, 3), arr.slice(3)]))) == [len(t.split()) for t in texts]
    assert list(word_counts(arr.cast(pa.large_string()))) == [len(t.split()) for t in texts]
    assert list(word_counts(pa.array(["", ""]))) == [0, 0]
