"""Ingest: bad rows go to quarantine with their file, row and reason, and every good row still loads;
ids are stable, re-ingest adds nothing, and the CLI ends with `loaded N, quarantined M`."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.errors import WinnowError
from core.ingest import ingest_paths
from core.overview import quarantine_rows
from core.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]


def _spy_on(monkeypatch, name: str) -> list[bool]:
    """Records, per file, whether `core.ingest.<name>` (a column-wise reader) took the file."""
    import core.ingest as ingest_module

    taken: list[bool] = []
    real = getattr(ingest_module, name)

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        taken.append(out is not None)
        return out

    monkeypatch.setattr(ingest_module, name, spy)
    return taken


@pytest.fixture
def fast_path(monkeypatch):
    """Records, per JSONL file, whether ingest took the column-wise (DuckDB) path."""
    return _spy_on(monkeypatch, "_fast_jsonl")


def docs_of(ws: Workspace) -> pd.DataFrame:
    if not ws.has_docs():
        return pd.DataFrame(columns=["id", "text", "source", "label", "meta", "n_chars", "n_words", "sha1"])
    con = duckdb.connect()
    df = con.execute(f"SELECT * FROM read_parquet('{ws.dir('docs')}/part-*.parquet') ORDER BY id").df()
    con.close()
    return df


def good(i: int) -> dict:
    return {"text": f"Good document number {i} about tea.", "n": i}


def write_lines(path: Path, lines: list[bytes | str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join((x.encode() if isinstance(x, str) else x) + b"\n" for x in lines))
    return path


def ingest_one(tmp_path: Path, name: str, lines: list[bytes | str], **kwargs):
    """Ingest a JSONL file of `lines`: (report, docs, quarantine rows)."""
    src = write_lines(tmp_path / "in" / name, lines)
    ws = Workspace.create(tmp_path / "ws")
    report = ingest_paths(ws, [src], **kwargs)
    return report, docs_of(ws), quarantine_rows(ws)


def j(obj) -> str:
    return json.dumps(obj)


# -- malformed rows: (file lines, expected bad line number, expected reason start) ----------------
BAD_JSONL = {
    "malformed JSON": ('{"text": "unterminated', "malformed JSON"),
    "not an object": ('["a", "list"]', "line is a JSON list, not an object"),
    "text is a number": (j({"text": 42}), "text is a number, not a string"),
    "text is a boolean": (j({"text": True}), "text is a boolean, not a string"),
    "text is an object": (j({"text": {"body": "x"}}), "text is an object, not a string"),
    "text is a list of strings": (j({"text": ["a", "b"]}), "text is a list, not a string"),
    "text is null": (j({"text": None}), "text is null"),
    "missing text": (j({"body": "no text field here"}), "missing text field 'text'"),
    "empty text": (j({"text": ""}), "text is empty or whitespace"),
    "whitespace text": (j({"text": " \n\t\u00a0 "}), "text is empty or whitespace"),
    "NUL in text": (j({"text": "binary\u0000junk"}), "text contains NUL characters"),
    "chat turns without role": (j({"text": [{"value": "hi"}, {"value": "there"}]}),
                                "chat turns without role and text"),
    "invalid UTF-8": (b'{"text": "caf\xe9 au lait"}', "invalid UTF-8 at byte"),
}


@pytest.mark.parametrize("case", sorted(BAD_JSONL))
def test_a_bad_row_is_quarantined_with_its_reason_and_every_good_row_loads(tmp_path, case):
    bad, reason = BAD_JSONL[case]
    lines = [j(good(1)), j(good(2)), bad, j(good(4)), j(good(5))]
    report, docs, quarantine = ingest_one(tmp_path, "mixed.jsonl", lines)
    assert report.loaded == 4 and report.quarantined == 1
    assert sorted(docs.text) == sorted(good(i)["text"] for i in (1, 2, 4, 5))
    assert list(docs.id) == ["mixed:1", "mixed:2", "mixed:4", "mixed:5"]  # line numbers: no shift
    row = quarantine.iloc[0]
    assert (row.file, int(row.row)) == ("mixed.jsonl", 3)
    assert row.reason.startswith(reason), row.reason
    assert len(row.excerpt) <= 200


def test_a_document_over_the_size_limit_is_quarantined(tmp_path):
    lines = [j(good(1)), j({"text": "word " * 100}), j(good(3))]
    report, docs, quarantine = ingest_one(tmp_path, "big.jsonl", lines, max_chars=200)
    assert report.loaded == 2 and len(docs) == 2
    assert quarantine.iloc[0].reason == "document has 500 characters, over the limit of 200"
    assert int(quarantine.iloc[0].row) == 2


def test_duplicate_ids_are_reported_not_merged(tmp_path):
    lines = [j({"uid": "a", "text": "first a"}), j({"uid": "b", "text": "b"}), j({"uid": "a", "text": "second a"})]
    report, docs, quarantine = ingest_one(tmp_path, "dups.jsonl", lines, id_field="uid")
    assert list(docs.id) == ["a", "b"] and docs.set_index("id").at["a", "text"] == "first a"
    assert report.quarantined == 1
    row = quarantine.iloc[0]
    assert (row.id, int(row.row), row.reason) == ("a", 3, "duplicate id (first seen at dups.jsonl:1)")


def test_duplicate_ids_in_a_clean_file_take_the_columnar_path_and_are_still_reported(tmp_path, fast_path):
    lines = [j({"uid": f"d{i % 150}", "text": f"text {i}"}) for i in range(300)]
    report, docs, quarantine = ingest_one(tmp_path, "many.jsonl", lines, id_field="uid")
    assert report.loaded == 150 and report.quarantined == 150
    assert set(quarantine.reason) == {f"duplicate id (first seen at many.jsonl:{i + 1})" for i in range(150)}
    assert set(docs.text) == {f"text {i}" for i in range(150)}
    assert fast_path == [True]


def test_a_missing_id_is_quarantined(tmp_path):
    lines = [j({"uid": "a", "text": "has an id"}), j({"text": "has none"}), j({"uid": "", "text": "empty id"})]
    report, docs, quarantine = ingest_one(tmp_path, "ids.jsonl", lines, id_field="uid")
    assert list(docs.id) == ["a"]
    assert list(quarantine.reason) == ["missing or invalid id field 'uid'"] * 2
    assert list(quarantine.row) == [2, 3]


def test_a_changed_text_under_an_existing_id_is_quarantined(tmp_path):
    ws = Workspace.create(tmp_path / "ws")
    first = write_lines(tmp_path / "a.jsonl", [j({"uid": "x", "text": "original"}), j({"uid": "y", "text": "y"})])
    ingest_paths(ws, [first], id_field="uid")
    second = write_lines(tmp_path / "b.jsonl", [j({"uid": "x", "text": "edited"}), j({"uid": "z", "text": "z"})])
    report = ingest_paths(ws, [second], id_field="uid")
    assert (report.loaded, report.quarantined) == (1, 1)
    q = quarantine_rows(ws)
    assert list(q.reason) == ["id already in the workspace with a different text"]
    assert docs_of(ws).set_index("id").text.to_dict() == {"x": "original", "y": "y", "z": "z"}


def test_a_truncated_gzip_keeps_the_lines_before_the_break(tmp_path):
    data = gzip.compress(b"".join((j(good(i)) + "\n").encode() for i in range(1, 2001)))
    src = tmp_path / "cut.jsonl.gz"
    src.write_bytes(data[: len(data) * 2 // 3])
    ws = Workspace.create(tmp_path / "ws")
    report = ingest_paths(ws, [src])
    docs = docs_of(ws)
    assert 100 < report.loaded < 2000 and report.quarantined == 1
    n = report.loaded
    assert set(docs.text) == {good(i)["text"] for i in range(1, n + 1)}  # every complete line before the break
    reason = quarantine_rows(ws).iloc[0].reason
    assert reason.startswith(f"file ends early or is corrupt after line {n}")


def test_csv_rows_with_the_wrong_number_of_fields_or_bad_bytes(tmp_path):
    src = tmp_path / "table.csv"
    src.write_bytes(b'id,text\n1,"fine, with a comma"\n2,too,many,fields\n3,"multi\nline"\n4,caf\xe9\n5,last\n')
    ws = Workspace.create(tmp_path / "ws")
    report = ingest_paths(ws, [src], id_field="id")
    docs = docs_of(ws)
    assert docs.set_index("id").text.to_dict() == {"1": "fine, with a comma", "3": "multi\nline", "5": "last"}
    q = quarantine_rows(ws).sort_values("row")
    assert report.quarantined == 2
    assert list(q.row) == [3, 5]  # spreadsheet rows: the header is row 1
    assert list(q.reason) == ["row has 4 fields, the header has 2", "invalid UTF-8"]


def test_json_array_items_that_are_not_objects(tmp_path):
    src = tmp_path / "arr.json"
    src.write_text(json.dumps([good(1), "just a string", good(3), 7]))
    ws = Workspace.create(tmp_path / "ws")
    report = ingest_paths(ws, [src])
    assert report.loaded == 2
    q = quarantine_rows(ws)
    assert list(q.row) == [2, 4]
    assert list(q.reason) == ["item is a JSON str, not an object", "item is a JSON int, not an object"]


def test_parquet_with_null_and_non_string_text(tmp_path):
    src = tmp_path / "t.parquet"
    pq.write_table(pa.table({"text": ["kept", None, "", "kept too"], "k": [1, 2, 3, 4]}), src)
    ws = Workspace.create(tmp_path / "ws")
    report = ingest_paths(ws, [src])
    assert sorted(docs_of(ws).text) == ["kept", "kept too"]
    assert list(quarantine_rows(ws).reason) == ["text is null", "text is empty or whitespace"]
    assert report.quarantined == 2
    nums = tmp_path / "n.parquet"
    pq.write_table(pa.table({"text": [1, 2]}), nums)
    ws2 = Workspace.create(tmp_path / "ws2")
    assert ingest_paths(ws2, [nums]).loaded == 0
    assert set(quarantine_rows(ws2).reason) == {"text is a number, not a string"}


def test_a_text_file_with_bad_bytes_in_a_folder(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.txt").write_text("first note")
    (folder / "b.md").write_bytes(b"# title\n\xff\xfe broken")
    (folder / "c.txt").write_text("   ")
    ws = Workspace.create(tmp_path / "ws")
    report = ingest_paths(ws, [folder])
    assert list(docs_of(ws).text) == ["first note"] and report.quarantined == 2
    q = quarantine_rows(ws).set_index("file")
    assert q.at["b.md", "reason"].startswith("invalid UTF-8") and q.at["c.txt", "reason"] == "text is empty or whitespace"


def test_many_bad_rows_at_once_each_with_its_own_reason(tmp_path):
    lines = [j(good(0))]
    for case in sorted(BAD_JSONL):
        lines += [BAD_JSONL[case][0], j(good(len(lines)))]
    report, docs, quarantine = ingest_one(tmp_path, "all.jsonl", lines)
    assert report.quarantined == len(BAD_JSONL) and report.loaded == len(BAD_JSONL) + 1
    assert all(t.startswith("Good document") for t in docs.text)
    reasons = list(quarantine.sort_values("row").reason)
    assert [r.startswith(BAD_JSONL[c][1]) for c, r in zip(sorted(BAD_JSONL), reasons, strict=True)] == [True] * len(reasons)
    assert sum(report.reasons.values()) == report.quarantined


# -- inputs that cannot be used at all: one clear error, nothing written --------------------------
def test_errors_for_inputs_that_cannot_be_opened(tmp_path):
    ws = Workspace.create(tmp_path / "ws")
    with pytest.raises(WinnowError, match="no such file or folder"):
        ingest_paths(ws, [tmp_path / "missing.jsonl"])
    (tmp_path / "data.xlsx").write_bytes(b"PK\x03\x04")
    with pytest.raises(WinnowError, match="unknown format for data.xlsx"):
        ingest_paths(ws, [tmp_path / "data.xlsx"])
    src = write_lines(tmp_path / "r.jsonl", [j({"body": "x", "title": "t"})])
    with pytest.raises(WinnowError, match=r"no field 'text'; the fields are: body, title"):
        ingest_paths(ws, [src], text_field="text")
    with pytest.raises(WinnowError, match=r"s.jsonl: no text field found; choose one with --text-field from: b, title"):
        ingest_paths(ws, [write_lines(tmp_path / "s.jsonl", [j({"b": "x", "title": "t"})])])
    with pytest.raises(WinnowError, match=r"no id field 'uid'; the fields are: body, title"):
        ingest_paths(ws, [src], text_field="body", id_field="uid")
    pq.write_table(pa.table({"text": ["x"]}), tmp_path / "fake.jsonl")
    with pytest.raises(WinnowError, match="named .jsonl but looks like a Parquet file"):
        ingest_paths(ws, [tmp_path / "fake.jsonl"])
    (tmp_path / "broken.json").write_text('[{"text": "a"}, {"text": ')
    with pytest.raises(WinnowError, match="not valid JSON"):
        ingest_paths(ws, [tmp_path / "broken.json"])
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(WinnowError, match="has no .txt or .md files"):
        ingest_paths(ws, [tmp_path / "empty_dir"])
    assert not ws.has_docs() and not ws.quarantine_files()


# -- ids, re-ingest ---------------------------------------------------------------------------------
def test_ids_are_stable_and_reingest_adds_nothing(tmp_path):
    lines = [j(good(1)), "", j(good(3)), "{bad", j(good(5))]
    src = write_lines(tmp_path / "in" / "notes.jsonl", lines)
    a, b = Workspace.create(tmp_path / "a"), Workspace.create(tmp_path / "b")
    first = ingest_paths(a, [src])
    ingest_paths(b, [src])
    assert list(docs_of(a).id) == list(docs_of(b).id) == ["notes:1", "notes:3", "notes:5"]
    again = ingest_paths(a, [src])
    assert (again.loaded, again.unchanged, again.quarantined) == (0, 3, 1)
    assert len(docs_of(a)) == 3
    assert len(quarantine_rows(a)) == 1  # the file's quarantine is replaced, not added to
    assert first.summary() == "loaded 3, quarantined 1"
    assert again.summary() == "loaded 0, quarantined 1, already present 3"
    meta = json.loads((a.root / "winnow.json").read_text())
    assert [i["loaded"] for i in meta["ingests"]] == [3, 0]


def test_reingest_of_a_clean_file_on_the_columnar_path(tmp_path, fast_path):
    src = write_lines(tmp_path / "clean.jsonl", [j({"uid": f"u{i}", "text": f"doc {i}"}) for i in range(500)])
    ws = Workspace.create(tmp_path / "ws")
    assert ingest_paths(ws, [src], id_field="uid").loaded == 500
    again = ingest_paths(ws, [src], id_field="uid")
    assert (again.loaded, again.unchanged, again.quarantined) == (0, 500, 0)
    assert len(docs_of(ws)) == 500
    assert fast_path == [True, True]


def test_the_columnar_path_stores_what_the_row_path_stores(tmp_path, fast_path):
    """A clean .jsonl takes the column-wise path; the same lines gzipped go row by row: same rows."""
    records = [{"id": f"r{i}", "text": t, "topic": ["a", "b", "c"][i % 3], "when": f"2024-01-0{1 + i % 9}",
                "score": i / 4, "tags": ["x", "y"][: i % 3], "extra": None if i % 2 else {"k": i, "gone": None},
                **({"late": {"n": i}} if i > 230 else {})}
               for i, t in enumerate(["plain words here", "  leading and trailing  ", "tabs\tand\nnewlines",
                                      "ünïcödé wörds ok", "one", "a  b   c", "x\u00a0y", "last, with punctuation!"]
                                     * 30)]
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    plain = write_lines(tmp_path / "p" / "same.jsonl", lines)
    zipped = tmp_path / "z" / "same.jsonl.gz"
    zipped.parent.mkdir()
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    fast_ws, slow_ws = Workspace.create(tmp_path / "fast"), Workspace.create(tmp_path / "slow")
    ingest_paths(fast_ws, [plain], id_field="id")
    ingest_paths(slow_ws, [zipped], id_field="id")
    assert fast_path == [True, False]  # a .gz file is read row by row
    fast, slow = docs_of(fast_ws), docs_of(slow_ws)
    pd.testing.assert_frame_equal(fast.drop(columns=["meta"]), slow.drop(columns=["meta"]))
    assert [json.loads(m) for m in fast.meta] == [json.loads(m) for m in slow.meta]
    # words: runs of characters above U+0020 (so a no-break space does not split "x\u00a0y")
    assert list(fast.n_words) == [len(re.findall(r"[^\x00-\x20]+", t)) for t in fast.text]
    assert fast.set_index("text").n_words.to_dict()["a  b   c"] == 3
    assert json.loads(fast.set_index("id").at["r8", "meta"]) == {"topic": "c", "when": "2024-01-09", "score": 2.0,
                                                                 "tags": ["x", "y"], "extra": {"k": 8, "gone": None}}
    assert json.loads(fast.set_index("id").at["r232", "meta"])["late"] == {"n": 232}  # a key first seen at row 233


def test_a_file_larger_than_memory_allows_is_checked_whole_then_loaded_batch_by_batch(tmp_path, fast_path,
                                                                                 monkeypatch):
    import core.ingest as ingest_module

    monkeypatch.setattr(ingest_module, "FAST_HOLD_BYTES", 500)  # parsed twice: checked, then loaded
    monkeypatch.setattr(ingest_module, "FAST_BATCH_ROWS", 12)
    lines = [j({"uid": f"u{i % 90}", "text": f"line {i} of a long file"}) for i in range(100)]
    src = write_lines(tmp_path / "long.jsonl", lines)
    ws = Workspace.create(tmp_path / "ws")
    report = ingest_paths(ws, [src], id_field="uid")
    assert fast_path == [True] and len(ws.doc_files()) > 1
    assert (report.loaded, report.quarantined) == (90, 10)
    q = quarantine_rows(ws).sort_values("row")
    assert list(q.row) == list(range(91, 101))  # line numbers run on across batches
    assert list(q.reason)[:2] == ["duplicate id (first seen at long.jsonl:1)", "duplicate id (first seen at long.jsonl:2)"]
    plain = write_lines(tmp_path / "p" / "long.jsonl", [j({"text": f"doc {i}"}) for i in range(100)])
    ws2 = Workspace.create(tmp_path / "ws2")
    ingest_paths(ws2, [plain])
    assert sorted(docs_of(ws2).id, key=lambda x: int(x.split(":")[1])) == [f"long:{i}" for i in range(1, 101)]
    assert fast_path == [True, True]
    blank = write_lines(tmp_path / "b" / "long.jsonl", [j({"text": f"doc {i}"}) for i in range(60)] + [""]
                        + [j({"text": f"doc {i}"}) for i in range(61, 100)])
    ws3 = Workspace.create(tmp_path / "ws3")
    assert ingest_paths(ws3, [blank]).loaded == 99 and fast_path == [True, True, False]  # a blank line: row by row
    assert "long:61" not in set(docs_of(ws3).id) and "long:62" in set(docs_of(ws3).id)


def test_labels_and_sources(tmp_path):
    lines = [j({"text": "a", "topic": "news"}), j({"text": "b", "topic": ""}), j({"text": "c"})]
    src = write_lines(tmp_path / "l.jsonl", lines)
    ws = Workspace.create(tmp_path / "ws")
    ingest_paths(ws, [src], label_field="topic", source="crawl")
    docs = docs_of(ws)
    assert list(docs.label.fillna("-")) == ["news", "-", "-"]
    assert set(docs.source) == {"crawl"} and list(docs.id) == ["crawl:1", "crawl:2", "crawl:3"]


# -- the command line --------------------------------------------------------------------------------
def test_cli_summary_reasons_and_exit_codes(tmp_path, capsys):
    from core.cli import main

    src = write_lines(tmp_path / "in.jsonl", [j(good(1)), "{oops", j({"text": ""}), j(good(4))])
    ws = tmp_path / "ws"
    assert main(["ingest", str(src), "--workspace", str(ws), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "loaded 2, quarantined 2" in out
    assert "malformed JSON" in out and "text is empty or whitespace" in out
    assert main(["ingest", str(src), "--workspace", str(ws), "--quiet"]) == 0  # nothing new, but all present
    assert "loaded 0, quarantined 2, already present 2" in capsys.readouterr().out
    bad = write_lines(tmp_path / "bad.jsonl", ["{oops", j({"text": None})])
    assert main(["ingest", str(bad), "--workspace", str(tmp_path / "ws2"), "--quiet"]) == 1
    assert "loaded 0, quarantined 2" in capsys.readouterr().out
    assert main(["ingest", str(tmp_path / "nope.jsonl"), "--workspace", str(tmp_path / "ws3"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "no such file or folder" in err
    assert not (tmp_path / "ws3").exists()  # a failed command leaves no empty workspace behind
    assert main(["ingest", str(src), "--workspace", str(ws), "--text-field", "body", "--quiet"]) == 2
    assert "no field 'body'; the fields are: n, text" in capsys.readouterr().err


def test_cli_error_is_one_line_without_traceback(tmp_path):
    (tmp_path / "x.docx").write_text("?")
    proc = subprocess.run([sys.executable, "-m", "core", "ingest", str(tmp_path / "x.docx"), "--workspace",
                           str(tmp_path / "ws"), "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: unknown format for x.docx")
    assert "Traceback" not in proc.stderr and proc.stderr.strip().count("\n") == 0


@pytest.mark.parametrize(("bad_line", "reason"), [
    (j({"id": "x", "text": 12}), "text is a number, not a string"),
    (j({"id": "x", "text": None}), "text is null"),
    (j({"id": "x", "text": {"a": 1}}), "text is an object, not a string"),
    (j({"id": 1.5, "text": "float id"}), None),
    (j({"id": True, "text": "bool id"}), None),
    (j({"id": "x"}), "missing text field 'text'"),
    ('{"id": "x", "te\\u0078t": "escaped key"}', None),
    ('{"id": "x", "text": "two"} {"id": "y", "text": "objects"}', None),
    ("[1, 2]", None),
    ("   ", None),
])
def test_what_only_the_row_path_can_say_sends_the_file_row_by_row(tmp_path, fast_path, bad_line, reason):
    """An unusual row late in a file (after the rows the fields are guessed from) takes the whole file
    off the column-wise path, so every row gets the row path's exact reason and nothing is lost."""
    lines = [j({"id": f"d{i}", "text": f"doc {i} with {{braces}}, \"quotes\" and \\ slashes"}) for i in range(300)]
    lines.insert(250, bad_line)
    src = write_lines(tmp_path / "late.jsonl", lines)
    ws = Workspace.create(tmp_path / "ws")
    report = ingest_paths(ws, [src], id_field="id")
    assert fast_path == [False]
    assert report.loaded + report.quarantined + report.unchanged >= 300
    assert set(docs_of(ws).id) >= {f"d{i}" for i in range(300)}
    if reason:
        assert list(quarantine_rows(ws).reason) == [reason]
        assert list(quarantine_rows(ws).row) == [251]


def test_integer_ids_and_labels_crlf_and_no_final_newline_stay_on_the_columnar_path(tmp_path, fast_path):
    lines = [json.dumps({"n": i, "text": f"doc {i}", "topic": i % 3 if i % 2 else f"t{i % 3}",
                         "nested": {"s": "}{\"", "l": [[], {}]}}) for i in range(300)]
    src = tmp_path / "crlf.jsonl"
    src.write_bytes("\r\n".join(lines).encode())  # Windows line ends, none after the last line
    ws = Workspace.create(tmp_path / "ws")
    report = ingest_paths(ws, [src], id_field="n", label_field="topic")
    assert fast_path == [True] and report.loaded == 300
    docs = docs_of(ws).set_index("id")
    assert docs.at["7", "label"] == "1" and docs.at["8", "label"] == "t2"
    assert json.loads(docs.at["299", "meta"]) == {"nested": {"s": "}{\"", "l": [[], {}]}}


def test_the_bytes_check_counts_lines_across_pieces(monkeypatch):
    import numpy as np

    import core.jsonl_check as jc

    monkeypatch.setattr(jc, "TASK_BYTES", 37)  # many pieces, each ending inside a line
    lines = [j({"text": f"line {i}", **({f"k{i}": [i, "]"]} if i % 7 == 0 else {})}) for i in range(200)]
    data = np.frombuffer(("\n".join(lines)).encode(), dtype=np.uint8)
    keys = {"text": jc.KIND_STRING}
    result = jc.check_jsonl(data, keys, "text")
    assert (result.problem, result.lines) == (jc.OK, 200)
    assert result.new_keys == [f"k{i}" for i in range(0, 200, 7)] and set(keys) == {"text", *result.new_keys}
    blank = np.frombuffer(("\n".join(lines[:50]) + "\n\n" + "\n".join(lines[50:])).encode(), dtype=np.uint8)
    assert jc.check_jsonl(blank, {"text": jc.KIND_STRING}, "text").problem == jc.BLANK


def test_a_clean_parquet_file_is_read_column_wise_with_the_row_paths_result(tmp_path, monkeypatch):
    import core.ingest as ingest_module

    n = 450
    table = pa.table({
        "doc": [f"p{i}" for i in range(n)], "body": [f"parquet text {i}\twith  words" for i in range(n)],
        "cls": [i % 4 for i in range(n)], "score": [i / 8 if i % 5 else None for i in range(n)],
        "tags": [["a", "b"][: i % 3] for i in range(n)],
        "info": [{"k": i, "s": None if i % 2 else "x"} for i in range(n)],
    })
    src = tmp_path / "clean.parquet"
    pq.write_table(table, src, row_group_size=100)
    calls = _spy_on(monkeypatch, "_fast_parquet")
    monkeypatch.setattr(ingest_module, "FAST_BATCH_ROWS", 64)
    fast_ws = Workspace.create(tmp_path / "fast")
    report = ingest_paths(fast_ws, [src], text_field="body", id_field="doc", label_field="cls")
    assert calls == [True] and report.loaded == n
    monkeypatch.setattr(ingest_module, "_fast_parquet", lambda *a, **k: None)
    slow_ws = Workspace.create(tmp_path / "slow")
    ingest_paths(slow_ws, [src], text_field="body", id_field="doc", label_field="cls")
    fast, slow = docs_of(fast_ws), docs_of(slow_ws)
    pd.testing.assert_frame_equal(fast.drop(columns=["meta"]), slow.drop(columns=["meta"]))
    assert [json.loads(m) for m in fast.meta] == [json.loads(m) for m in slow.meta]
    assert json.loads(fast.set_index("id").at["p5", "meta"]) == {"tags": ["a", "b"], "info": {"k": 5, "s": None}}
    # no id field: ids from the row numbers, as row by row
    plain = Workspace.create(tmp_path / "plain")
    ingest_paths(plain, [src], text_field="body")
    assert sorted(docs_of(plain).id) == sorted(f"clean:{i}" for i in range(1, n + 1))
