"""Ingest: read files into `docs/part-*.parquet`; rows that cannot be used go to `quarantine/` with a reason.

Good rows are never lost because of bad ones. Ids come from the id field when one is given (a
repeated id is quarantined, not merged), else from the source name and the row number, so ingesting
the same file twice adds nothing the second time.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from core.errors import WinnowError
from core.progress import Progress, no_progress
from core.readers import Row, detect_format, read_any
from core.workspace import Workspace, atomic_path, read_json, write_json, write_parquet

DEFAULT_MAX_CHARS = 5_000_000  # a document over 5 million characters goes to quarantine
CHUNK_ROWS = 100_000
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
        self.existing = _existing_ids(ws)
        self.seen: dict[str, str] = {}  # id -> "file:row" where it was first seen in this call
        self.buffer: list[tuple[str, str, str, str | None, str]] = []
        self.bad: list[dict[str, Any]] = []

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
        if doc_id in self.seen:
            self.quarantine(where, row.row_no, f"duplicate id (first seen at {self.seen[doc_id]})", text[:200], doc_id)
            return
        self.seen[doc_id] = f"{where}:{row.row_no}"
        if doc_id in self.existing:
            if self.existing[doc_id] == sha1:
                self.report.unchanged += 1
            else:
                self.quarantine(where, row.row_no, "id already in the workspace with a different text", text[:200], doc_id)
            return
        label = rec.get(self.label_field) if self.label_field else None
        label = None if label is None or label == "" else str(label)
        skip = {self.text_field, self.id_field, self.label_field}
        meta = {k: v for k, v in rec.items() if k not in skip}
        self.buffer.append((doc_id, text, source, label, _dump(meta, limit=None) if meta else None))
        if len(self.buffer) >= CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        ids, texts, sources, labels, metas = zip(*self.buffer, strict=True)
        self.buffer = []
        raw = pa.table({"id": list(ids), "text": list(texts), "source": list(sources),
                        "label": pa.array(labels, pa.string()), "meta": pa.array(metas, pa.string())})
        part = _next_part_path(self.ws)
        con = duckdb.connect()
        con.register("raw", raw)
        # Counts and hashes are computed by DuckDB in parallel and written straight to Parquet.
        with atomic_path(part) as tmp:
            con.execute(f"""
                COPY (SELECT id, text, source, label, meta,
                             length(text)::BIGINT AS n_chars,
                             len(string_split_regex(trim(text), '\\s+'))::BIGINT AS n_words,
                             sha1(text) AS sha1
                      FROM raw)
                TO '{_sql_path(tmp)}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 50000)
            """)
        con.close()
        self.report.loaded += len(ids)
        self.report.parts.append(part.name)

    def finish_file(self, source: str, sha256: str) -> None:
        """Write this file's quarantine, replacing the one from an earlier ingest of the same bytes."""
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", source)[:60].lstrip(".") or "input"
        path = self.ws.dir("quarantine") / f"{stem}-{sha256[:16]}.parquet"
        if self.bad:
            write_parquet(pa.Table.from_pylist(self.bad, schema=QUARANTINE_SCHEMA), path)
        else:
            path.unlink(missing_ok=True)
        self.bad = []


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
    paths = [Path(p) for p in paths]
    if not paths:
        raise WinnowError("nothing to ingest: give at least one file or folder")
    for p in paths:
        if not p.exists():
            raise WinnowError(f"no such file or folder: {p}")
        detect_format(p)  # an unknown format is refused before anything is written
    total_bytes = sum(_size(p) for p in paths) or 1
    text_field_arg = text_field
    job = None
    done_bytes = 0
    for path in paths:
        src = source or _default_source(path)
        rows = read_any(path)
        first, rows = _peek(rows, 200)
        records = [r.record for r in first if r.record is not None]
        field_name = text_field_arg or guess_text_field(records)
        if records and field_name is None:
            raise WinnowError(f"{path.name}: no text field found; choose one with --text-field from: {_fields(records)}")
        if records and field_name not in {k for r in records for k in r}:
            raise WinnowError(f"{path.name}: no field {field_name!r}; the fields are: {_fields(records)}")
        for name, value in (("id", id_field), ("label", label_field)):
            if records and value and value not in {k for r in records for k in r}:
                raise WinnowError(f"{path.name}: no {name} field {value!r}; the fields are: {_fields(records)}")
        if job is None:
            job = _Ingest(ws, text_field=field_name, id_field=id_field, label_field=label_field, max_chars=max_chars)
        job.text_field = field_name or "text"
        before = (job.report.loaded + len(job.buffer), job.report.quarantined, job.report.unchanged)
        size = _size(path)
        for i, row in enumerate(rows):
            job.add(path.name, src, row)
            if i % 5000 == 0 and row.offset is not None:
                progress(min(done_bytes + row.offset, done_bytes + size), total_bytes)
        done_bytes += size
        progress(done_bytes, total_bytes)
        digest = _sha256(path)
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
    import itertools

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


def _existing_ids(ws: Workspace) -> dict[str, str]:
    if not ws.has_docs():
        return {}
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT id, sha1 FROM read_parquet('{_sql_path(ws.dir('docs'))}/part-*.parquet')"
    ).fetchall()
    con.close()
    return dict(rows)


def _log_ingest(ws: Workspace, report: IngestReport, options: dict[str, Any]) -> None:
    """Append this ingest to winnow.json: the export manifest names its inputs and options from here."""
    meta = read_json(ws.root / "winnow.json", default={}) or {}
    meta.setdefault("ingests", []).append({
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "options": options, "files": report.files,
        "loaded": report.loaded, "quarantined": report.quarantined, "unchanged": report.unchanged,
        "parts": report.parts, "reasons": dict(report.reasons),
    })
    write_json(meta, ws.root / "winnow.json")
