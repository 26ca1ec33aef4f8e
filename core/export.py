"""Export a saved selection as files a training job reads, with a manifest that can rebuild them.

    exports/<name>/                  (or the folder given with --out)
      <selection>.parquet            one file, or <selection>-00000-of-00003.parquet shards,
      <selection>-epoch-000.jsonl    one file (or set of shards) per epoch for an RS2 selection
      <selection>/                   hf: a Hugging Face `datasets` folder (save_to_disk), one per epoch
      dropped/dropped.<ext>          on request: the documents not in the selection, with `drop_reason`
                                     (in a subfolder, so a glob of the data files never picks them up)
      manifest.json                  written last (see core/manifest.py)

Rows keep the selection's order (a curriculum is an order). Files are byte-deterministic: no
timestamps inside data files, fixed row-group sizes, a fixed column order, keys of JSON objects
sorted, so the same selection exported twice (or rebuilt elsewhere) gives the same sha256.

Safety: the export is written into a hidden temporary folder beside its destination and renamed
into place only when every file and the manifest are written. A full disk or a permission error
removes the temporary folder and raises a WinnowError, so nothing that looks complete is left. An
existing export is replaced only with `force`; a folder that is not an export is never replaced.
"""

from __future__ import annotations

import io
import json
import math
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core.errors import Cancelled, WinnowError
from core.progress import Progress, no_progress
from core.store import Store, ident, sql_str
from core.workspace import Workspace, read_json, safe_name

FORMATS = ("parquet", "jsonl", "csv", "hf")
EXTENSIONS = {"parquet": ".parquet", "jsonl": ".jsonl", "csv": ".csv", "hf": ""}
DOC_COLUMNS = ("text", "label", "source", "meta", "n_chars", "n_words", "sha1")
DEFAULT_COLUMNS = ("text", "label", "source")
ROW_GROUP_SIZE = 10_000  # rows per Parquet row group, fixed so that the bytes do not depend on batching
FETCH_ROWS = 10_000
SMALL_EXPORT_ROWS = 20_000  # the app exports this many rows in-process; more run as a background job
MANIFEST = "manifest.json"
DROPPED = "dropped"
STRATEGY_REASON = "not selected by strategy"


@dataclass
class OutputFile:
    path: str  # relative to the export folder, with '/' separators
    rows: int | None
    kind: str  # "data" | "dropped" | "hf-meta"
    epoch: int | None = None
    shard: int | None = None


@dataclass
class ExportResult:
    folder: Path
    manifest: dict[str, Any]
    files: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return int(self.manifest["counts"]["kept"])


# -- the selection -------------------------------------------------------------------------------
def selection_files(ws: Workspace, name: str) -> tuple[Path, Path]:
    name = safe_name(name, "selection name")
    return ws.dir("selections") / f"{name}.json", ws.dir("selections") / f"{name}.parquet"


def list_selections(ws: Workspace) -> list[str]:
    d = ws.dir("selections")
    return sorted(p.stem for p in d.glob("*.parquet") if not p.name.startswith("."))


def read_selection(ws: Workspace, name: str) -> tuple[dict[str, Any], pd.DataFrame]:
    """(recipe metadata, DataFrame(id, epoch) in output order) of `selections/<name>`.

    The parquet holds the ids in order (sorted by `rank` when it has one); `epoch` is 0 unless RS2.
    """
    meta_path, ids_path = selection_files(ws, name)
    if not ids_path.exists():
        known = ", ".join(list_selections(ws)) or "none yet"
        raise WinnowError(f"no selection named {name!r} (selections: {known}); build one on the Select page "
                          "or with `python -m core select`")
    table = pq.read_table(ids_path)
    if "id" not in table.column_names:
        raise WinnowError(f"{ids_path} has no id column; save the selection again")
    df = table.to_pandas()
    df["id"] = df["id"].astype(str)
    if "rank" in df.columns:
        df = df.sort_values("rank", kind="stable")
    df["epoch"] = pd.to_numeric(df["epoch"], errors="coerce").fillna(0).astype("int64") if "epoch" in df.columns else 0
    meta = read_json(meta_path, default=None) or {"name": name}
    return meta, df[["id", "epoch"]].reset_index(drop=True)


# -- columns -------------------------------------------------------------------------------------
def available_columns(store: Store) -> list[str]:
    """Columns an export can carry besides `id`: the document fields, then every score column."""
    return [*DOC_COLUMNS, *store.score_columns]


def resolve_columns(store: Store, columns: list[str] | str | None) -> list[str]:
    """`id` first, then the chosen columns in the order given; an unknown column is an error naming the known ones."""
    if columns is None:
        columns = list(DEFAULT_COLUMNS)
    if isinstance(columns, str):
        columns = [c for c in columns.split(",")]
    wanted = [c.strip() for c in columns if c and c.strip()]
    known = available_columns(store)
    unknown = [c for c in wanted if c != "id" and c not in known]
    if unknown:
        raise WinnowError(f"unknown column(s) {', '.join(map(repr, unknown))}; choose from: id, {', '.join(known)}")
    out = ["id"]
    for c in wanted:
        if c not in out:
            out.append(c)
    return out


# -- where the export goes -------------------------------------------------------------------------
def export_folder(ws: Workspace, name: str | None, out: str | Path | None = None) -> Path:
    """`out` itself when given (the user's chosen folder), else `exports/<safe name>` of the workspace."""
    if out is not None and str(out).strip():
        return Path(out).expanduser().resolve()
    if not name:
        raise WinnowError("give the export a name")
    return ws.dir("exports") / safe_name(name, "export name")


def is_export(folder: Path) -> bool:
    m = read_json_safe(Path(folder) / MANIFEST)
    return isinstance(m, dict) and "winnow_version" in m and "files" in m


def read_json_safe(path: Path) -> Any:
    try:
        return read_json(path)
    except (OSError, ValueError):
        return None


def check_destination(folder: Path, force: bool) -> None:
    """Refuse to replace an export without `force`, and anything that is not an export at all."""
    if not folder.exists():
        return
    if not folder.is_dir():
        raise WinnowError(f"{folder} exists and is not a folder; choose another place for the export")
    if not any(folder.iterdir()):
        return
    if not is_export(folder):
        raise WinnowError(f"{folder} holds files that are not a Winnow export; choose a new or empty folder "
                          "(an export only replaces an earlier export)")
    if not force:
        raise WinnowError(f"an export already exists at {folder}; use --force (or confirm in the app) to replace it")


def list_exports(ws: Workspace) -> list[dict[str, Any]]:
    """Every finished export of the workspace (folders with a manifest), newest first."""
    rows = []
    for d in sorted(ws.dir("exports").iterdir()) if ws.dir("exports").exists() else []:
        if not d.is_dir() or d.name.startswith("."):
            continue
        m = read_json_safe(d / MANIFEST)
        if not isinstance(m, dict) or "files" not in m:
            continue
        exp = m.get("export", {})
        rows.append({
            "name": d.name, "selection": exp.get("selection"), "format": exp.get("format"),
            "rows": m.get("counts", {}).get("kept"), "files": len([f for f in m["files"] if f.get("kind") != "hf-meta"]),
            "bytes": sum(int(f.get("bytes") or 0) for f in m["files"]), "created": m.get("time"),
            "folder": str(d), "manifest": m,
        })
    rows.sort(key=lambda r: r.get("created") or "", reverse=True)
    return rows


# -- drop reasons ------------------------------------------------------------------------------------
def drop_reasons(ws: Workspace, store: Store, recipe: dict[str, Any] | None, kept_ids: set[str]) -> pd.DataFrame:
    """DataFrame(id, drop_reason) of every document not in the selection, in workspace order.

    The reason is the first recipe filter the document fails, checked in the order the selection
    applies them (sources, labels, map selection, map clusters, score thresholds and rules, saved
    filters); a threshold or rule names the failing rule as the Scores page does
    ("score filter: gopher_quality.word_count"). A document that passed every filter was
    "not selected by strategy (<strategy>)".
    """
    docs = store.df("SELECT id, source, label FROM docs")
    docs["id"] = docs["id"].astype(str)
    docs = docs[~docs["id"].astype(object).isin(kept_ids)].reset_index(drop=True)
    reason = pd.Series([None] * len(docs), dtype="object")
    recipe = recipe or {}
    filters = recipe.get("filters") or {}

    def mark(fails: np.ndarray, text: str) -> None:
        open_ = reason.isna().to_numpy()
        reason[open_ & fails] = text

    if filters.get("sources"):
        srcs = _as_list(filters["sources"])
        mark(~docs["source"].astype(object).isin(srcs).to_numpy(dtype=bool), f"source not in {', '.join(srcs)}")
    if filters.get("labels"):
        labs = _as_list(filters["labels"])
        mark(~docs["label"].astype("string").isin(labs).fillna(False).to_numpy(dtype=bool),
             f"label not in {', '.join(labs)}")
    if filters.get("ids") is not None:
        label = filters.get("map_label") or "map selection"
        mark(~docs["id"].astype(object).isin(set(map(str, filters["ids"]))).to_numpy(dtype=bool),
             f"outside the map selection ({label})")
    if filters.get("clusters"):
        wanted = _as_list(filters["clusters"])
        if "map__cluster" not in store.score_columns:
            raise WinnowError("the recipe filters on map clusters, but the workspace has no map any more")
        vals = store.df("SELECT id, map__cluster AS c FROM scores")
        c = pd.Series(vals["c"].astype("string").to_numpy(), index=vals["id"].astype(str)).reindex(docs["id"])
        mark(~c.isin(wanted).fillna(False).to_numpy(dtype=bool), f"map cluster not in {', '.join(wanted)}")
    if filters.get("scores") or filters.get("rules"):
        from core.filters import FilterSpec

        spec = FilterSpec(thresholds={_score_column(store, k): v for k, v in (filters.get("scores") or {}).items()},
                          rules={_score_column(store, k): v for k, v in (filters.get("rules") or {}).items()})
        for i, text in _spec_reasons(store, spec, "score filter", docs["id"]).items():
            if reason[i] is None:
                reason[i] = text
    for name in _as_list(filters.get("saved") or []):
        for i, text in _saved_filter_reasons(ws, store, name, docs["id"]).items():
            if reason[i] is None:
                reason[i] = text
    strategy = recipe.get("strategy")
    fallback = f"{STRATEGY_REASON} ({strategy})" if strategy else STRATEGY_REASON
    reason = reason.fillna(fallback)
    return pd.DataFrame({"id": docs["id"], "drop_reason": reason.astype(str)})


def _as_list(v: Any) -> list[str]:
    return [v] if isinstance(v, str) else [str(x) for x in v]


def _score_column(store: Store, ref: str) -> str:
    if ref in store.score_columns:
        return ref
    try:
        from core.scorecols import resolve_score
    except ImportError:
        raise WinnowError(f"the recipe filters on {ref!r}, which is not a score column of this workspace") from None
    return resolve_score(store, ref)


def _saved_filter_reasons(ws: Workspace, store: Store, name: str, ids: pd.Series) -> dict[int, str]:
    """{row position: "filter NAME: <its first failing rule>"} for the documents a saved filter drops."""
    try:
        from core import filters as saved
    except ImportError:
        raise WinnowError(f"the recipe uses the saved filter {name!r}, but this version of Winnow cannot read saved "
                          "filters (core/filters.py is missing)") from None
    return _spec_reasons(store, saved.load_filter(ws, name), f"filter {name}", ids)


def _spec_reasons(store: Store, spec: Any, label: str, ids: pd.Series) -> dict[int, str]:
    """{row position: "<label>: <first failing condition>"} for a core.filters FilterSpec, in its check order.

    With a core.filters that cannot name its conditions, the reason is "<label>" alone.
    """
    from core import filters as saved

    pos = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
    conditions, base = getattr(saved, "conditions", None), getattr(saved, "_base", None)
    if callable(conditions) and callable(base):
        conds = conditions(store, spec)
        if not conds:
            return {}
        case = "CASE " + " ".join(f"WHEN {c.fail} THEN {sql_str(c.reason)}" for c in conds) + " END"
        got = store.df(f"SELECT s.id AS id, {case} AS reason FROM {base(store, spec, None)}")
        got = got[got["reason"].notna()]
        return {int(pos[i]): f"{label}: {r}" for i, r in zip(got["id"].astype(str), got["reason"], strict=True)
                if i in pos.index}
    kept = set(map(str, saved.kept_ids(store, spec, None)))
    return {int(p): label for i, p in pos.items() if i not in kept}


# -- writers -----------------------------------------------------------------------------------------
class _Sink:
    """One output file; rows arrive as Arrow tables in order."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path, self.schema, self.rows = path, schema, 0

    def write(self, table: pa.Table) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _ParquetSink(_Sink):
    def __init__(self, path: Path, schema: pa.Schema) -> None:
        super().__init__(path, schema)
        self.writer = pq.ParquetWriter(path, schema, compression="zstd", use_dictionary=True)
        self.buffer: list[pa.Table] = []
        self.buffered = 0

    def write(self, table: pa.Table) -> None:
        self.buffer.append(table)
        self.buffered += table.num_rows
        self.rows += table.num_rows
        if self.buffered >= ROW_GROUP_SIZE:
            whole = pa.concat_tables(self.buffer)
            n = (whole.num_rows // ROW_GROUP_SIZE) * ROW_GROUP_SIZE
            self.writer.write_table(whole.slice(0, n), row_group_size=ROW_GROUP_SIZE)
            rest = whole.slice(n)
            self.buffer, self.buffered = [rest], rest.num_rows

    def close(self) -> None:
        if self.buffered or self.rows == 0:
            whole = pa.concat_tables(self.buffer) if self.buffer else self.schema.empty_table()
            self.writer.write_table(whole, row_group_size=ROW_GROUP_SIZE)
        self.writer.close()


class _JsonlSink(_Sink):
    """One JSON object per line: columns in the export's order; `meta` as an object with its keys sorted."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        super().__init__(path, schema)
        self.fh = open(path, "wb")  # noqa: SIM115 - closed in close()

    def write(self, table: pa.Table) -> None:
        names = table.column_names
        cols = [table.column(n).to_pylist() for n in names]
        if "meta" in names:
            i = names.index("meta")
            cols[i] = [_meta_fragment(v) for v in cols[i]]
        lines = [orjson.dumps(dict(zip(names, row, strict=True))) for row in zip(*cols, strict=True)]
        self.fh.write(b"\n".join(lines) + (b"\n" if lines else b""))
        self.rows += table.num_rows

    def close(self) -> None:
        self.fh.close()


def _meta_fragment(value: str | None) -> Any:
    """The meta JSON text as a nested object (keys sorted); text that is not JSON stays a string."""
    if value is None:
        return None
    try:
        return orjson.Fragment(orjson.dumps(orjson.loads(value), option=orjson.OPT_SORT_KEYS))
    except orjson.JSONDecodeError:
        return value


class _CsvSink(_Sink):
    """CSV with a header row, written by Arrow's C++ writer (fields quoted only where needed; empty for null)."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        import pyarrow.csv as pacsv

        super().__init__(path, schema)
        self.writer = pacsv.CSVWriter(str(path), schema,
                                      write_options=pacsv.WriteOptions(include_header=True, quoting_style="needed"))

    def write(self, table: pa.Table) -> None:
        self.writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        self.writer.close()


class _HfSink(_Sink):
    """A Hugging Face datasets folder: rows are gathered, then `Dataset.save_to_disk` writes the shards."""

    def __init__(self, path: Path, schema: pa.Schema, num_shards: int) -> None:
        super().__init__(path, schema)
        self.tables: list[pa.Table] = []
        self.num_shards = num_shards

    def write(self, table: pa.Table) -> None:
        self.tables.append(table)
        self.rows += table.num_rows

    def close(self) -> None:
        import datasets

        datasets.disable_progress_bars()  # the export reports its own progress
        table = pa.concat_tables(self.tables) if self.tables else self.schema.empty_table()
        table = table.replace_schema_metadata(None)
        ds = datasets.Dataset(table)
        ds.save_to_disk(str(self.path), num_shards=max(1, min(self.num_shards, max(table.num_rows, 1))))


_SINKS = {"parquet": _ParquetSink, "jsonl": _JsonlSink, "csv": _CsvSink}


# -- the export ----------------------------------------------------------------------------------------
def _data_query(columns: list[str], store: Store) -> str:
    picks = []
    for c in columns:
        if c == "id":
            picks.append("sel.id AS id")
        elif c in DOC_COLUMNS:
            picks.append(f"d.{ident(c)} AS {ident(c)}")
        else:
            picks.append(f"s.{ident(c)} AS {ident(c)}")
    join_scores = "LEFT JOIN scores s ON s.id = sel.id" if any(c in store.score_columns for c in columns) else ""
    return (f"SELECT {', '.join(picks)} FROM sel JOIN docs d ON d.id = sel.id {join_scores} "
            "ORDER BY sel.pos")


def _batches(store: Store, frame: pd.DataFrame, columns: list[str], extra: str | None = None) -> Iterator[pa.Table]:
    """The rows of `frame` (id[, extra], pos) with the chosen columns, in `pos` order, in chunks."""
    cur = store.cursor()
    try:
        sel = pa.table({"id": pa.array(frame["id"].tolist(), pa.string()),
                        "pos": pa.array(np.arange(len(frame), dtype=np.int64)),
                        **({extra: pa.array(frame[extra].astype(str).tolist(), pa.string())} if extra else {})})
        cur.register("sel", sel)
        query = _data_query(columns, store)
        if extra:
            query = query.replace(" FROM sel", f", sel.{ident(extra)} AS {ident(extra)} FROM sel", 1)
        reader = cur.sql(query).to_arrow_reader(FETCH_ROWS)
        for batch in reader:
            yield pa.Table.from_batches([batch]).replace_schema_metadata(None)
    finally:
        cur.close()


def _file_names(stem: str, fmt: str, n_rows: int, shard_size: int | None, epoch: int | None) -> list[str]:
    base = stem if epoch is None else f"{stem}-epoch-{epoch:03d}"
    ext = EXTENSIONS[fmt]
    if fmt == "hf" or not shard_size or n_rows <= shard_size:
        return [f"{base}{ext}"]
    n = math.ceil(n_rows / shard_size)
    return [f"{base}-{i:05d}-of-{n:05d}{ext}" for i in range(n)]


def _write_group(store: Store, frame: pd.DataFrame, columns: list[str], fmt: str, tmp: Path, names: list[str],
                 shard_size: int | None, progress_step: Progress, extra: str | None = None) -> list[OutputFile]:
    """Write one group of rows (the selection, one epoch, or the dropped docs) as one file or shards."""
    outputs: list[OutputFile] = []
    schema = None
    sink: _Sink | None = None
    per_file = shard_size if shard_size and len(names) > 1 else max(len(frame), 1)
    shard = 0
    try:
        batches = _batches(store, frame, columns, extra)
        for table in batches:
            schema = schema or table.schema
            start = 0
            while start < table.num_rows:
                if sink is None:
                    sink = _open_sink(fmt, tmp / names[shard], table.schema, shard_size, len(frame))
                take = min(table.num_rows - start, per_file - sink.rows)
                sink.write(table.slice(start, take))
                start += take
                progress_step(take, 0)
                if sink.rows >= per_file and shard < len(names) - 1:
                    sink.close()
                    outputs.append(OutputFile(names[shard], sink.rows, "data"))
                    sink, shard = None, shard + 1
        if sink is None:  # an empty group still gets its (empty) file
            sink = _open_sink(fmt, tmp / names[shard], _empty_schema(store, columns, extra), shard_size, 0)
        sink.close()
        outputs.append(OutputFile(names[shard], sink.rows, "data"))
        sink = None
    finally:
        if sink is not None:
            _close_quietly(sink)
    return outputs


def _close_quietly(sink: _Sink) -> None:
    try:
        if isinstance(sink, _ParquetSink):
            sink.writer.close()
        elif isinstance(sink, _JsonlSink):
            sink.fh.close()
        elif isinstance(sink, _CsvSink):
            sink.writer.close()
    except OSError:
        pass


def _open_sink(fmt: str, path: Path, schema: pa.Schema, shard_size: int | None, rows: int) -> _Sink:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "hf":
        return _HfSink(path, schema, math.ceil(rows / shard_size) if shard_size else 1)
    return _SINKS[fmt](path, schema)


def _empty_schema(store: Store, columns: list[str], extra: str | None) -> pa.Schema:
    cur = store.cursor()
    try:
        cur.register("sel", pa.table({"id": pa.array([], pa.string()), "pos": pa.array([], pa.int64()),
                                      **({extra: pa.array([], pa.string())} if extra else {})}))
        query = _data_query(columns, store)
        if extra:
            query = query.replace(" FROM sel", f", sel.{ident(extra)} AS {ident(extra)} FROM sel", 1)
        return cur.execute(query).to_arrow_table().schema.remove_metadata()
    finally:
        cur.close()


def export_selection(
    ws: Workspace,
    selection: str,
    fmt: str = "parquet",
    *,
    out: str | Path | None = None,
    name: str | None = None,
    columns: list[str] | str | None = None,
    shard_size: int | None = None,
    force: bool = False,
    dropped: bool = False,
    store: Store | None = None,
    progress: Progress = no_progress,
    extra_manifest: dict[str, Any] | None = None,
) -> ExportResult:
    """Write `selection` in `fmt` to `exports/<name>` (or `out`), with manifest.json; see the module doc."""
    from core.manifest import build_manifest, file_entries

    if fmt not in FORMATS:
        raise WinnowError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if shard_size is not None and shard_size < 1:
        raise WinnowError("--shard-size is a number of rows per file, at least 1")
    selection = safe_name(selection, "selection name")
    folder = export_folder(ws, name or selection, out)
    try:
        check_destination(folder, force)
    except OSError as exc:
        raise WinnowError(_os_message(exc, folder)) from None
    store = store or Store(ws)
    store.refresh()
    meta, sel = read_selection(ws, selection)
    cols = resolve_columns(store, columns)
    total_docs = store.count()
    present = set(store.df("SELECT id FROM docs")["id"].astype(str))
    missing = int((~sel["id"].astype(object).isin(present)).sum())
    if missing:
        raise WinnowError(f"selection {selection!r} names {missing:,} documents that are not in the workspace any more; "
                          "run the selection again before exporting")
    if len(sel) == 0:
        raise WinnowError(f"selection {selection!r} is empty: nothing to export")
    reasons = drop_reasons(ws, store, meta.get("recipe"), set(sel["id"]))
    epochs = sorted(sel["epoch"].unique().tolist())
    rs2 = len(epochs) > 1 or (meta.get("recipe") or {}).get("strategy") == "rs2"
    total = len(sel) + (len(reasons) if dropped else 0)
    done = [0]

    def step(n: int, _total: int) -> None:
        done[0] += n
        progress(done[0], total)

    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}-{secrets.token_hex(3)}"
    outputs: list[OutputFile] = []
    progress(0, total)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        for epoch in epochs:
            frame = sel[sel["epoch"] == epoch] if rs2 else sel
            names = _file_names(selection, fmt, len(frame), shard_size, epoch if rs2 else None)
            for o in _write_group(store, frame, cols, fmt, tmp, names, shard_size, step):
                o.epoch = int(epoch) if rs2 else None
                outputs.append(o)
            if not rs2:
                break
        if dropped:
            names = [f"{DROPPED}/{n}" for n in _file_names(DROPPED, fmt, len(reasons), shard_size, None)]
            for o in _write_group(store, reasons, cols, fmt, tmp, names, shard_size, step, extra="drop_reason"):
                o.kind = "dropped"
                outputs.append(o)
        files = file_entries(tmp, outputs)
        manifest = build_manifest(
            ws, store, selection=selection, selection_meta=meta, selection_frame=sel, fmt=fmt, columns=cols,
            shard_size=shard_size, dropped_file=dropped, reasons=reasons, total_docs=total_docs, files=files,
            export_name=folder.name, extra=extra_manifest,
        )
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
        check_destination(folder, force)  # again: another export may have appeared while this one was written
        _move_into_place(tmp, folder)
    except Cancelled:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise WinnowError(_os_message(exc, folder)) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    progress(total, total)
    return ExportResult(folder, manifest, manifest["files"])


def _os_message(exc: OSError, folder: Path) -> str:
    import errno

    why = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = "free some disk space or export to another disk with --out"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "choose a folder you can write to with --out"
    else:
        hint = "check the destination folder"
    return (f"could not write the export to {folder}: {why}; nothing was exported (the partial files were removed) "
            f"— {hint}")


def _move_into_place(tmp: Path, folder: Path) -> None:
    """Rename the finished export onto `folder`; an earlier export there is replaced only now."""
    old = None
    if folder.exists():
        old = folder.parent / f".{folder.name}.old-{os.getpid()}-{secrets.token_hex(3)}"
        os.replace(folder, old)
    try:
        os.replace(tmp, folder)
    except OSError:
        if old is not None:
            os.replace(old, folder)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def zip_export(folder: Path) -> bytes:
    """The export folder as a zip (for the app's download button); names are relative to the folder."""
    import zipfile

    folder = Path(folder)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                info = zipfile.ZipInfo(f"{folder.name}/{p.relative_to(folder).as_posix()}", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, p.read_bytes())
    return buf.getvalue()


def export_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
