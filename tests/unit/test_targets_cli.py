"""`python -m core target`: targets and benchmarks from files and from workspace filters, listed and checked."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.cli import main
from core.errors import WinnowError
from core.targets import add_reference_text, list_references, load_reference

DOCS = [
    {"id": "t1", "text": "New phones and chips", "label": "tech", "src": "bbc"},
    {"id": "t2", "text": "Broadband speeds rise", "label": "tech"},
    {"id": "s1", "text": "Cup final tonight", "label": "sport"},
    {"id": "b1", "text": "Stocks fell", "label": "business"},
]


@pytest.fixture
def ws(make_ws):
    return make_ws(DOCS, id_field="id", label_field="label", source="news")


def cli(ws, *argv):
    return main(["target", *argv[:1], "--workspace", str(ws.root), *argv[1:]])


def test_add_from_jsonl_csv_and_text(ws, tmp_path, capsys):
    jl = tmp_path / "ex.jsonl"
    jl.write_text('{"prompt": "write a sort", "tid": "A/1", "cat": "code"}\n'
                  '{"prompt": "reverse a list", "tid": "A/2", "cat": "code"}\n'
                  'not json\n{"prompt": "", "tid": "A/3"}\n')
    assert cli(ws, "add", "tasks", str(jl), "--id-field", "tid", "--label-field", "cat") == 0
    out = capsys.readouterr().out
    assert "2 examples" in out and "2 rows skipped" in out and "malformed JSON" in out
    df = load_reference(ws, "tasks")
    assert df["id"].tolist() == ["A/1", "A/2"] and df["text"].tolist() == ["write a sort", "reverse a list"]
    assert df["label"].tolist() == ["code", "code"]

    csv = tmp_path / "ex.csv"
    csv.write_text('body,x\n"multi\nline one",1\nsecond,2\n')
    assert cli(ws, "add", "fromcsv", str(csv), "--text-field", "body") == 0
    assert load_reference(ws, "fromcsv")["text"].tolist() == ["multi\nline one", "second"]

    txt = tmp_path / "ex.txt"
    txt.write_text("first paragraph\nstill first\n\nsecond paragraph\n\n\n")
    assert cli(ws, "add", "paras", str(txt)) == 0
    assert load_reference(ws, "paras")["text"].tolist() == ["first paragraph\nstill first", "second paragraph"]
    assert cli(ws, "add", "lines", str(txt), "--split", "line") == 0
    assert len(load_reference(ws, "lines")) == 3


def test_benchmark_kind_and_list(ws, tmp_path, capsys):
    jl = tmp_path / "bench.jsonl"
    jl.write_text('{"text": "def add(a, b):", "task_id": "H/0"}\n')
    assert cli(ws, "add", "heval", str(jl), "--kind", "benchmark", "--id-field", "task_id") == 0
    assert list_references(ws, "benchmarks") == ["heval"] and list_references(ws, "targets") == []
    assert cli(ws, "from-filter", "tech", "--label", "tech") == 0
    capsys.readouterr()
    assert cli(ws, "list") == 0
    out = capsys.readouterr().out
    assert "target" in out and "tech" in out and "2 examples" in out and "(tech: 2)" in out
    assert "benchmark" in out and "heval" in out and "1 examples" in out
    assert cli(ws, "list", "--json", "--kind", "benchmark") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["heval"] and rows[0]["examples"] == 1


def test_from_filter_by_label_source_and_limit(ws):
    assert cli(ws, "from-filter", "tech", "--label", "tech") == 0
    df = load_reference(ws, "tech")
    assert sorted(df["id"]) == ["t1", "t2"] and set(df["label"]) == {"tech"}
    assert cli(ws, "from-filter", "two", "--label", "tech", "--label", "sport", "--source", "news", "--limit", "2") == 0
    assert len(load_reference(ws, "two")) == 2


def test_errors_are_one_clear_line(ws, tmp_path, capsys):
    jl = tmp_path / "ex.jsonl"
    jl.write_text('{"blurb": "x"}\n')
    cases = [
        (("add", "bad/name", str(jl)), "invalid target name"),
        (("add", "t", str(tmp_path / "missing.jsonl")), "no such file"),
        (("add", "t", str(jl)), "no text field found among blurb"),
        (("add", "t", str(jl), "--text-field", "text"), "has no field 'text'"),
        (("add", "t", str(jl), "--text-field", "blurb", "--id-field", "nope"), "has no field 'nope'"),
        (("from-filter", "t", "--label", "weather"), "no document matches label=['weather'] (labels: business, sport, tech"),
        (("from-filter", "t"), "say which documents to take"),
    ]
    for argv, message in cases:
        assert cli(ws, *argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (argv, err)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n")
    assert cli(ws, "add", "t", str(empty)) == 2
    assert "no example with text" in capsys.readouterr().err
    dup = tmp_path / "dup.jsonl"
    dup.write_text('{"text": "a", "i": 1}\n{"text": "b", "i": 1}\n')
    assert cli(ws, "add", "t", str(dup), "--id-field", "i") == 2
    assert "occurs more than once" in capsys.readouterr().err


def test_existing_name_needs_replace_and_remove(ws, tmp_path, capsys):
    add_reference_text(ws, "pasted", "one\ntwo")
    with pytest.raises(WinnowError, match="exists already"):
        add_reference_text(ws, "pasted", "three")
    add_reference_text(ws, "pasted", "three", replace=True)
    assert load_reference(ws, "pasted")["text"].tolist() == ["three"]
    assert cli(ws, "remove", "pasted") == 0
    assert list_references(ws) == []
    assert cli(ws, "remove", "pasted") == 2
    assert "no target named 'pasted'" in capsys.readouterr().err


def test_hand_made_parquet_is_valid_and_a_bad_one_is_refused(ws):
    pq.write_table(pa.table({"id": [1, 2], "text": ["a", "b"]}), ws.dir("targets") / "byhand.parquet")
    assert load_reference(ws, "byhand")["id"].tolist() == ["1", "2"]
    pq.write_table(pa.table({"id": [1], "body": ["a"]}), ws.dir("targets") / "broken.parquet")
    with pytest.raises(WinnowError, match="lacks the column"):
        load_reference(ws, "broken")
    with pytest.raises(WinnowError, match="target add NAME FILE --kind benchmark"):
        load_reference(ws, "nope", "benchmarks")
