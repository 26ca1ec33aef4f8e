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
