"""Ingest: read files into `docs/part-*.parquet`; rows that cannot be used go to `quarantine/` with a reason.

Good rows are never lost because of bad ones. Ids come from the id field when one is given (a
repeated id is quarantined, not merged), else from the source name and the row number, so ingesting
the same file twice adds nothing the second time.
"""

from __future__ import annotations

import hashlib
import itertools
import mmap
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.errors import WinnowError
from core.jsonl_check import KIND_ANY, KIND_ID, KIND_STRING, check_jsonl
from core.progress import Progress, no_progress
from core.readers import Row, detect_format, read_any
from core.store import ident, sql_str
from core.textscan import scan_texts, word_counts
from core.workspace import Workspace, atomic_path, read_json, write_json, write_parquet

DEFAULT_MAX_CHARS = 5_000_000  # a document over 5 million characters goes to quarantine
CHUNK_ROWS = 100_000
PARALLEL_PARTS = 2  # parts written at once by the column-wise path (see `_Ingest.write_parts`)
DOC_ROW_GROUP = 50_000
# Docs parts are written by pyarrow without compression. Over 1M documents (611 MB of JSONL) pyarrow
# wrote them in 0.3 s of CPU (snappy: 2.1 s; DuckDB's COPY: 2.7 s uncompressed, 3.8 s snappy), and a
# keyword search, which scans every text, took 0.5 s instead of 0.6 s (snappy) and 0.8 s (zstd). The
# price is disk: 585 MB instead of 327 MB (snappy) for those documents, about the size of the JSONL.
DOC_COMPRESSION = "none"
TEXT_FIELD_GUESSES = ("text", "content", "conversations", "messages", "document", "body", "code", "prompt")
ROLE_NAMES = {"human": "User", "user": "User", "gpt": "Assistant", "assistant": "Assistant",
              "chatgpt": "Assistant", "bing": "Assistant", "bard": "Assistant", "model": "Assistant",
              "system": "System", "tool": "Tool", "function": "Tool"}

DOC_SCHEMA = pa.schema([
    ("id", pa.string()), ("text", pa.string()), ("source", pa.string()), ("label", pa.string()),
    ("meta", pa.string()), ("n_chars", pa.int64()), ("n_words", pa.int64()), ("sha1", pa.string()),
])
QUARANTINE_SCHEMA = pa.schema([
    ("file", pa.string()), ("row", pa.int64()), ("id", pa.string()), ("reason", pa.string()), ("excerpt", pa.string()),
])


@dataclass
class IngestReport:
    loaded: int = 0
    quarantined: int = 0
    unchanged: int = 0  # rows already in the workspace with the same id and text
    reasons: Counter = field(default_factory=Counter)
    files: list[dict[str, Any]] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    def summary(self) -> str:
        line = f"loaded {self.loaded:,}, quarantined {self.quarantined:,}"
        if self.unchanged:
            line += f", already present {self.unchanged:,}"
        return line


def chat_to_text(turns: list[Any]) -> str | None:
    """ShareGPT/OpenAI chat turns -> one text with role markers ("User: ...", "Assistant: ...")."""
    parts = []
    for turn in turns:
        if not isinstance(turn, dict):
            return None
        role = turn.get("from", turn.get("role"))
        value = turn.get("value", turn.get("content"))
        if not isinstance(value, str) or role is None:
            return None
        parts.append(f"{ROLE_NAMES.get(str(role).lower(), str(role).capitalize())}: {value.strip()}")
    return "\n\n".join(parts) if parts else None


def _text_of(value: Any) -> tuple[str | None, str | None]:
    """(text, None) or (None, reason) for the value of the text field."""
    if value is None:
        return None, "text is null"
    if isinstance(value, str):
        text = value
    elif isinstance(value, list) and value and all(isinstance(t, dict) for t in value):
        text = chat_to_text(value)
        if text is None:
            return None, "chat turns without role and text (expected from/role and value/content)"
    elif isinstance(value, bool):
        return None, "text is a boolean, not a string"
    elif isinstance(value, int | float):
        return None, "text is a number, not a string"
    elif isinstance(value, list):
        return None, "text is a list, not a string"
    elif isinstance(value, dict):
        return None, "text is an object, not a string"
    else:
        return None, f"text is a {type(value).__name__}, not a string"
    if not text.strip():
        return None, "text is empty or whitespace"
    if "\x00" in text:
        return None, "text contains NUL characters (binary data?)"
    return text, None


def guess_text_field(records: Iterable[dict[str, Any]]) -> str | None:
    keys: Counter = Counter()
    for rec in records:
        keys.update(rec.keys())
    for guess in TEXT_FIELD_GUESSES:
        if guess in keys:
            return guess
    return None


class _Ingest:
    """One ingest call: validates rows, buffers good ones, flushes parts and a quarantine file."""

    def __init__(self, ws: Workspace, *, text_field, id_field, label_field, max_chars) -> None:
        self.ws = ws
        self.text_field = text_field
        self.id_field = id_field
        self.label_field = label_field
        self.max_chars = max_chars
        self.report = IngestReport()
        self.existing_ids = _existing_ids(ws)  # id, sha1 of the documents already in the workspace (Arrow)
        self._existing: dict[str, str] | None = None
        self._seen: dict[str, tuple[str, int]] = {}  # id -> (file, row) where it was first seen in this call
        # ids loaded by `add_table`, kept as Arrow arrays, (file, first row, ids): a Python dict of a
        # million ids costs seconds, and it is only needed when a row-by-row file follows or a repeat is found
        self.seen_tables: list[tuple[str, int, pa.Array]] = []
        self.buffer: list[tuple[str, str, str, str | None, str]] = []
        self.bad: list[dict[str, Any]] = []

    @property
    def existing(self) -> dict[str, str]:
        if self._existing is None:
            self._existing = dict(zip(self.existing_ids.column("id").to_pylist(),
                                      self.existing_ids.column("sha1").to_pylist(), strict=True))
        return self._existing

    @property
    def seen(self) -> dict[str, tuple[str, int]]:
        for file, first_row, ids in self.seen_tables:
            n = len(ids)
            self._seen.update(zip(ids.to_pylist(), zip(itertools.repeat(file, n), range(first_row, first_row + n),
                                                       strict=True), strict=True))
        self.seen_tables = []
        return self._seen

    def _seen_arrow(self) -> pa.Array:
        """Every id seen so far in this call, as one Arrow array (for `is_in`)."""
        arrays = [ids for _, _, ids in self.seen_tables]
        if self._seen:
            arrays.append(pa.array(list(self._seen), pa.string()))
        return pa.concat_arrays(arrays) if arrays else pa.array([], pa.string())

    def quarantine(self, file: str, row: int, reason: str, excerpt: str | None, doc_id: str | None = None) -> None:
        self.bad.append({"file": file, "row": row, "id": doc_id, "reason": reason, "excerpt": excerpt or ""})
        self.report.quarantined += 1
        self.report.reasons[_reason_kind(reason)] += 1

    def add(self, file: str, source: str, row: Row) -> None:
        where = f"{row.name or file}"
        if row.record is None:
            self.quarantine(where, row.row_no, row.reason or "unreadable row", row.excerpt)
            return
        rec = row.record
        if self.text_field not in rec:
            self.quarantine(where, row.row_no, f"missing text field {self.text_field!r}", _dump(rec))
            return
        text, reason = _text_of(rec[self.text_field])
        if reason:
            self.quarantine(where, row.row_no, reason, _dump(rec))
            return
        if len(text) > self.max_chars:
            self.quarantine(where, row.row_no,
                            f"document has {len(text):,} characters, over the limit of {self.max_chars:,}",
                            text[:200])
            return
        if self.id_field:
            raw_id = rec.get(self.id_field)
            if raw_id is None or (isinstance(raw_id, str) and not raw_id.strip()) or isinstance(raw_id, list | dict):
                self.quarantine(where, row.row_no, f"missing or invalid id field {self.id_field!r}", _dump(rec))
                return
            doc_id = str(raw_id)
        else:
            doc_id = f"{source}:{row.name}" if row.name else f"{source}:{row.row_no}"
        sha1 = hashlib.sha1(text.encode("utf-8")).hexdigest()
        seen = self.seen
        if doc_id in seen:
            first_file, first_row = seen[doc_id]
            self.quarantine(where, row.row_no, f"duplicate id (first seen at {first_file}:{first_row})", text[:200],
                            doc_id)
            return
        seen[doc_id] = (where, row.row_no)
        if doc_id in self.existing:
            if self.existing[doc_id] == sha1:
                self.report.unchanged += 1
            else:
                self.quarantine(where, row.row_no, "id already in the workspace with a different text", text[:200], doc_id)
            return
        label = rec.get(self.label_field) if self.label_field else None
        label = None if label is None or label == "" else str(label)
        skip = {self.text_field, self.id_field, self.label_field}
        meta = {k: v for k, v in rec.items() if k not in skip and v is not None}
        self.buffer.append((doc_id, text, source, label, _dump(meta, limit=None) if meta else None))
        if len(self.buffer) >= CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        ids, texts, sources, labels, metas = zip(*self.buffer, strict=True)
        self.buffer = []
        raw = pa.table({"id": pa.array(ids, pa.string()), "text": pa.array(texts, pa.string()),
                        "source": pa.array(sources, pa.string()), "label": pa.array(labels, pa.string()),
                        "meta": pa.array(metas, pa.string())})
        self.write_part(raw)

    def write_part(self, raw: pa.Table) -> None:
        """Write one docs part from a table of id, text, source, label and meta (strings)."""
        if raw.num_rows == 0:
            return
        part = _next_part_path(self.ws)
        self._copy_part(raw, part)
        self.report.loaded += raw.num_rows
        self.report.parts.append(part.name)

    def write_parts(self, raw: pa.Table, progress=None) -> None:
        """`write_part` for every CHUNK_ROWS rows of `raw`, PARALLEL_PARTS at a time (the Parquet writer
        releases the GIL)."""
        slices = [raw.slice(start, CHUNK_ROWS) for start in range(0, raw.num_rows, CHUNK_ROWS)]
        if not slices:
            return
        first = _next_part_path(self.ws)
        number = int(first.stem.split("-")[1])
        parts = [first.with_name(f"part-{number + i:05d}.parquet") for i in range(len(slices))]
        done = 0
        with ThreadPoolExecutor(max_workers=PARALLEL_PARTS) as pool:
            for part, piece in zip(parts, pool.map(self._copy_part, slices, parts), strict=True):
                self.report.loaded += piece
                self.report.parts.append(part.name)
                done += piece
                if progress:
                    progress(done, raw.num_rows)

    def _copy_part(self, raw: pa.Table, part: Path) -> int:
        """Write `raw` (plus n_chars, n_words and sha1) to the Parquet file `part` atomically; its rows."""
        with atomic_path(part) as tmp:
            pq.write_table(_doc_table(raw), tmp, compression=DOC_COMPRESSION, row_group_size=DOC_ROW_GROUP,
                           use_dictionary=["source", "label"], write_statistics=["id", "source", "label",
                                                                                  "n_chars", "n_words", "sha1"])
        return raw.num_rows

    def add_table(self, file: str, source: str, table: pa.Table, progress=None, first_row: int = 1) -> None:
        """The column-wise path for (a part of) a file whose every row has a usable text (see `_fast_jsonl`):
        the same checks on ids as `add`, done on whole columns; rows become parts without a Python loop.
        `table` holds text, meta (JSON or null) and n_words, and id, label, n_chars, sha1 when known;
        `first_row` is the line number of its first row."""
        n = table.num_rows
        texts = table.column("text")
        if self.id_field:
            ids = table.column("id").cast(pa.string()).combine_chunks()
        else:
            rows = pa.array(np.arange(first_row, first_row + n, dtype=np.int64)).cast(pa.string())
            ids = pc.binary_join_element_wise(pa.scalar(f"{source}:"), rows, "")
        keep = np.ones(n, dtype=bool)
        seen = self._seen_arrow()
        clean = (ids.null_count == 0 and not pc.any(pc.equal(pc.utf8_trim_whitespace(ids), "")).as_py()
                 and pc.count_distinct(ids).as_py() == n
                 and (len(seen) == 0 or not pc.any(pc.is_in(ids, value_set=seen)).as_py())
                 and (self.existing_ids.num_rows == 0
                      or not pc.any(pc.is_in(ids, value_set=self.existing_ids.column("id"))).as_py()))
        if not clean:  # a missing, repeated or known id: row by row, with the same reasons as `add`
            seen_dict = self.seen
            for i, doc_id in enumerate(ids.to_pylist()):
                row = first_row + i
                if doc_id is None or not doc_id.strip():
                    keep[i] = False
                    self.quarantine(file, row, f"missing or invalid id field {self.id_field!r}",
                                    _dump(self._record(table, i)))
                elif doc_id in seen_dict:
                    keep[i] = False
                    where, first = seen_dict[doc_id]
                    self.quarantine(file, row, f"duplicate id (first seen at {where}:{first})",
                                    texts[i].as_py()[:200], doc_id)
                else:
                    seen_dict[doc_id] = (file, row)
                    if doc_id in self.existing:
                        keep[i] = False
                        text = texts[i].as_py()
                        if self.existing[doc_id] == hashlib.sha1(text.encode("utf-8")).hexdigest():
                            self.report.unchanged += 1
                        else:
                            self.quarantine(file, row, "id already in the workspace with a different text",
                                            text[:200], doc_id)
        else:
            self.seen_tables.append((file, first_row, ids))
        names = table.column_names
        raw = pa.table({"id": ids, "text": texts, "source": pa.repeat(pa.scalar(source, pa.string()), n),
                        "label": table.column("label") if "label" in names else pa.nulls(n, pa.string()),
                        "meta": table.column("meta"), "n_words": table.column("n_words"),
                        **{k: table.column(k) for k in ("n_chars", "sha1") if k in names}})
        if not keep.all():
            raw = raw.filter(pa.array(keep))
        self.write_parts(raw, progress)

    def _record(self, table: pa.Table, i: int) -> dict[str, Any]:
        """Row i of a column-wise table as the record it was read from (for a quarantine excerpt)."""
        row = table.slice(i, 1).to_pylist()[0]
        rec = {self.text_field: row["text"]}
        if self.id_field:
            rec[self.id_field] = row.get("id")
        if self.label_field and row.get("label") is not None:
            rec[self.label_field] = row["label"]
        return {**rec, **(orjson.loads(row["meta"]) if row.get("meta") else {})}

    def finish_file(self, source: str, sha256: str) -> None:
        """Write this file's quarantine, replacing the one from an earlier ingest of the same bytes."""
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", source)[:60].lstrip(".") or "input"
        path = self.ws.dir("quarantine") / f"{stem}-{sha256[:16]}.parquet"
        if self.bad:
            write_parquet(pa.Table.from_pylist(self.bad, schema=QUARANTINE_SCHEMA), path)
        else:
            path.unlink(missing_ok=True)
        self.bad = []


FAST_HOLD_BYTES = 1 << 30  # a file up to this size (JSONL; Parquet uncompressed) is read once and held in
FAST_BATCH_ROWS = 200_000  # memory; a larger one is read twice (check, then load) in batches of this many rows
FAST_MAX_LINE_BYTES = 1 << 28  # DuckDB's maximum_object_size (a longer line goes row by row)


def _doc_table(raw: pa.Table) -> pa.Table:
    """id, text, source, label, meta (and n_words, n_chars, sha1 when known) -> a table in DOC_SCHEMA:
    n_chars by Arrow, sha1 by DuckDB (in parallel; Python's hashlib holds the GIL for short texts)."""
    names = raw.column_names
    text = raw.column("text")
    words = raw.column("n_words") if "n_words" in names else pa.array(word_counts(text), pa.int64())
    if "sha1" in names:
        sha1 = raw.column("sha1")
    else:
        con = duckdb.connect()
        try:
            con.register("raw", raw.select(["text"]))
            sha1 = con.sql("SELECT sha1(text) AS sha1 FROM raw").to_arrow_table().column("sha1")
        finally:
            con.close()
    chars = raw.column("n_chars") if "n_chars" in names else pc.utf8_length(text)
    columns = [raw.column(name) for name in ("id", "text", "source", "label", "meta")] + [chars, words, sha1]
    return pa.Table.from_arrays([c.cast(f.type) for c, f in zip(columns, DOC_SCHEMA, strict=True)], schema=DOC_SCHEMA)


def _checked(table: pa.Table, max_chars: int) -> pa.Table | None:
    """A batch read column-wise with its word counts, or None if a text is null, holds NUL, is too long
    or is only whitespace (the row-by-row reader gives those rows their reasons)."""
    text = table.column("text")
    if text.null_count:
        return None
    words, longest, nul = scan_texts(text)
    if nul:
        return None
    # bytes >= characters: only a text of more bytes than the limit needs its characters counted
    if longest > max_chars and pc.max(table.column("n_chars")).as_py() > max_chars:
        return None
    # no words: empty or only whitespace (what the row-by-row path calls "text is empty or whitespace");
    # one "word" may still be only Unicode spaces (U+00A0, U+3000...): Python decides those
    few = np.flatnonzero(words <= 1)
    if len(few) and not all(t.strip() for t in text.take(pa.array(few)).to_pylist()):
        return None
    return table.append_column("n_words", pa.array(words, pa.int64()))


def _select_docs(source_sql: str, fields: list[str], text_field: str, id_field: str | None,
                 label_field: str | None) -> str:
    """DuckDB's read of a checked file: text, id, label, meta (the other fields as JSON, null ones left
    out, as on the row-by-row path), n_chars and sha1, computed in parallel while it reads."""
    select = [f"{ident(text_field)} AS text"]
    if id_field:
        select.append(f"{ident(id_field)}::VARCHAR AS id")
    if label_field:
        select.append(f"NULLIF({ident(label_field)}::VARCHAR, '') AS label")
    others = [k for k in fields if k not in (text_field, id_field, label_field)]
    if others:
        entries = ", ".join(f"{{'k': {sql_str(k)}, 'v': to_json({ident(k)})}}" for k in others)
        select.append(f"NULLIF(to_json(map_from_entries(list_filter([{entries}], lambda e: e.v IS NOT NULL)))"
                      "::VARCHAR, '{}') AS meta")
    else:
        select.append("NULL::VARCHAR AS meta")
    select += [f"length({ident(text_field)})::BIGINT AS n_chars", f"sha1({ident(text_field)}) AS sha1"]
    return f"SELECT {', '.join(select)} FROM {source_sql}"


def _column_wise(query: str, max_chars: int, hold: bool, rows_expected: int | None, name: str
                 ) -> Iterator[tuple[int, pa.Table, int]] | None:
    """Run `query` (see `_select_docs`) and check every row (`_checked`) before anything is written:
    None if a row needs the row-by-row reader, else an iterator of (first row number, table, rows in
    all). With `hold` the checked batches are kept in memory; without, the file is read a second time."""
    con = duckdb.connect()

    def batches() -> Iterator[pa.Table]:
        for batch in con.sql(query).fetch_record_batch(FAST_BATCH_ROWS):
            yield pa.Table.from_batches([batch])

    held: list[pa.Table] = []
    rows = 0
    try:
        for table in batches():
            table = _checked(table, max_chars)
            if table is None:
                con.close()
                return None
            rows += table.num_rows
            if hold:
                held.append(table)
    except duckdb.Error:
        con.close()
        return None
    if rows_expected is not None and rows != rows_expected:  # pragma: no cover - the bytes check counts them
        con.close()
        return None

    def tables() -> Iterator[tuple[int, pa.Table, int]]:
        first = 1
        try:
            for table in held or (_checked(t, max_chars) for t in batches()):
                if table is None:  # pragma: no cover - the file changed meanwhile
                    raise WinnowError(f"{name} changed while it was being ingested; ingest it again")
                yield first, table, rows
                first += table.num_rows
        finally:
            held.clear()
            con.close()
        if first - 1 != rows:  # pragma: no cover - the file changed meanwhile
            raise WinnowError(f"{name} changed while it was being ingested; ingest it again")

    return tables()


def _fast_jsonl(path: Path, peek: list[Row], text_field: str, id_field: str | None, label_field: str | None,
                max_chars: int) -> tuple[Iterator[tuple[int, pa.Table, int]], str] | None:
    """Read a clean JSONL file column-wise with DuckDB (several times faster than row by row).

    Returns None, and the caller reads the file row by row with exact per-row reasons, whenever
    anything is unusual: what `core.jsonl_check` looks for in the bytes (a blank line, a line that is not
    an object, a text that is not a string, an id or label that is neither string nor integer, no text
    field), anything DuckDB cannot parse (invalid JSON or UTF-8, a repeated key), and a text that is
    null, empty, too long or holds NUL. Ids (duplicates, re-ingest) are checked by `add_table`.
    Otherwise returns an iterator of (first row number, table, rows in the file) and the file's
    sha256 (computed from the same memory map while the bytes are checked). Every row is checked before
    anything is written: a file up to FAST_HOLD_BYTES is parsed once and held, a larger one parsed twice.
    """
    if path.name.lower().endswith(".gz"):
        return None
    if not peek or any(r.record is None or not isinstance(r.record.get(text_field), str) for r in peek):
        return None
    keys = {k: KIND_ANY for r in peek for k in r.record}
    keys[text_field] = KIND_STRING
    for name in (id_field, label_field):
        if name and name != text_field:
            keys[name] = KIND_ID
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            return None
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            hasher = threading.Thread(target=digest.update, args=(mm,))  # both release the GIL
            hasher.start()
            try:
                check = check_jsonl(np.frombuffer(mm, dtype=np.uint8), keys, text_field)
            finally:
                hasher.join()
    if check.problem:
        return None
    columns = ", ".join(f"{sql_str(k)}: '{'JSON' if kind == KIND_ANY else 'VARCHAR'}'" for k, kind in keys.items())
    source_sql = (f"read_json({sql_str(path)}, format='newline_delimited', auto_detect=false, "
                  f"columns={{{columns}}}, maximum_object_size={FAST_MAX_LINE_BYTES})")
    query = _select_docs(source_sql, list(keys), text_field, id_field, label_field)
    tables = _column_wise(query, max_chars, size <= FAST_HOLD_BYTES, check.lines, path.name)
    return None if tables is None else (tables, digest.hexdigest())


def _fast_parquet(path: Path, text_field: str, id_field: str | None, label_field: str | None,
                  max_chars: int) -> Iterator[tuple[int, pa.Table, int]] | None:
    """Read a Parquet file column-wise with DuckDB, or None (row by row) when its text column is not a
    string column, an id or label column is neither string nor integer, a column holds a type whose JSON
    the row path writes differently (dates, times, decimals, bytes), or a row fails `_checked`."""
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
        schema = meta.schema.to_arrow_schema()
        rows = meta.num_rows
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))  # uncompressed
    except Exception:  # the row path says what is wrong with the file
        return None
    types = {f.name: f.type for f in schema}
    if text_field not in types or not (pa.types.is_string(types[text_field]) or pa.types.is_large_string(types[text_field])):
        return None
    for name in (id_field, label_field):
        if name and name in types and not (pa.types.is_string(types[name]) or pa.types.is_large_string(types[name])
                                           or pa.types.is_integer(types[name])):
            return None

    def plain(t: pa.DataType) -> bool:
        if pa.types.is_struct(t):
            return all(plain(f.type) for f in t)
        if pa.types.is_list(t) or pa.types.is_large_list(t):
            return plain(t.value_type)
        return (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t)
                or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_null(t))

    if not all(plain(t) for t in types.values()):
        return None
    query = _select_docs(f"read_parquet({sql_str(path)})", list(types), text_field,
                         id_field if id_field in types else None, label_field if label_field in types else None)
    return _column_wise(query, max_chars, size <= FAST_HOLD_BYTES, rows, path.name)


def check_inputs(paths: list[Path | str]) -> list[Path]:
    """The inputs as paths; WinnowError for none, a missing one or an unknown format (nothing is written)."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise WinnowError("nothing to ingest: give at least one file or folder")
    for p in paths:
        if not p.exists():
            raise WinnowError(f"no such file or folder: {p}")
        detect_format(p)
    return paths


def ingest_paths(
    ws: Workspace,
    paths: list[Path | str],
    *,
    text_field: str | None = None,
    id_field: str | None = None,
    label_field: str | None = None,
    source: str | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    progress: Progress = no_progress,
) -> IngestReport:
    """Ingest files or folders into `ws`. Raises WinnowError only when an input cannot be used at all."""
    paths = check_inputs(paths)
    total_bytes = sum(_size(p) for p in paths) or 1
    text_field_arg = text_field
    job = None
    done_bytes = 0
    # Every input is opened and its fields checked before anything is written: an input refused
    # (not what its name says, corrupt, no such field) leaves the workspace as it was.
    opened = []
    for path in paths:
        first, rows = _peek(read_any(path), 200)
        records = [r.record for r in first if r.record is not None]
        field_name = text_field_arg or guess_text_field(records)
        if records and field_name is None:
            raise WinnowError(f"{path.name}: no text field found; choose one with --text-field from: {_fields(records)}")
        if records and field_name not in {k for r in records for k in r}:
            raise WinnowError(f"{path.name}: no field {field_name!r}; the fields are: {_fields(records)}")
        for name, value in (("id", id_field), ("label", label_field)):
            if records and value and value not in {k for r in records for k in r}:
                raise WinnowError(f"{path.name}: no {name} field {value!r}; the fields are: {_fields(records)}")
        opened.append((path, first, rows, field_name))
    for path, first, rows, field_name in opened:
        src = source or _default_source(path)
        if job is None:
            job = _Ingest(ws, text_field=field_name, id_field=id_field, label_field=label_field, max_chars=max_chars)
        job.text_field = field_name or "text"
        before = (job.report.loaded + len(job.buffer), job.report.quarantined, job.report.unchanged)
        size = _size(path)
        fast, digest = None, None
        if field_name and detect_format(path) == "jsonl":
            fast = _fast_jsonl(path, first, field_name, id_field, label_field, max_chars)
            fast, digest = fast if fast is not None else (None, None)
        elif field_name and detect_format(path) == "parquet":
            fast = _fast_parquet(path, field_name, id_field, label_field, max_chars)
        if fast is not None:
            for first_row, table, rows in fast:
                start, span = size * (first_row - 1) // rows, size * table.num_rows // rows

                def _prog(done: int, total: int, base: int = done_bytes + start, span: int = span) -> None:
                    progress(base + int(span * done / max(total, 1)), total_bytes)

                job.add_table(path.name, src, table, progress=_prog, first_row=first_row)
                del table
        else:
            for i, row in enumerate(rows):
                job.add(path.name, src, row)
                if i % 5000 == 0 and row.offset is not None:
                    progress(min(done_bytes + row.offset, done_bytes + size), total_bytes)
        done_bytes += size
        progress(done_bytes, total_bytes)
        digest = digest or _sha256(path)
        job.finish_file(src, digest)
        job.report.files.append({
            "path": str(path.resolve()), "format": detect_format(path), "sha256": digest,
            "bytes": size, "source": src, "text_field": field_name,
            "rows_loaded": job.report.loaded + len(job.buffer) - before[0],
            "rows_quarantined": job.report.quarantined - before[1],
            "rows_unchanged": job.report.unchanged - before[2],
        })
    job.flush()
    _log_ingest(ws, job.report, {"text_field": text_field, "id_field": id_field, "label_field": label_field,
                                 "source": source, "max_chars": max_chars})
    return job.report


def _peek(rows, n: int) -> tuple[list[Row], Iterable[Row]]:
    first = list(itertools.islice(rows, n))
    return first, itertools.chain(first, rows)


def _fields(records: list[dict[str, Any]]) -> str:
    names: dict[str, None] = {}
    for r in records:
        names.update(dict.fromkeys(r))
    return ", ".join(sorted(names)) or "(none)"


def _dump(obj: Any, limit: int | None = 200) -> str:
    text = orjson.dumps(obj, default=str, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")
    return text if limit is None else text[:limit]


def _reason_kind(reason: str) -> str:
    """Group reasons that differ only in details (a byte offset, a line number) for summaries."""
    for cut in (" at byte", " (first seen", ": ", " after line", " after row"):
        if cut in reason:
            return reason.split(cut)[0]
    if reason.startswith("document has"):
        return "document over the size limit"
    if reason.startswith("row has"):
        return "row has the wrong number of fields"
    return reason


def _default_source(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet", ".pq", ".txt", ".md"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name or "docs"


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _next_part_path(ws: Workspace) -> Path:
    numbers = [int(p.stem.split("-")[1]) for p in ws.doc_files() if p.stem.split("-")[1].isdigit()]
    return ws.dir("docs") / f"part-{(max(numbers) + 1 if numbers else 0):05d}.parquet"


def _existing_ids(ws: Workspace) -> pa.Table:
    """id and sha1 of every document already in the workspace."""
    if not ws.has_docs():
        return pa.table({"id": pa.array([], pa.string()), "sha1": pa.array([], pa.string())})
    con = duckdb.connect()
    table = con.sql(
        f"SELECT id, sha1 FROM read_parquet('{_sql_path(ws.dir('docs'))}/part-*.parquet')"
    ).to_arrow_table()
    con.close()
    return table


def _log_ingest(ws: Workspace, report: IngestReport, options: dict[str, Any]) -> None:
    """Append this ingest to winnow.json: the export manifest names its inputs and options from here."""
    meta = read_json(ws.root / "winnow.json", default={}) or {}
    meta.setdefault("ingests", []).append({
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "options": options, "files": report.files,
        "loaded": report.loaded, "quarantined": report.quarantined, "unchanged": report.unchanged,
        "parts": report.parts, "reasons": dict(report.reasons),
    })
    write_json(meta, ws.root / "winnow.json")
