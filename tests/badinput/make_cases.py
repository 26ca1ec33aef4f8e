"""Generate the bad-input corpus: files a curator might really feed Winnow, each with its exact expected outcome.

Nothing here is committed as data: every case writes its files into a folder it is given (a test's
tmp_path), so the corpus costs no repository space and the 10 MB / 100k-line cases are made on the fly.

    python -m tests.badinput.make_cases OUT_DIR     # write every case into OUT_DIR/<case>/ and list them

A case says, for `core.ingest.ingest_paths(ws, inputs, **kwargs)` into a workspace that already holds
documents, exactly one of:
- `refused`: the regular expression the WinnowError message must match (and nothing is written), or
- `good` (every text that must load, in any order) and `quarantined` (file, row, reason prefix) for
  every row that must go to quarantine, and `unchanged` (rows already present with the same text).
"""

from __future__ import annotations

import gzip
import json
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

MB10 = 10 * 1024 * 1024


@dataclass
class Case:
    inputs: list[Path]
    kwargs: dict[str, Any] = field(default_factory=dict)
    good: list[str] = field(default_factory=list)
    quarantined: list[tuple[str, int, str]] = field(default_factory=list)  # (file, row, reason prefix)
    refused: str | None = None
    unchanged: int = 0
    good_ids: list[str] | None = None  # when given, the ids the good rows must get (same order as good)
    # a broken stream: the rows before the break load (a non-empty prefix of these), the break is quarantined
    # at the row after them
    prefix: list[str] | None = None


def g(i: int) -> str:
    return f"Good row {i}: the river runs past the mill."


def rec(i: int, **extra: Any) -> dict:
    return {"text": g(i), **extra}


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def lines(path: Path, rows: list[bytes | dict | str], end: bytes = b"\n", last_newline: bool = True) -> Path:
    raw = [dumps(r) if isinstance(r, dict) else (r.encode("utf-8") if isinstance(r, str) else r) for r in rows]
    data = end.join(raw) + (end if last_newline else b"")
    return write(path, data)


def around(d: Path, name: str, bad: bytes | dict | str, reason: str, **kwargs: Any) -> Case:
    """Good rows 1, 2, the bad row as line 3, good rows 4, 5."""
    src = lines(d / name, [rec(1), rec(2), bad, rec(4), rec(5)])
    return Case([src], kwargs, good=[g(i) for i in (1, 2, 4, 5)], quarantined=[(name, 3, reason)],
                good_ids=[f"{Path(name).name.split('.')[0]}:{i}" for i in (1, 2, 4, 5)])


CASES: dict[str, Callable[[Path], Case]] = {}


def case(name: str):
    def deco(fn):
        CASES[name] = fn
        return fn
    return deco


def jsonl_row(name: str, bad: bytes | dict | str, reason: str, **kwargs: Any) -> None:
    CASES[name] = lambda d: around(d, f"{name}.jsonl", bad, reason, **kwargs)


# -- JSONL: one bad line among good ones --------------------------------------------------------------
jsonl_row("jsonl_truncated_line", b'{"text": "unterminated', "malformed JSON")
jsonl_row("jsonl_trailing_comma", b'{"text": "a",}', "malformed JSON")
jsonl_row("jsonl_single_quotes", b"{'text': 'python dict repr'}", "malformed JSON")
jsonl_row("jsonl_two_objects_one_line", b'{"text": "a"}{"text": "b"}', "malformed JSON")
jsonl_row("jsonl_nan_literal", b'{"text": "a", "score": NaN}', "malformed JSON")
jsonl_row("jsonl_line_is_list", b'["a", "list"]', "line is a JSON list, not an object")
jsonl_row("jsonl_line_is_string", b'"just a string"', "line is a JSON str, not an object")
jsonl_row("jsonl_line_is_number", b"42", "line is a JSON int, not an object")
jsonl_row("jsonl_line_is_null", b"null", "line is a JSON null, not an object")
jsonl_row("jsonl_bom_mid_file", b'\xef\xbb\xbf{"text": "bom on line 3"}', "malformed JSON")
jsonl_row("jsonl_latin1_bytes", b'{"text": "caf\xe9 cr\xe8me"}', "invalid UTF-8 at byte 13")
jsonl_row("jsonl_invalid_continuation", b'{"text": "bad \xc3\x28 pair"}', "invalid UTF-8 at byte 14")
jsonl_row("jsonl_encoded_surrogate", b'{"text": "x\xed\xa0\x80y"}', "invalid UTF-8 at byte 11")
jsonl_row("jsonl_lone_surrogate_escape", b'{"text": "half \\ud800 pair"}', "malformed JSON")
jsonl_row("jsonl_raw_nul_byte", b'{"text": "a"}\x00', "malformed JSON")
jsonl_row("jsonl_nul_escape_in_text", {"text": "binary\u0000junk"}, "text contains NUL characters")
jsonl_row("jsonl_text_null", {"text": None}, "text is null")
jsonl_row("jsonl_text_empty", {"text": ""}, "text is empty or whitespace")
jsonl_row("jsonl_text_whitespace", {"text": " \t\n\u00a0\u3000\u2003 "}, "text is empty or whitespace")
jsonl_row("jsonl_text_int", {"text": 42}, "text is a number, not a string")
jsonl_row("jsonl_text_float", {"text": 3.5}, "text is a number, not a string")
jsonl_row("jsonl_text_bool", {"text": False}, "text is a boolean, not a string")
jsonl_row("jsonl_text_list_of_strings", {"text": ["a", "b"]}, "text is a list, not a string")
jsonl_row("jsonl_text_list_of_numbers", {"text": [1, 2, 3]}, "text is a list, not a string")
jsonl_row("jsonl_text_object", {"text": {"body": "nested"}}, "text is an object, not a string")
jsonl_row("jsonl_text_empty_list", {"text": []}, "text is a list, not a string")
jsonl_row("jsonl_missing_text_field", {"body": "the text is under another name"}, "missing text field 'text'")
jsonl_row("jsonl_chat_turns_without_roles", {"text": [{"value": "hi"}, {"value": "there"}]},
          "chat turns without role and text")


@case("jsonl_bom_at_start")
def _(d: Path) -> Case:
    src = write(d / "bom.jsonl", b"\xef\xbb\xbf" + b"\n".join(dumps(rec(i)) for i in range(1, 4)) + b"\n")
    return Case([src], good=[g(i) for i in range(1, 4)], good_ids=["bom:1", "bom:2", "bom:3"])


@case("jsonl_truncated_last_line_no_newline")
def _(d: Path) -> Case:
    src = lines(d / "cut.jsonl", [rec(1), rec(2), b'{"text": "the download stopped he'], last_newline=False)
    return Case([src], good=[g(1), g(2)], quarantined=[("cut.jsonl", 3, "malformed JSON")])


@case("jsonl_crlf_line_endings")
def _(d: Path) -> Case:
    src = lines(d / "crlf.jsonl", [rec(i) for i in range(1, 5)], end=b"\r\n")
    return Case([src], good=[g(i) for i in range(1, 5)])


@case("jsonl_blank_lines_keep_row_numbers")
def _(d: Path) -> Case:
    src = lines(d / "gaps.jsonl", [rec(1), b"", b"   ", rec(4), b"\t", rec(6)])
    return Case([src], good=[g(1), g(4), g(6)], good_ids=["gaps:1", "gaps:4", "gaps:6"])


@case("jsonl_every_line_bad")
def _(d: Path) -> Case:
    src = lines(d / "allbad.jsonl", [b"{", b"[1]", b"\xff\xfe"])
    return Case([src], quarantined=[("allbad.jsonl", 1, "malformed JSON"), ("allbad.jsonl", 2, "line is a JSON list"),
                                    ("allbad.jsonl", 3, "invalid UTF-8 at byte 0")])


@case("jsonl_many_bad_kinds_at_once")
def _(d: Path) -> Case:
    rows = [rec(1), {"text": None}, b"{oops", rec(4), {"text": 7}, b"\xe9", {"other": "x"}, rec(8)]
    src = lines(d / "mixed.jsonl", rows)
    return Case([src], good=[g(1), g(4), g(8)], quarantined=[
        ("mixed.jsonl", 2, "text is null"), ("mixed.jsonl", 3, "malformed JSON"),
        ("mixed.jsonl", 5, "text is a number"), ("mixed.jsonl", 6, "invalid UTF-8 at byte 0"),
        ("mixed.jsonl", 7, "missing text field 'text'")])


@case("jsonl_odd_unicode_text_loads")
def _(d: Path) -> Case:
    texts = ["emoji 🫖 and ZWJ 👩‍👩‍👧", "right-to-left \u202eevil\u202c text", "控制 \u0007 bell \u001b[31mred\u001b[0m",
             "combining e\u0301\u0301\u0301", "zero\u200bwidth", "line\u2028separator"]
    src = lines(d / "unicode.jsonl", [{"text": t} for t in texts])
    return Case([src], good=texts)


@case("jsonl_ten_mb_document_over_limit")
def _(d: Path) -> Case:
    big = "x" * MB10
    src = lines(d / "huge.jsonl", [rec(1), {"text": big}, rec(3)])
    return Case([src], good=[g(1), g(3)],
                quarantined=[("huge.jsonl", 2, f"document has {MB10:,} characters, over the limit of 5,000,000")])


@case("jsonl_ten_mb_document_under_a_raised_limit")
def _(d: Path) -> Case:
    big = ("word " * (MB10 // 5))[:MB10]
    src = lines(d / "huge_ok.jsonl", [rec(1), {"text": big}])
    return Case([src], {"max_chars": 20_000_000}, good=[g(1), big])


@case("jsonl_document_of_100k_lines")
def _(d: Path) -> Case:
    doc = "\n".join(f"line {i}" for i in range(100_000))
    src = lines(d / "tall.jsonl", [rec(1), {"text": doc}])
    return Case([src], good=[g(1), doc])


@case("jsonl_100k_rows_one_bad_in_the_middle")
def _(d: Path) -> Case:
    n = 100_000
    rows: list[Any] = [{"text": f"row {i}"} for i in range(1, n + 1)]
    rows[54_320] = b'{"text": "row 54321'  # line 54,321 is cut short
    src = lines(d / "many.jsonl", rows)
    return Case([src], good=[f"row {i}" for i in range(1, n + 1) if i != 54_321],
                quarantined=[("many.jsonl", 54_321, "malformed JSON")])


@case("jsonl_duplicate_ids")
def _(d: Path) -> Case:
    src = lines(d / "dup.jsonl", [rec(1, id="a"), rec(2, id="b"), {"text": "another text", "id": "a"}, rec(4, id="c")])
    return Case([src], {"id_field": "id"}, good=[g(1), g(2), g(4)],
                quarantined=[("dup.jsonl", 3, "duplicate id (first seen at dup.jsonl:1)")], good_ids=["a", "b", "c"])


@case("jsonl_integer_and_string_ids_collide")
def _(d: Path) -> Case:
    src = lines(d / "idtypes.jsonl", [rec(1, id=7), rec(2, id="7")])
    return Case([src], {"id_field": "id"}, good=[g(1)], quarantined=[("idtypes.jsonl", 2, "duplicate id")])


@case("jsonl_id_null_empty_or_list")
def _(d: Path) -> Case:
    src = lines(d / "badid.jsonl", [rec(1, id="ok"), rec(2, id=None), rec(3, id="  "), rec(4, id=[1]), rec(5)])
    reason = "missing or invalid id field 'id'"
    return Case([src], {"id_field": "id"}, good=[g(1)],
                quarantined=[("badid.jsonl", r, reason) for r in (2, 3, 4, 5)])


@case("jsonl_id_already_in_workspace")
def _(d: Path) -> Case:
    # base-1 holds BASE_TEXTS[0] (see BASE_ROWS): same text counts as unchanged, another text is refused
    src = lines(d / "again.jsonl", [{"id": "base-1", "text": BASE_ROWS[0]["text"]},
                                    {"id": "base-2", "text": "a different text under an old id"}, rec(3, id="new-3")])
    return Case([src], {"id_field": "id"}, good=[g(3)], unchanged=1,
                quarantined=[("again.jsonl", 2, "id already in the workspace with a different text")])


@case("field_text_does_not_exist")
def _(d: Path) -> Case:
    src = lines(d / "fields.jsonl", [{"body": "x", "title": "t"}])
    return Case([src], {"text_field": "text"}, refused=r"fields\.jsonl: no field 'text'; the fields are: body, title")


@case("field_id_does_not_exist")
def _(d: Path) -> Case:
    src = lines(d / "fields.jsonl", [rec(1)])
    return Case([src], {"id_field": "uid"}, refused=r"fields\.jsonl: no id field 'uid'; the fields are: text")


@case("field_label_does_not_exist")
def _(d: Path) -> Case:
    src = lines(d / "fields.jsonl", [rec(1)])
    return Case([src], {"label_field": "topic"}, refused=r"no label field 'topic'; the fields are: text")


@case("field_no_text_field_guessable")
def _(d: Path) -> Case:
    src = lines(d / "notext.jsonl", [{"b": "x", "title": "t"}])
    return Case([src], refused=r"notext\.jsonl: no text field found; choose one with --text-field from: b, title")


@case("empty_jsonl_file")
def _(d: Path) -> Case:
    return Case([write(d / "empty.jsonl", b"")])


@case("jsonl_only_blank_lines")
def _(d: Path) -> Case:
    return Case([write(d / "blank.jsonl", b"\n\n  \n\r\n")])


# -- files that are not what their name says -----------------------------------------------------------
@case("parquet_named_jsonl")
def _(d: Path) -> Case:
    d.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"text": ["x"]}), d / "fake.jsonl")
    return Case([d / "fake.jsonl"], refused=r"fake\.jsonl is named \.jsonl but looks like a Parquet file")


@case("zip_named_jsonl")
def _(d: Path) -> Case:
    d.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(d / "archive.jsonl", "w") as zf:
        zf.writestr("a.jsonl", dumps(rec(1)))
    return Case([d / "archive.jsonl"], refused=r"archive\.jsonl is named \.jsonl but looks like a zip archive")


@case("pdf_named_csv")
def _(d: Path) -> Case:
    return Case([write(d / "paper.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")],
                refused=r"paper\.csv is named \.csv but looks like a PDF")


@case("gzip_without_gz_suffix")
def _(d: Path) -> Case:
    return Case([write(d / "packed.jsonl", gzip.compress(dumps(rec(1))))],
                refused=r"packed\.jsonl is named \.jsonl but looks like gzip data")


@case("plain_text_named_gz")
def _(d: Path) -> Case:
    return Case([write(d / "plain.jsonl.gz", dumps(rec(1)))], refused=r"plain\.jsonl\.gz is named \.gz but is not gzip data")


@case("jsonl_named_parquet")
def _(d: Path) -> Case:
    return Case([lines(d / "rows.parquet", [rec(1)])], refused=r"rows\.parquet is not a readable Parquet file")


@case("unknown_extension")
def _(d: Path) -> Case:
    return Case([write(d / "sheet.xlsx", b"PK\x03\x04")], refused=r"unknown format for sheet\.xlsx")


@case("missing_file")
def _(d: Path) -> Case:
    return Case([d / "nowhere.jsonl"], refused=r"no such file or folder: .*nowhere\.jsonl")


@case("second_input_refused_writes_nothing")
def _(d: Path) -> Case:
    ok = lines(d / "fine.jsonl", [rec(1), rec(2)])
    d.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"text": ["x"]}), d / "fake2.jsonl")
    return Case([ok, d / "fake2.jsonl"], refused=r"fake2\.jsonl is named \.jsonl but looks like a Parquet file")


@case("second_input_without_text_field_writes_nothing")
def _(d: Path) -> Case:
    ok = lines(d / "fine.jsonl", [rec(1), rec(2)])
    other = lines(d / "other.jsonl", [{"body": "x"}])
    return Case([ok, other], {"text_field": "text"}, refused=r"other\.jsonl: no field 'text'; the fields are: body")


# -- gzip ------------------------------------------------------------------------------------------------
@case("gzip_ends_early")
def _(d: Path) -> Case:
    data = gzip.compress(b"".join(dumps(rec(i)) + b"\n" for i in range(1, 2001)))
    src = write(d / "cut.jsonl.gz", data[: len(data) // 2])
    return Case([src], prefix=[g(i) for i in range(1, 2001)],
                quarantined=[("cut.jsonl.gz", -1, "file ends early or is corrupt after line")])


@case("gzip_corrupt_in_the_middle")
def _(d: Path) -> Case:
    data = bytearray(gzip.compress(b"".join(dumps(rec(i)) + b"\n" for i in range(1, 2001))))
    mid = len(data) // 2
    data[mid:mid + 64] = b"\x00" * 64
    src = write(d / "rot.jsonl.gz", bytes(data))
    # deflate data decodes to garbage before zlib notices: nothing of the file can be trusted
    return Case([src], refused=r"rot\.jsonl\.gz is corrupt \(.*\): nothing was loaded from it")


@case("gzip_empty_member")
def _(d: Path) -> Case:
    return Case([write(d / "nothing.jsonl.gz", gzip.compress(b""))])


# -- JSON (arrays) ------------------------------------------------------------------------------------
@case("json_array_truncated")
def _(d: Path) -> Case:
    return Case([write(d / "broken.json", '[{"text": "a"}, {"text": ')], refused=r"broken\.json is not valid JSON")


@case("json_top_level_string")
def _(d: Path) -> Case:
    return Case([write(d / "str.json", '"a whole corpus in one string"')],
                refused=r"str\.json: top-level JSON is a str, expected an array of objects")


@case("json_array_items_not_objects")
def _(d: Path) -> Case:
    src = write(d / "items.json", json.dumps([rec(1), 5, "s", None, [1], rec(6)]))
    return Case([src], good=[g(1), g(6)], quarantined=[
        ("items.json", 2, "item is a JSON int, not an object"), ("items.json", 3, "item is a JSON str, not an object"),
        ("items.json", 4, "item is a JSON null, not an object"), ("items.json", 5, "item is a JSON list, not an object")])


@case("json_array_with_bom")
def _(d: Path) -> Case:
    return Case([write(d / "bom.json", b"\xef\xbb\xbf" + json.dumps([rec(1), rec(2)]).encode())], good=[g(1), g(2)])


@case("json_wrapped_in_an_object")
def _(d: Path) -> Case:
    return Case([write(d / "wrapped.json", json.dumps({"version": 2, "data": [rec(1), rec(2)]}))], good=[g(1), g(2)])


@case("json_lines_named_json_with_a_bad_line")
def _(d: Path) -> Case:
    src = lines(d / "lines.json", [rec(1), b'{"text": oops}', rec(3)])
    return Case([src], good=[g(1), g(3)], quarantined=[("lines.json", 2, "malformed JSON")])


# -- CSV / TSV -----------------------------------------------------------------------------------------
@case("csv_embedded_newlines_and_quotes")
def _(d: Path) -> Case:
    texts = ['He said "hi",\nthen left.', "a,b,c", 'line one\r\nline two', '""already quoted""']
    body = "id,text\n" + "".join(f'{i},"{t.replace(chr(34), chr(34) * 2)}"\n' for i, t in enumerate(texts, 1))
    return Case([write(d / "quotes.csv", body)], good=texts)


@case("csv_ragged_rows")
def _(d: Path) -> Case:
    body = f"text,label\n{g(1)},a\n{g(2)},a,extra\n{g(3)}\n{g(4)},b\n"
    return Case([write(d / "ragged.csv", body)], good=[g(1), g(4)], quarantined=[
        ("ragged.csv", 3, "row has 3 fields, the header has 2"), ("ragged.csv", 4, "row has 1 fields, the header has 2")])


@case("csv_latin1_row")
def _(d: Path) -> Case:
    body = f"text\n{g(1)}\n".encode() + b"caf\xe9\n" + f"{g(3)}\n".encode()
    return Case([write(d / "latin.csv", body)], good=[g(1), g(3)], quarantined=[("latin.csv", 3, "invalid UTF-8")])


@case("csv_bom_header")
def _(d: Path) -> Case:
    return Case([write(d / "bom.csv", b"\xef\xbb\xbftext,n\n" + f"{g(1)},1\n".encode())], good=[g(1)])


@case("csv_empty_and_blank_text_cells")
def _(d: Path) -> Case:
    body = f'text,n\n{g(1)},1\n,2\n"   ",3\n{g(4)},4\n'
    return Case([write(d / "blanks.csv", body)], good=[g(1), g(4)], quarantined=[
        ("blanks.csv", 3, "text is empty or whitespace"), ("blanks.csv", 4, "text is empty or whitespace")])


@case("csv_nul_byte_in_a_cell")
def _(d: Path) -> Case:
    body = f"text\n{g(1)}\nbin\x00ary\n{g(3)}\n"
    return Case([write(d / "nul.csv", body)], good=[g(1), g(3)],
                quarantined=[("nul.csv", 3, "text contains NUL characters")])


@case("csv_unterminated_quote_at_the_end_reads_to_the_end")
def _(d: Path) -> Case:
    # Python's csv (not strict) reads an unclosed quote to the end of the file: that becomes the row's text
    body = f'text\n{g(1)}\n{g(2)}\n"this quote never closes\n'
    return Case([write(d / "openquote.csv", body)], good=[g(1), g(2), "this quote never closes\n"])


@case("csv_header_only")
def _(d: Path) -> Case:
    return Case([write(d / "header.csv", "text,label\n")])


@case("csv_empty_file")
def _(d: Path) -> Case:
    return Case([write(d / "nothing.csv", b"")])


@case("tsv_quotes_and_tabs")
def _(d: Path) -> Case:
    body = 'text\tlabel\n"tab\tinside"\ta\nplain "quote" mid\tb\n'
    return Case([write(d / "tabs.tsv", body)], good=["tab\tinside", 'plain "quote" mid'])


# -- Parquet ------------------------------------------------------------------------------------------
def _pq(d: Path, name: str, table: pa.Table) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, d / name)
    return d / name


@case("parquet_nested_and_odd_types_in_meta")
def _(d: Path) -> Case:
    import datetime
    import decimal

    t = pa.table({
        "text": [g(1), g(2)],
        "tags": pa.array([["a", "b"], []], pa.list_(pa.string())),
        "info": pa.array([{"k": 1, "v": "x"}, {"k": None, "v": None}]),
        "when": pa.array([datetime.datetime(2024, 1, 1, 12), None], pa.timestamp("us", tz="UTC")),
        "price": pa.array([decimal.Decimal("1.50"), decimal.Decimal("-3.25")], pa.decimal128(6, 2)),
        "blob": pa.array([b"\x00\xff", None], pa.binary()),
        "m": pa.array([[("a", 1)], None], pa.map_(pa.string(), pa.int64())),
    })
    return Case([_pq(d, "nested.parquet", t)], good=[g(1), g(2)])


@case("parquet_text_column_is_int")
def _(d: Path) -> Case:
    return Case([_pq(d, "ints.parquet", pa.table({"text": [1, 2]}))],
                quarantined=[("ints.parquet", 1, "text is a number"), ("ints.parquet", 2, "text is a number")])


@case("parquet_text_column_is_binary")
def _(d: Path) -> Case:
    return Case([_pq(d, "bin.parquet", pa.table({"text": pa.array([b"bytes", None], pa.binary())}))],
                quarantined=[("bin.parquet", 1, "text is a bytes, not a string"), ("bin.parquet", 2, "text is null")])


@case("parquet_text_nulls_and_dictionary_encoding")
def _(d: Path) -> Case:
    arr = pa.array([g(1), None, g(3), g(1)]).dictionary_encode()
    return Case([_pq(d, "dict.parquet", pa.table({"text": arr}))], good=[g(1), g(3), g(1)],
                quarantined=[("dict.parquet", 2, "text is null")])


@case("parquet_large_string_and_chat_turns")
def _(d: Path) -> Case:
    turns = pa.array([[{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]])
    a = _pq(d, "large.parquet", pa.table({"text": pa.array([g(1)], pa.large_string())}))
    b = _pq(d, "chat.parquet", pa.table({"conversations": turns}))
    return Case([a, b], good=[g(1), "User: hi\n\nAssistant: hello"])


@case("parquet_zero_rows")
def _(d: Path) -> Case:
    return Case([_pq(d, "none.parquet", pa.table({"text": pa.array([], pa.string())}))])


@case("parquet_truncated_file")
def _(d: Path) -> Case:
    path = _pq(d, "cut.parquet", pa.table({"text": [g(i) for i in range(100)]}))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return Case([path], refused=r"cut\.parquet is not a readable Parquet file")


# -- folders of text files -------------------------------------------------------------------------
@case("folder_with_a_huge_number_of_tiny_files")
def _(d: Path) -> Case:
    root = d / "tiny"
    texts = []
    for i in range(3000):
        sub = root / f"d{i % 30:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:05d}.txt").write_text(f"t{i}", encoding="utf-8")
        texts.append(f"t{i}")
    return Case([root], good=texts)


@case("folder_with_bad_bytes_empty_and_other_files")
def _(d: Path) -> Case:
    root = d / "mixed_folder"
    write(root / "a.txt", g(1))
    write(root / "b.txt", b"caf\xe9")
    write(root / "c.md", b"   \n")
    write(root / "d.bin", b"\x00\x01")  # not a text file: ignored
    write(root / "e.txt", b"\xef\xbb\xbf" + g(5).encode())
    return Case([root], good=[g(1), g(5)], quarantined=[
        ("b.txt", 2, "invalid UTF-8 at byte 3"), ("c.md", 3, "text is empty or whitespace")])


@case("folder_without_text_files")
def _(d: Path) -> Case:
    write(d / "binaries" / "x.bin", b"\x00")
    return Case([d / "binaries"], refused=r"has no \.txt or \.md files")


# -- the workspace every case is ingested into -------------------------------------------------------------
BASE_ROWS = [{"id": f"base-{i}", "text": f"Base document {i}, already in the workspace."} for i in range(1, 4)]


def make_base_input(d: Path) -> Path:
    """Three good rows with ids base-1..3 and one bad line (so the workspace also holds a quarantine file)."""
    return lines(d / "base.jsonl", [*BASE_ROWS, b"{not json"])


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "badinput-cases")
    for name, make in CASES.items():
        c = make(out / name)
        what = f"refused: {c.refused}" if c.refused else f"{len(c.good or [])} good, {len(c.quarantined)} quarantined"
        print(f"{name:55s} {what}")
    print(f"{len(CASES)} cases in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
