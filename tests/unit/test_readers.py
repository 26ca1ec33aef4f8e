"""Every reader: JSONL (.gz), JSON arrays, CSV/TSV, Parquet, Hugging Face folders, text folders, chat records."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.errors import WinnowError
from core.ingest import chat_to_text, guess_text_field, ingest_paths
from core.readers import detect_format, read_any
from core.workspace import Workspace

RECORDS = [{"text": "First, with a comma", "topic": "a"}, {"text": "Second\nhas two lines", "topic": "b"},
           {"text": "Third \"quoted\" text", "topic": "a"}]


def rows(path: Path) -> list[tuple[int, dict | None]]:
    return [(r.row_no, r.record) for r in read_any(path)]


def docs(ws: Workspace) -> list[dict]:
    con = duckdb.connect()
    out = con.execute(f"SELECT id, text, source, label, meta FROM read_parquet('{ws.dir('docs')}/*.parquet') "
                      "ORDER BY id").df().to_dict("records")
    con.close()
    return out


def jsonl_bytes(records: list[dict]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def test_jsonl_rows_keep_their_line_numbers(tmp_path):
    src = tmp_path / "d.jsonl"
    src.write_bytes(b"\xef\xbb\xbf" + json.dumps(RECORDS[0]).encode() + b"\n\n   \n"
                    + jsonl_bytes(RECORDS[1:]) + b'{"text": "no newline at the end"}')
    got = rows(src)
    assert [n for n, _ in got] == [1, 4, 5, 6]  # a BOM is dropped, blank lines are not rows
    assert [r["text"] for _, r in got] == [r["text"] for r in RECORDS] + ["no newline at the end"]
    offsets = [r.offset for r in read_any(src)]
    assert offsets == sorted(offsets) and offsets[-1] == src.stat().st_size
    assert detect_format(src) == "jsonl" and detect_format(tmp_path / "x.ndjson") == "jsonl"


def test_jsonl_gz(tmp_path):
    src = tmp_path / "d.jsonl.gz"
    src.write_bytes(gzip.compress(jsonl_bytes(RECORDS)))
    assert rows(src) == [(i + 1, r) for i, r in enumerate(RECORDS)]
    ws = Workspace.create(tmp_path / "ws")
    report = ingest_paths(ws, [src], label_field="topic")
    assert report.loaded == 3 and [d["id"] for d in docs(ws)] == ["d:1", "d:2", "d:3"]
    assert [d["label"] for d in docs(ws)] == ["a", "b", "a"]


def test_json_array_and_wrapped_array(tmp_path):
    plain = tmp_path / "a.json"
    plain.write_text(json.dumps(RECORDS))
    assert rows(plain) == [(i + 1, r) for i, r in enumerate(RECORDS)]
    wrapped = tmp_path / "b.json"
    wrapped.write_text(json.dumps({"version": 2, "data": RECORDS}))
    assert rows(wrapped) == rows(plain)
    lines = tmp_path / "c.json"  # JSON Lines under a .json name
    lines.write_bytes(jsonl_bytes(RECORDS))
    assert rows(lines) == rows(plain)


def test_csv_with_quotes_commas_and_newlines(tmp_path):
    src = tmp_path / "t.csv"
    with open(src, "w", encoding="utf-8-sig", newline="") as fh:  # a BOM, as Excel writes it
        fh.write('text,topic\n"First, with a comma",a\n"Second\nhas two lines",b\n"Third ""quoted"" text",a\n\n')
    assert rows(src) == [(2, RECORDS[0]), (3, RECORDS[1]), (4, RECORDS[2])]
    ws = Workspace.create(tmp_path / "ws")
    assert ingest_paths(ws, [src], label_field="topic").loaded == 3
    assert sorted(d["text"] for d in docs(ws)) == sorted(r["text"] for r in RECORDS)


def test_tsv(tmp_path):
    src = tmp_path / "t.tsv"
    src.write_text("text\ttopic\nalpha beta\tx\ngamma, delta\ty\n")
    assert rows(src) == [(2, {"text": "alpha beta", "topic": "x"}), (3, {"text": "gamma, delta", "topic": "y"})]


def test_parquet_keeps_types_in_meta(tmp_path):
    src = tmp_path / "t.parquet"
    pq.write_table(pa.table({"body": ["one", "two"], "stars": [4, 5], "tags": [["a"], []]}), src, row_group_size=1)
    assert rows(src) == [(1, {"body": "one", "stars": 4, "tags": ["a"]}), (2, {"body": "two", "stars": 5, "tags": []})]
    ws = Workspace.create(tmp_path / "ws")
    ingest_paths(ws, [src], text_field="body")
    assert [json.loads(d["meta"]) for d in docs(ws)] == [{"stars": 4, "tags": ["a"]}, {"stars": 5, "tags": []}]


def test_hugging_face_dataset_folders(tmp_path):
    datasets = pytest.importorskip("datasets")
    one = tmp_path / "hf_one"
    datasets.Dataset.from_list(RECORDS).save_to_disk(str(one))
    assert detect_format(one) == "hf"
    assert rows(one) == [(i + 1, r) for i, r in enumerate(RECORDS)]
    both = tmp_path / "hf_splits"
    datasets.DatasetDict({"train": datasets.Dataset.from_list(RECORDS[:2]),
                          "test": datasets.Dataset.from_list(RECORDS[2:])}).save_to_disk(str(both))
    got = rows(both)
    assert [r["split"] for _, r in got] == ["train", "train", "test"]
    ws = Workspace.create(tmp_path / "ws")
    assert ingest_paths(ws, [both], label_field="topic").loaded == 3
    assert [d["id"] for d in docs(ws)] == ["hf_splits:1", "hf_splits:2", "hf_splits:3"]


def test_a_folder_of_text_files_is_one_document_each(tmp_path):
    folder = tmp_path / "notes"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("Alpha note.\nSecond line.")
    (folder / "sub" / "b.md").write_text("# Beta\n\n*markdown* stays as written")
    (folder / "image.png").write_bytes(b"\x89PNG")
    assert detect_format(folder) == "textdir"
    got = list(read_any(folder))
    assert [(r.name, r.record["text"]) for r in got] == [("a.txt", "Alpha note.\nSecond line."),
                                                           ("sub/b.md", "# Beta\n\n*markdown* stays as written")]
    ws = Workspace.create(tmp_path / "ws")
    assert ingest_paths(ws, [folder]).loaded == 2
    assert [d["id"] for d in docs(ws)] == ["notes:a.txt", "notes:sub/b.md"]
    single = tmp_path / "readme.md"
    single.write_text("just one file")
    assert rows(single) == [(1, {"text": "just one file", "path": "readme.md"})]


def test_chat_records_become_one_text_with_role_markers(tmp_path):
    sharegpt = [{"from": "human", "value": "What is 2+2? "}, {"from": "gpt", "value": "4."},
                {"from": "human", "value": "Thanks"}]
    assert chat_to_text(sharegpt) == "User: What is 2+2?\n\nAssistant: 4.\n\nUser: Thanks"
    openai = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
              {"role": "assistant", "content": "Hello"}, {"role": "critic", "content": "ok"}]
    assert chat_to_text(openai) == "System: Be brief.\n\nUser: Hi\n\nAssistant: Hello\n\nCritic: ok"
    assert chat_to_text([{"from": "human"}]) is None
    src = tmp_path / "chats.jsonl"
    src.write_bytes(jsonl_bytes([{"id": "c1", "conversations": sharegpt}, {"id": "c2", "messages": openai}]))
    assert guess_text_field([{"id": "c1", "conversations": sharegpt}]) == "conversations"
    ws = Workspace.create(tmp_path / "ws")
    report = ingest_paths(ws, [src], id_field="id")
    assert report.loaded == 1 and report.quarantined == 1  # the second record has no "conversations"
    assert docs(ws)[0]["text"] == "User: What is 2+2?\n\nAssistant: 4.\n\nUser: Thanks"
    ws2 = Workspace.create(tmp_path / "ws2")
    msgs = tmp_path / "msgs.jsonl"
    msgs.write_bytes(jsonl_bytes([{"messages": openai}]))
    ingest_paths(ws2, [msgs])
    assert docs(ws2)[0]["text"].startswith("System: Be brief.\n\nUser: Hi")


def test_formats_are_detected_from_names(tmp_path):
    for name, fmt in [("a.JSONL", "jsonl"), ("a.jsonl.gz", "jsonl"), ("a.json", "json"), ("a.csv", "csv"),
                      ("a.tsv.gz", "tsv"), ("a.parquet", "parquet"), ("a.pq", "parquet"), ("a.txt", "text")]:
        assert detect_format(tmp_path / name) == fmt, name
    with pytest.raises(WinnowError, match="unknown format for a.xlsx"):
        detect_format(tmp_path / "a.xlsx")
    with pytest.raises(WinnowError, match="no such file or folder"):
        read_any(tmp_path / "missing.jsonl")
