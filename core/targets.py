"""Targets and benchmarks: named sets of example documents (`targets/<name>.parquet`, `benchmarks/<name>.parquet`).

A target says "I want data like this" (DSIR, RDS+, the quality classifier); a benchmark is what
must not leak into training data (contamination). Both are Parquet files with at least id and text,
so one put there by hand is valid too.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core.errors import WinnowError
from core.workspace import Workspace, safe_name, write_parquet

Kind = Literal["targets", "benchmarks"]


def reference_path(ws: Workspace, name: str, kind: Kind = "targets") -> Path:
    return ws.dir(kind) / f"{safe_name(name, kind[:-1] + ' name')}.parquet"


def list_references(ws: Workspace, kind: Kind = "targets") -> list[str]:
    return sorted(p.stem for p in ws.dir(kind).glob("*.parquet"))


def load_reference(ws: Workspace, name: str, kind: Kind = "targets") -> pd.DataFrame:
    """The examples of a target or benchmark (id, text, and any other columns); a clear error if missing."""
    path = reference_path(ws, name, kind)
    if not path.exists():
        known = ", ".join(list_references(ws, kind)) or "none yet"
        cmd = "python -m core target add NAME FILE" + ("" if kind == "targets" else " --kind benchmark")
        raise WinnowError(f"no {kind[:-1]} named {name!r} (known: {known}); create one with `{cmd}`")
    table = pq.read_table(path)
    missing = {"id", "text"} - set(table.column_names)
    if missing:
        raise WinnowError(f"{kind[:-1]} {name!r} lacks the column(s) {', '.join(sorted(missing))} ({path})")
    if table.num_rows == 0:
        raise WinnowError(f"{kind[:-1]} {name!r} has no examples ({path}); add some or remove it")
    df = table.to_pandas()
    df["id"] = df["id"].astype(str)
    df["text"] = df["text"].fillna("").astype(str)
    return df


# -- making targets and benchmarks -------------------------------------------------------------
KINDS: tuple[Kind, ...] = ("targets", "benchmarks")
SPLITS = ("auto", "paragraph", "line", "file")


@dataclass
class ReferenceReport:
    """What `add_reference` / `reference_from_filter` wrote, and what it skipped and why."""

    name: str
    kind: Kind
    path: Path
    examples: int
    skipped: int = 0
    reasons: Counter = field(default_factory=Counter)
    labels: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        what = self.kind[:-1]
        text = f"{what} {self.name!r}: {self.examples:,} examples written to {self.path}"
        if self.skipped:
            text += f"; {self.skipped:,} rows skipped"
        return text


def check_kind(kind: str) -> Kind:
    """'target'/'targets'/'benchmark'/'benchmarks' -> the folder name; anything else is refused."""
    k = f"{kind}s" if kind in ("target", "benchmark") else kind
    if k not in KINDS:
        raise WinnowError(f"unknown kind {kind!r}: use target or benchmark")
    return k  # type: ignore[return-value]


def split_text(text: str, split: str = "auto") -> list[str]:
    """Examples from one block of text: blank-line separated paragraphs, lines, or the whole text.

    `auto` takes paragraphs when the text has a blank line, else one example per line.
    """
    if split not in SPLITS:
        raise WinnowError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if split == "auto":
        split = "paragraph" if re.search(r"\n[ \t]*\n", text.strip()) else "line"
    if split == "file":
        parts = [text]
    elif split == "paragraph":
        parts = re.split(r"\n[ \t]*\n", text)
    else:
        parts = text.split("\n")
    return [p.strip() for p in parts if p.strip()]


def read_examples(
    path: Path | str,
    *,
    text_field: str | None = None,
    id_field: str | None = None,
    label_field: str | None = None,
    split: str = "auto",
) -> tuple[pd.DataFrame, Counter]:
    """Read examples (id, text, label) from a JSONL/JSON/CSV/TSV/Parquet file, a text file or a folder.

    A text file gives one example per paragraph or line (`split`); a folder of text files one per file.
    Rows without usable text are skipped and counted by reason; fields that do not exist are an error.
    """
    from core.ingest import _text_of, guess_text_field
    from core.readers import detect_format, read_any

    path = Path(path).expanduser()
    if not path.exists():
        raise WinnowError(f"no such file or folder: {path}")
    fmt = detect_format(path)
    reasons: Counter = Counter()
    if fmt == "text":
        if text_field or id_field or label_field:
            raise WinnowError("--text-field, --id-field and --label-field apply to JSONL/CSV/Parquet files, "
                              f"not to the text file {path.name}")
        row = next(iter(read_any(path, fmt)))
        if row.record is None:
            raise WinnowError(f"{path.name}: {row.reason}")
        texts = split_text(row.record["text"], split)
        return pd.DataFrame({"id": [f"{i}" for i in range(1, len(texts) + 1)], "text": texts,
                             "label": pd.Series([None] * len(texts), dtype="object")}), reasons

    rows = []
    fields: set[str] = set()
    for row in read_any(path, fmt):
        if row.record is None:
            reasons[row.reason or "unreadable row"] += 1
            continue
        if not fields:
            fields = set(row.record)
            if text_field is None:
                text_field = guess_text_field([row.record])
                if text_field is None:
                    raise WinnowError(f"{path.name}: no text field found among {', '.join(sorted(fields)) or 'no fields'}; "
                                      "name it with --text-field")
            for flag, name in (("--text-field", text_field), ("--id-field", id_field), ("--label-field", label_field)):
                if name is not None and name not in fields:
                    raise WinnowError(f"{path.name} has no field {name!r} ({flag}); its fields: {', '.join(sorted(fields))}")
        text, reason = _text_of(row.record.get(text_field))
        if text is None:
            reasons[reason or "no text"] += 1
            continue
        doc_id = row.record.get(id_field) if id_field else (row.name or row.row_no)
        if doc_id is None or str(doc_id).strip() == "":
            reasons["id is empty"] += 1
            continue
        label = row.record.get(label_field) if label_field else None
        rows.append((str(doc_id), text, None if label is None else str(label)))
    df = pd.DataFrame(rows, columns=["id", "text", "label"])
    dup = df["id"].duplicated()
    if dup.any():
        raise WinnowError(f"{path.name}: the id {df.loc[dup, 'id'].iloc[0]!r} occurs more than once"
                          f"{' in ' + repr(id_field) if id_field else ''}; ids of a target must be unique")
    return df, reasons


def write_reference(ws: Workspace, name: str, df: pd.DataFrame, kind: str = "targets", *, replace: bool = False) -> Path:
    """Store examples (id, text, and optional label / other columns) as `<kind>/<name>.parquet`."""
    kind = check_kind(kind)
    path = reference_path(ws, name, kind)
    if path.exists() and not replace:
        raise WinnowError(f"a {kind[:-1]} named {name!r} exists already: choose another name or replace it "
                          "(--replace)")
    if "id" not in df.columns or "text" not in df.columns:
        raise WinnowError("a target needs the columns id and text")
    df = df.copy()
    df["text"] = df["text"].astype("object")
    empty = df["text"].isna() | (df["text"].map(lambda t: not str(t).strip()) if len(df) else False)
    df = df[~empty]
    if df.empty:
        raise WinnowError(f"the {kind[:-1]} {name!r} would have no examples with text")
    df["id"] = df["id"].astype(str)
    if df["id"].duplicated().any():
        raise WinnowError(f"the id {df.loc[df['id'].duplicated(), 'id'].iloc[0]!r} occurs more than once")
    if "label" in df.columns and df["label"].isna().all():
        df = df.drop(columns=["label"])
    table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    write_parquet(table, path)
    return path


def add_reference(
    ws: Workspace,
    name: str,
    path: Path | str,
    kind: str = "targets",
    *,
    text_field: str | None = None,
    id_field: str | None = None,
    label_field: str | None = None,
    split: str = "auto",
    replace: bool = False,
) -> ReferenceReport:
    """A target (or benchmark) from a file: JSONL/JSON/CSV/TSV/Parquet rows, or a text file's paragraphs/lines."""
    kind = check_kind(kind)
    safe_name(name, kind[:-1] + " name")
    if reference_path(ws, name, kind).exists() and not replace:
        raise WinnowError(f"a {kind[:-1]} named {name!r} exists already: choose another name or replace it (--replace)")
    df, reasons = read_examples(path, text_field=text_field, id_field=id_field, label_field=label_field, split=split)
    if df.empty:
        why = "; ".join(f"{n} x {r}" for r, n in reasons.most_common(3))
        raise WinnowError(f"{Path(path).name}: no example with text could be read{' (' + why + ')' if why else ''}")
    out = write_reference(ws, name, df, kind, replace=replace)
    return ReferenceReport(name, kind, out, len(df), sum(reasons.values()), reasons, _label_counts(df))


def add_reference_text(ws: Workspace, name: str, text: str, kind: str = "targets", *, split: str = "auto",
                       replace: bool = False) -> ReferenceReport:
    """A target from pasted text: one example per paragraph (or per line when there are no blank lines)."""
    kind = check_kind(kind)
    safe_name(name, kind[:-1] + " name")
    texts = split_text(text or "", split)
    if not texts:
        raise WinnowError("paste at least one example")
    df = pd.DataFrame({"id": [str(i) for i in range(1, len(texts) + 1)], "text": texts})
    out = write_reference(ws, name, df, kind, replace=replace)
    return ReferenceReport(name, kind, out, len(df))


def reference_from_filter(
    ws: Workspace,
    name: str,
    kind: str = "targets",
    *,
    labels: list[str] | None = None,
    sources: list[str] | None = None,
    ids: list[str] | None = None,
    limit: int | None = None,
    seed: int = 0,
    replace: bool = False,
) -> ReferenceReport:
    """A target made of workspace documents: those with one of `labels` and one of `sources` (and in `ids`).

    `limit` keeps a seeded random sample of that many. The examples keep their document ids, so a
    signal can tell that a document is itself an example.
    """
    import duckdb

    from core.store import sql_str

    kind = check_kind(kind)
    safe_name(name, kind[:-1] + " name")
    if not (labels or sources or ids):
        raise WinnowError("say which documents to take: --label L and/or --source S (a target of every document "
                          "would not tell one document from another)")
    if limit is not None and limit < 1:
        raise WinnowError("--limit must be at least 1")
    files = ws.doc_files()
    if not files:
        raise WinnowError("the workspace has no documents yet: ingest some with `python -m core ingest`")
    con = duckdb.connect(":memory:")
    con.execute(f"CREATE VIEW docs AS SELECT * FROM read_parquet([{', '.join(sql_str(f) for f in files)}], "
                "union_by_name=true)")
    where, params = [], []
    for col, values in (("label", labels), ("source", sources), ("id", ids)):
        if values:
            where.append(f"{col} IN ({', '.join('?' * len(values))})")
            params.extend(str(v) for v in values)
    df = con.execute(f"SELECT id, text, label, source FROM docs WHERE {' AND '.join(where)} ORDER BY id", params).df()
    if df.empty:
        have = {"labels": _distinct(con, "label"), "sources": _distinct(con, "source")}
        raise WinnowError(
            "no document matches " + ", ".join(f"{k}={v}" for k, v in (("label", labels), ("source", sources)) if v)
            + f" (labels: {', '.join(have['labels']) or 'none'}; sources: {', '.join(have['sources']) or 'none'})"
        )
    if limit is not None and len(df) > limit:
        df = df.sample(n=limit, random_state=seed).sort_values("id")
    out = write_reference(ws, name, df, kind, replace=replace)
    return ReferenceReport(name, kind, out, len(df), labels=_label_counts(df))


def _distinct(con, col: str) -> list[str]:
    rows = con.execute(f"SELECT DISTINCT {col} FROM docs WHERE {col} IS NOT NULL ORDER BY 1 LIMIT 20").fetchall()
    return [str(r[0]) for r in rows]


def _label_counts(df: pd.DataFrame) -> dict[str, int]:
    if "label" not in df.columns:
        return {}
    return {str(k): int(v) for k, v in df["label"].dropna().value_counts().items()}


def reference_info(ws: Workspace, kind: str = "targets") -> list[dict]:
    """Name, example count, labels and file of every target (or benchmark)."""
    kind = check_kind(kind)
    out = []
    for name in list_references(ws, kind):
        path = ws.dir(kind) / f"{name}.parquet"
        try:
            pf = pq.ParquetFile(path)
            rows, columns = pf.metadata.num_rows, pf.schema_arrow.names
        except Exception as exc:  # a broken file is listed with its problem, not hidden
            out.append({"name": name, "kind": kind[:-1], "examples": None, "columns": [], "labels": {},
                        "path": str(path), "problem": f"{exc.__class__.__name__}: {exc}"})
            continue
        labels = {}
        if "label" in columns:
            labels = _label_counts(pq.read_table(path, columns=["label"]).to_pandas())
        problem = None if {"id", "text"} <= set(columns) else "lacks the columns id and text"
        out.append({"name": name, "kind": kind[:-1], "examples": rows, "columns": columns, "labels": labels,
                    "path": str(path), "problem": problem})
    return out


def remove_reference(ws: Workspace, name: str, kind: str = "targets") -> Path:
    kind = check_kind(kind)
    path = reference_path(ws, name, kind)
    if not path.exists():
        known = ", ".join(list_references(ws, kind)) or "none"
        raise WinnowError(f"no {kind[:-1]} named {name!r} (known: {known})")
    path.unlink()
    return path
