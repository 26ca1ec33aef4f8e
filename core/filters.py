"""Filters: thresholds on computed scores, decided live in DuckDB, saved as `filters/<name>.json`.

A filter keeps a document when every condition holds:
- `thresholds`: per numeric `scores` column a keep range (`min` and/or `max`, both inclusive);
- `rules`: per boolean `scores` column (a rule's `<rule>_ok`, a flag) the value a document must have;
- `sources` / `labels`: optional lists the document's source / label must be in.

A null score means "does not apply" (as in the rule signals and datatrove) and passes its condition.

Every question has a one-query DuckDB form over the in-memory `scores` table (`evaluate_sql`,
`kept_ids_sql`), optionally restricted to a list of ids (the map selection). What the Scores page runs
on a slider move is faster still: DuckDB reads each column the filter uses once (cached until the files
change), each condition becomes a bit per row, and a move recomputes one condition's bits and counts
bits (`evaluate`, `kept_ids`, `dropped_samples`). Histograms are binned in DuckDB, one query for the
columns not seen before. Drop reasons are named `<signal key>.<rule>` (or `<signal key>.<column>` for a
column that decides no rule) and are checked in the order the signals declare their rules, so at the
published thresholds the first failing reason is the signal's own `<signal>_reason`.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
import weakref
import zlib
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.errors import WinnowError
from core.store import Store, ident, sql_str
from core.workspace import Workspace, read_json, safe_name, write_json

FORMAT = 1
NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT", "FLOAT", "DOUBLE", "REAL")
SNIPPET_CHARS = 400
# datatrove's FineWeb pipeline applies the rule filters in this order; "first failing rule" follows it
PIPELINE_ORDER = ("gopher_repetition", "gopher_quality", "c4", "fineweb")
STATS_SAMPLE = 200_000  # percentiles (slider positions, histogram range) from at most this many rows
GRID_STEPS = 100  # slider positions: the percentiles of the column, so each step moves about 1% of documents


# -- the filter --------------------------------------------------------------------------------
class Range(BaseModel):
    """Keep documents whose value is within [min, max]; a missing end is open."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _check(self) -> Range:
        for v in (self.min, self.max):
            if v is not None and not math.isfinite(v):
                raise ValueError("thresholds must be finite numbers")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class FilterSpec(BaseModel):
    """What a saved filter holds (besides its name and when it was saved)."""

    model_config = ConfigDict(extra="forbid")
    description: str = ""
    thresholds: dict[str, Range] = Field(default_factory=dict, description="numeric scores column -> keep range")
    rules: dict[str, bool] = Field(default_factory=dict, description="boolean scores column -> required value")
    sources: list[str] = Field(default_factory=list, description="keep only these sources (empty: all)")
    labels: list[str] = Field(default_factory=list, description="keep only these labels (empty: all)")

    @field_validator("thresholds", mode="after")
    @classmethod
    def _drop_open(cls, v: dict[str, Range]) -> dict[str, Range]:
        return {k: r for k, r in v.items() if r.min is not None or r.max is not None}

    def is_empty(self) -> bool:
        return not (self.thresholds or self.rules or self.sources or self.labels)

    def columns(self) -> list[str]:
        return [*self.thresholds, *self.rules]


def parse_spec(data: dict[str, Any], where: str = "filter") -> FilterSpec:
    """A FilterSpec from a dict (the JSON of a saved filter), with one clear error for what is wrong."""
    data = {k: v for k, v in dict(data).items() if k not in ("name", "format", "saved")}
    try:
        return FilterSpec(**data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'filter'}: {e['msg']}" for e in exc.errors())
        raise WinnowError(f"{where} is not a valid filter ({problems})") from None


# -- saving and loading ------------------------------------------------------------------------
def filter_path(ws: Workspace, name: str) -> Path:
    return ws.dir("filters") / f"{safe_name(name, 'filter name')}.json"


def save_filter(ws: Workspace, name: str, spec: FilterSpec, *, overwrite: bool = True) -> Path:
    path = filter_path(ws, name)
    if path.exists() and not overwrite:
        raise WinnowError(f"a filter named {name!r} exists already: choose another name or replace it")
    if spec.is_empty():
        raise WinnowError("this filter keeps every document (no threshold, rule, source or label): nothing to save")
    body = {"name": path.stem, "format": FORMAT, "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **spec.model_dump(mode="json")}
    return write_json(body, path)


def load_filter(ws: Workspace, name: str) -> FilterSpec:
    path = filter_path(ws, name)
    if not path.exists():
        known = ", ".join(f["name"] for f in list_filters(ws)) or "none saved yet"
        raise WinnowError(f"no saved filter named {name!r} (saved filters: {known})")
    try:
        data = read_json(path)
    except ValueError as exc:
        raise WinnowError(f"filters/{path.name} is not valid JSON ({exc}); fix or delete it") from None
    if not isinstance(data, dict):
        raise WinnowError(f"filters/{path.name} is not a filter (expected a JSON object)")
    if data.get("format", FORMAT) != FORMAT:
        raise WinnowError(f"filters/{path.name} has format {data.get('format')!r}; this Winnow reads format {FORMAT}")
    return parse_spec(data, f"filters/{path.name}")


def list_filters(ws: Workspace) -> list[dict[str, Any]]:
    """name, description, saved, conditions (count) and problem (None or why it cannot be read) per file."""
    out = []
    for path in sorted(ws.dir("filters").glob("*.json")):
        row: dict[str, Any] = {"name": path.stem, "description": "", "saved": None, "conditions": 0, "problem": None}
        try:
            data = read_json(path)
            spec = parse_spec(data if isinstance(data, dict) else {"x": 1}, f"filters/{path.name}")
            row.update(description=spec.description, saved=data.get("saved"),
                       conditions=len(spec.thresholds) + len(spec.rules) + bool(spec.sources) + bool(spec.labels))
        except (ValueError, WinnowError) as exc:
            row["problem"] = str(exc)
        out.append(row)
    return out


def delete_filter(ws: Workspace, name: str) -> None:
    path = filter_path(ws, name)
    if not path.exists():
        raise WinnowError(f"no saved filter named {name!r}")
    path.unlink()


# -- column metadata ---------------------------------------------------------------------------
def split_column(column: str) -> tuple[str, str]:
    """`gopher_quality__n_words` -> ("gopher_quality", "n_words"); a key may itself hold `__` (dsir__wiki)."""
    if "__" not in column:
        raise WinnowError(f"{column!r} is not a score column (expected <signal>__<column>)")
    key, name = column.rsplit("__", 1)
    return key, name


def declared_column(column: str):
    """The signal's Column declaration for a `scores` column, or None (unknown signal, the map)."""
    from core.signals import load_all

    key, name = split_column(column)
    cls = load_all().get(key.split("__")[0])
    if cls is None:
        return None
    try:
        return cls.column(name)
    except KeyError:
        return None


def reason_name(column: str) -> str:
    key, name = split_column(column)
    col = declared_column(column)
    return f"{key}.{col.rule if col is not None and col.rule else name}"


_CACHE: weakref.WeakKeyDictionary[Store, dict[str, Any]] = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def _cached(store: Store, what: str, build):
    """A per-store cache of figures that change only when the store's files change."""
    with _CACHE_LOCK:
        entry = _CACHE.get(store)
        if entry is None or entry["signature"] != store.signature:
            entry = {"signature": store.signature}
            _CACHE[store] = entry
    if what not in entry:
        entry[what] = build()
    return entry[what]


def score_types(store: Store) -> dict[str, str]:
    """scores column -> DuckDB type name."""
    return _cached(store, "types", lambda: {r[0]: r[1] for r in store.con.cursor().execute("DESCRIBE scores").fetchall()})


def _check_columns(store: Store, spec: FilterSpec) -> None:
    types = score_types(store)
    missing = [c for c in spec.columns() if c not in types]
    if missing:
        keys = sorted({split_column(c)[0] for c in missing})
        raise WinnowError(
            f"this filter uses score column(s) {', '.join(missing)}, which this workspace has not computed: "
            f"run `python -m core score --workspace W {' '.join(k.split('__')[0] for k in keys)}`"
        )
    for c in spec.thresholds:
        if types[c].upper() not in NUMERIC_TYPES:
            raise WinnowError(f"{c} is {types[c]}, not a number: it cannot have a threshold")
    for c in spec.rules:
        if types[c].upper() != "BOOLEAN":
            raise WinnowError(f"{c} is {types[c]}, not true/false: it cannot be a rule")


# -- conditions and the one query behind each question -------------------------------------------
@dataclass
class Condition:
    reason: str
    fail: str  # SQL: true when the document fails (never null)
    columns: list[str] = field(default_factory=list)
    # the same test on numbers: (column, min, max) ranges and (column, required) booleans; None for source/label
    tests: list[tuple] | None = None


def _num(v: float) -> str:
    return repr(float(v))


def _order_key(store: Store, column: str) -> tuple[int, int, int]:
    """Check order: the heuristic signals in FineWeb's pipeline order (PIPELINE_ORDER), then the other
    signals in `scores` order; within one signal, the order its columns declare their rules."""
    cols = store.score_columns
    key, name = split_column(column)
    if key in PIPELINE_ORDER:
        sig_pos = PIPELINE_ORDER.index(key)
    else:
        sig_pos = len(PIPELINE_ORDER) + next((i for i, c in enumerate(cols) if c.startswith(key + "__")), len(cols))
    decl = declared_column(column)
    if decl is not None:
        from core.signals import load_all

        declared = load_all()[key.split("__")[0]].columns
        rule = decl.rule
        pos = next((i for i, c in enumerate(declared) if (rule and c.rule == rule) or c.name == name), 0)
        return sig_pos, pos, 0
    return sig_pos, cols.index(column) if column in cols else len(cols), 1


def conditions(store: Store, spec: FilterSpec) -> list[Condition]:
    """The filter's conditions in check order; columns that decide the same rule form one condition."""
    _check_columns(store, spec)
    out: list[Condition] = []
    if spec.sources:
        vals = ", ".join(sql_str(s) for s in spec.sources)
        out.append(Condition("source", f"(f.source IS NULL OR f.source NOT IN ({vals}))"))
    if spec.labels:
        vals = ", ".join(sql_str(s) for s in spec.labels)
        out.append(Condition("label", f"(f.label IS NULL OR f.label NOT IN ({vals}))"))
    parts: dict[str, list[tuple[tuple, str, str, tuple]]] = {}
    for col, rng in spec.thresholds.items():
        tests = ([f"s.{ident(col)} < {_num(rng.min)}"] if rng.min is not None else []) + \
                ([f"s.{ident(col)} > {_num(rng.max)}"] if rng.max is not None else [])
        parts.setdefault(reason_name(col), []).append(
            (_order_key(store, col), col, f"coalesce({' OR '.join(tests)}, false)", (col, rng.min, rng.max)))
    for col, required in spec.rules.items():
        parts.setdefault(reason_name(col), []).append(
            (_order_key(store, col), col, f"coalesce(s.{ident(col)} <> {'true' if required else 'false'}, false)",
             (col, bool(required))))
    for reason, items in sorted(parts.items(), key=lambda kv: min(i[0] for i in kv[1])):
        out.append(Condition(reason, "(" + " OR ".join(i[2] for i in items) + ")", [i[1] for i in items],
                             [i[3] for i in items]))
    return out


def _drop_stale(cur, prefix: str, keep: str) -> None:
    """Drop the helper tables built for files that have changed since."""
    for (name,) in cur.execute("SELECT table_name FROM duckdb_tables() WHERE starts_with(table_name, ?)",
                               [prefix]).fetchall():
        if name != keep and not (prefix == "filter_facets_" and name.startswith("filter_facets_pos_")):
            cur.execute(f"DROP TABLE IF EXISTS {ident(name)}")


def _facets(store: Store) -> str:
    """An in-memory (id, source, label) table, so source/label filters scan no Parquet."""

    def build() -> str:
        name = f"filter_facets_{abs(hash(store.signature)) % 10**12}"
        cur = store.con.cursor()
        try:
            _drop_stale(cur, "filter_facets_", name)
            cur.execute(f"CREATE TABLE IF NOT EXISTS {name} AS SELECT id, source, label FROM docs")
        finally:
            cur.close()
        return name

    return _cached(store, "facets", build)


def _base(store: Store, spec: FilterSpec, ids: list[str] | None) -> str:
    """FROM clause: `scores s`, joined to the facets when needed, restricted to `sel_ids` when given."""
    sql = "scores s"
    if spec.sources or spec.labels:
        sql += f" JOIN {_facets(store)} f ON f.id = s.id"
    if ids is not None:
        sql += " SEMI JOIN sel_ids ON sel_ids.id = s.id"
    return sql


def _run(store: Store, query: str, ids: list[str] | None) -> pd.DataFrame:
    cur = store.cursor()
    try:
        if ids is not None:
            cur.register("sel_ids", pa.table({"id": pa.array([str(i) for i in ids], pa.string())}))
        return cur.execute(query).df()
    finally:
        cur.close()


def _kept_sql(conds: list[Condition]) -> str:
    return "NOT (" + " OR ".join(c.fail for c in conds) + ")" if conds else "true"


@dataclass
class Evaluation:
    total: int  # documents considered (all, or the map selection)
    kept: int
    first: dict[str, int]  # reason -> documents whose first failing condition it is (check order)
    failing: dict[str, int]  # reason -> documents failing it, whatever else they fail

    @property
    def dropped(self) -> int:
        return self.total - self.kept

    @property
    def kept_share(self) -> float:
        return self.kept / self.total if self.total else 0.0

    def reasons_frame(self) -> pd.DataFrame:
        """reason, first (count), failing (count), in check order."""
        return pd.DataFrame({"reason": list(self.failing), "first": [self.first[r] for r in self.failing],
                             "failing": list(self.failing.values())})


def evaluate_sql(store: Store, spec: FilterSpec, ids: list[str] | None = None) -> Evaluation:
    """Kept count, first failing reason and every failing reason, in one query (no cache; the reference)."""
    conds = conditions(store, spec)
    flags = ", ".join(f"{c.fail} AS f{i}" for i, c in enumerate(conds))
    fs = [f"f{i}" for i in range(len(conds))]
    aggs = ["count(*) AS n"]
    aggs.append(f"count_if(NOT ({' OR '.join(fs)})) AS kept" if fs else "count(*) AS kept")
    first = "CASE " + " ".join(f"WHEN {f} THEN {i}" for i, f in enumerate(fs)) + " END" if fs else "NULL"
    aggs += [f"count_if({f}) AS a{i}" for i, f in enumerate(fs)]
    aggs += [f"count_if(first = {i}) AS b{i}" for i in range(len(fs))]
    inner = f"SELECT {flags + ', ' if flags else ''}{first} AS first FROM {_base(store, spec, ids)}"
    row = _run(store, f"SELECT {', '.join(aggs)} FROM ({inner})", ids).iloc[0].fillna(0)  # no rows: nulls
    return Evaluation(
        total=int(row["n"]), kept=int(row["kept"]),
        first={c.reason: int(row[f"b{i}"]) for i, c in enumerate(conds)},
        failing={c.reason: int(row[f"a{i}"]) for i, c in enumerate(conds)},
    )


# -- the live engine: per-row flags cached, so a slider move queries one condition -----------------
class _Live:
    """Per (store files, universe): per-row arrays in `scores` row order, computed by DuckDB and cached.

    `flags[sql]` is the fail flag of one condition for every row (packed bits, with its count); a slider move changes one condition,
    so it costs one DuckDB query over one column plus a few vector operations. `bins[...]` are the
    histogram bar of every row for one column (0: null), binned by DuckDB once.
    """

    MAX_FLAGS = 96

    def __init__(self, rows: int, universe: np.ndarray | None) -> None:
        self.rows = rows
        self.universe = None if universe is None else _pack(universe)  # bits per row, or None for every row
        self.universe_mask = universe  # the same as one bool per row
        self.flags: OrderedDict[str, tuple[np.ndarray, int]] = OrderedDict()
        self.bins: dict[tuple, np.ndarray] = {}
        self.all_counts: dict[tuple, np.ndarray] = {}
        self.kept: OrderedDict[tuple[str, ...], tuple] = OrderedDict()
        self.lock = threading.Lock()


def _aligned_facets(store: Store) -> str:
    """(id, source, label) in `scores` row order, for POSITIONAL JOIN with scores."""

    def build() -> str:
        name = f"filter_facets_pos_{abs(hash(store.signature)) % 10**12}"
        cur = store.con.cursor()
        try:
            _drop_stale(cur, "filter_facets_pos_", name)
            cur.execute(f"CREATE TABLE IF NOT EXISTS {name} AS SELECT s.id, d.source, d.label FROM "
                        "(SELECT id, row_number() OVER () AS rn FROM scores) s "
                        "LEFT JOIN (SELECT id, source, label FROM docs) d ON d.id = s.id ORDER BY s.rn")
        finally:
            cur.close()
        return name

    return _cached(store, "facets_pos", build)


def _row_ids(store: Store) -> pd.Index:
    return _cached(store, "row_ids", lambda: pd.Index(_run(store, "SELECT id FROM scores", None)["id"].astype(str)))


def _live(store: Store, ids: list[str] | None) -> _Live:
    lives = _cached(store, "live", dict)
    key = "all" if ids is None else hashlib.sha1("\n".join(map(str, ids)).encode()).hexdigest()
    live = lives.get(key)
    if live is None:
        if ids is None:  # every row: only the count is needed (reading a million ids takes a while)
            fresh = _Live(int(store.scalar("SELECT count(*) FROM scores") or 0), None)
        else:
            row_ids = _row_ids(store)
            fresh = _Live(len(row_ids), np.asarray(row_ids.isin(pd.Index([str(i) for i in ids]))))
        with _CACHE_LOCK:
            live = lives.setdefault(key, fresh)
            while len(lives) > 5:  # all documents and a few recent map selections
                lives.pop(next(k for k in lives if k != "all"))
    return live


def _column_arrays(store: Store, exprs: list[str], uses_facets: bool) -> list[np.ndarray]:
    """Evaluate expressions for every `scores` row, in row order, in one query."""
    frm = f"scores s POSITIONAL JOIN {_aligned_facets(store)} f" if uses_facets else "scores s"
    cur = store.cursor()
    try:
        got = cur.execute(f"SELECT {', '.join(f'{e} AS x{i}' for i, e in enumerate(exprs))} FROM {frm}").fetchnumpy()
    finally:
        cur.close()
    return [np.asarray(got[f"x{i}"]) for i in range(len(exprs))]


def _pack(mask: np.ndarray) -> np.ndarray:
    """A bool per row -> bits in uint64 words (zero padding), so a pass over a million rows is ~16k words."""
    packed = np.packbits(mask.astype(bool, copy=False))
    pad = (-len(packed)) % 8
    if pad:
        packed = np.concatenate([packed, np.zeros(pad, dtype=np.uint8)])
    return packed.view(np.uint64)


def _bits(words: np.ndarray) -> int:
    return int(np.bitwise_count(words).sum())


def _unpack(words: np.ndarray, n: int) -> np.ndarray:
    return np.unpackbits(words.view(np.uint8), count=n).view(bool)


def _values(store: Store, columns: list[str]) -> dict[str, np.ndarray]:
    """Every row's value of these score columns as float64 (NaN: null; booleans 1.0/0.0), cached.

    Read from DuckDB once per column (one query for the columns not cached yet); after that a
    threshold on the column is a vector comparison, with no query at all.
    """
    cache = _cached(store, "values", dict)
    todo = [c for c in columns if c not in cache]
    if todo:
        exprs = [f"coalesce(s.{ident(c)}::DOUBLE, 'NaN'::DOUBLE)" for c in todo]  # a null must stay a null
        for c, arr in zip(todo, _column_arrays(store, exprs, False), strict=True):
            cache[c] = np.asarray(arr, dtype=np.float64)
    return {c: cache[c] for c in columns}


def _numeric_fail(values: dict[str, np.ndarray], tests: list[tuple], rows: int) -> np.ndarray:
    """The fail flag of one condition from cached values: outside a range, or not the required boolean.
    NaN (a null) compares false both ways, so a null passes, as in the SQL."""
    fail = np.zeros(rows, dtype=bool)
    with np.errstate(invalid="ignore"):
        for t in tests:
            v = values[t[0]]
            if len(t) == 3:
                if t[1] is not None:
                    fail |= v < t[1]
                if t[2] is not None:
                    fail |= v > t[2]
            else:
                fail |= v == (0.0 if t[1] else 1.0)
    return fail


def _flags(store: Store, live: _Live, conds: list[Condition]) -> list[tuple[np.ndarray, int]]:
    """(packed fail bits, failing count within the universe) per condition, cached.

    Score conditions are vector comparisons over cached column values (a slider move reads nothing);
    source and label conditions are one DuckDB query for those missing."""
    with live.lock:
        missing = [c for c in conds if c.fail not in live.flags]
        if missing:
            numeric = [c for c in missing if c.tests is not None]
            other = [c for c in missing if c.tests is None]
            values = _values(store, sorted({t[0] for c in numeric for t in c.tests}))
            arrays = [_numeric_fail(values, c.tests, live.rows) for c in numeric]
            if other:
                arrays += _column_arrays(store, [c.fail for c in other], True)
            for c, arr in zip(numeric + other, arrays, strict=True):
                bits = _pack(arr)
                count = _bits(bits if live.universe is None else bits & live.universe)
                live.flags[c.fail] = (bits, count)
        out = []
        for c in conds:
            live.flags.move_to_end(c.fail)
            out.append(live.flags[c.fail])
        while len(live.flags) > max(live.MAX_FLAGS, len(conds)):
            live.flags.popitem(last=False)
        return out


def _kept_mask(store: Store, live: _Live, conds: list[Condition]) -> tuple[np.ndarray, dict[str, int], dict[str, int]]:
    """(kept bits, first failing counts, failing counts), from the cached flags: a few bit operations each."""
    key = tuple(c.fail for c in conds)
    with live.lock:
        if key in live.kept:
            live.kept.move_to_end(key)
            mask, first, failing = live.kept[key]
            return mask, dict(first), dict(failing)
    flags = _flags(store, live, conds)
    remaining = live.universe.copy() if live.universe is not None else _pack(np.ones(live.rows, dtype=bool))
    first, failing = {}, {}
    before = _bits(remaining)
    for c, (f, count) in zip(conds, flags, strict=True):
        failing[c.reason] = count
        remaining &= ~f
        after = _bits(remaining)
        first[c.reason] = before - after
        before = after
    with live.lock:
        live.kept[key] = (remaining, first, failing)
        while len(live.kept) > 4:
            live.kept.popitem(last=False)
    return remaining, dict(first), dict(failing)


def evaluate(store: Store, spec: FilterSpec, ids: list[str] | None = None) -> Evaluation:
    """Kept count, first failing reason and every failing reason (what the page shows on every move).

    Column values are read by DuckDB once and cached; each condition's per-row result is cached as
    bits, so moving one slider recomputes one comparison and counts bits. `evaluate_sql` gives the
    same answer in one query without the cache (the tests hold them equal).
    """
    conds = conditions(store, spec)
    live = _live(store, ids)
    total = live.rows if live.universe is None else _bits(live.universe)
    kept, first, failing = _kept_mask(store, live, conds)
    return Evaluation(total=total, kept=_bits(kept), first=first, failing=failing)


def kept_ids(store: Store, spec: FilterSpec, ids: list[str] | None = None) -> list[str]:
    """The ids a filter keeps (within `ids` when given), in `scores` order. Selections call this."""
    live = _live(store, ids)
    kept = _unpack(_kept_mask(store, live, conditions(store, spec))[0], live.rows)
    return _row_ids(store)[kept].tolist()


def kept_ids_sql(store: Store, spec: FilterSpec, ids: list[str] | None = None) -> list[str]:
    """The same as kept_ids, in one query without the cache (the reference)."""
    conds = conditions(store, spec)
    df = _run(store, f"SELECT s.id FROM {_base(store, spec, ids)} WHERE {_kept_sql(conds)}", ids)
    return df["id"].astype(str).tolist()


def apply_saved(ws: Workspace, store: Store, name: str, ids: list[str] | None = None) -> list[str]:
    """The ids the saved filter `name` keeps."""
    return kept_ids(store, load_filter(ws, name), ids)


# -- histograms --------------------------------------------------------------------------------
@dataclass
class ColumnStats:
    column: str
    is_int: bool
    count: int  # non-null values
    min: float | None
    max: float | None
    hist_lo: float | None  # histogram range: [min, 99.5th percentile] (values above go to the last bar)
    hist_hi: float | None
    grid: list[float]  # slider positions: percentiles 0..100 of the column

    @property
    def clipped(self) -> bool:
        return self.hist_hi is not None and self.max is not None and self.hist_hi < self.max


def column_stats(store: Store, columns: list[str]) -> dict[str, ColumnStats]:
    """Range, histogram range and percentile grid per numeric column (whole corpus; cached until files change)."""
    cache = _cached(store, "stats", dict)
    todo = [c for c in columns if c not in cache]
    if todo:
        types = score_types(store)
        unknown = [c for c in todo if c not in types]
        if unknown:
            raise WinnowError(f"no score column {', '.join(unknown)} in this workspace")
        # computed once per state of each signal's file (a new signal leaves the others' alone), and kept
        # in the workspace's .cache for a large corpus
        by_source: dict[str, list[str]] = {}
        for c in todo:
            by_source.setdefault(split_column(c)[0], []).append(c)
        for source, cols in by_source.items():
            name = "colstats_" + hashlib.sha1("\n".join(cols).encode()).hexdigest()[:12]
            got = store.memo(name, lambda cols=cols: {c: asdict(v) for c, v in _compute_stats(store, cols, types).items()},
                             on=source, persist="json")
            cache.update({c: ColumnStats(**got[c]) for c in cols})
    return {c: cache[c] for c in columns}


def _compute_stats(store: Store, todo: list[str], types: dict[str, str]) -> dict[str, ColumnStats]:
    cache: dict[str, ColumnStats] = {}
    if todo:
        exact = []
        for i, c in enumerate(todo):
            q = f"s.{ident(c)}::DOUBLE"
            exact.append(f"count({q}) AS n{i}, min({q}) AS lo{i}, max({q}) AS hi{i}")
        row = _run(store, f"SELECT {', '.join(exact)} FROM scores s", None).iloc[0]
        # percentiles from a fixed sample when the corpus is large: slider steps need not be exact
        rows = store.scalar("SELECT count(*) FROM scores")
        cols = ", ".join(ident(c) for c in todo)
        src = ("scores s" if rows <= STATS_SAMPLE else  # vector-sized blocks: fast, and plenty for 1% steps
               f"(SELECT {cols} FROM scores USING SAMPLE {100 * STATS_SAMPLE / rows:.4f}% (system, 42)) s")
        row = pd.concat([row, pd.Series(_quantiles(store, todo, src))])
        for i, c in enumerate(todo):
            n = int(row[f"n{i}"])
            is_int = types[c].upper() in NUMERIC_TYPES[:8]
            if not n:
                cache[c] = ColumnStats(c, is_int, 0, None, None, None, None, [])
                continue
            lo, hi, p995 = float(row[f"lo{i}"]), float(row[f"hi{i}"]), float(row[f"p{i}"])
            grid = sorted({float(v) for v in (row[f"g{i}"] if row[f"g{i}"] is not None else [])
                           if v is not None and math.isfinite(v)} | {lo, hi})
            p995 = p995 if math.isfinite(p995) else hi
            hist_hi = p995 if (hi - lo) > 0 and (p995 - lo) < 0.5 * (hi - lo) else hi
            cache[c] = ColumnStats(c, is_int, n, lo, hi, lo, hist_hi, grid)
    return cache


def _quantiles(store: Store, columns: list[str], src: str) -> dict[str, Any]:
    """p{i}: the 99.5th percentile (DuckDB's quantile_cont) and g{i}: the percentiles 0..100 (quantile_disc:
    the value at index ceil(n*q) - 1 of the sorted non-null values) of each column over `src`, by one sort per
    column in numpy (DuckDB's quantile aggregates took ~5x longer on 35 columns)."""
    cur = store.cursor()
    try:
        exprs = ", ".join(f"coalesce(s.{ident(c)}::DOUBLE, 'NaN'::DOUBLE) AS x{i}" for i, c in enumerate(columns))
        got = cur.execute(f"SELECT {exprs} FROM {src}").fetchnumpy()
    finally:
        cur.close()
    steps = np.arange(GRID_STEPS + 1, dtype=np.int64)
    out: dict[str, Any] = {}
    for i in range(len(columns)):
        v = np.sort(np.asarray(got[f"x{i}"], dtype=np.float64))
        v = v[~np.isnan(v)]
        if not len(v):
            out[f"p{i}"], out[f"g{i}"] = float("nan"), None
            continue
        out[f"p{i}"] = float(np.quantile(v, 0.995))
        # ceil(n * k / GRID_STEPS) - 1 in integers (DuckDB reads the percentiles as exact decimals)
        out[f"g{i}"] = v[np.maximum((len(v) * steps + GRID_STEPS - 1) // GRID_STEPS - 1, 0)].tolist()
    return out


def _bins(st: ColumnStats, bins: int) -> tuple[float, float, int]:
    """(start, width, count) of equal bins over the histogram range; whole numbers get whole-number bins."""
    lo, hi = st.hist_lo, st.hist_hi
    if st.is_int and hi - lo + 1 <= bins:
        return lo - 0.5, 1.0, int(hi - lo + 1)
    if hi <= lo:
        return lo - 0.5, 1.0, 1
    width = (hi - lo) / bins
    if st.is_int:
        width = max(1.0, math.ceil(width))
        return lo - 0.5, width, int(math.ceil((hi - lo + 1) / width))
    return lo, width, bins


def histograms(store: Store, spec: FilterSpec | None, columns: list[str], ids: list[str] | None = None,
               bins: int = 40) -> dict[str, pd.DataFrame]:
    """Per column: start, end, all (documents in the bar) and kept (of those, kept by the whole filter;
    omitted when spec is None).

    The bar of every row is computed in DuckDB (one query for the columns not seen before, cached);
    the counts are then per-bar sums over the documents considered and the kept ones. Values above
    the histogram range fall into the last bar.
    """
    if not columns:
        return {}
    stats = column_stats(store, columns)
    live = _live(store, ids)
    shape = {c: _bins(stats[c], bins) for c in columns if stats[c].count}
    keys = {c: (c, *shape[c]) for c in shape}
    with live.lock:
        todo = [c for c in shape if keys[c] not in live.bins]
    if todo:
        exprs = []
        for c in todo:
            start, width, n = shape[c]
            exprs.append(f"coalesce(least(greatest(floor((s.{ident(c)}::DOUBLE - {_num(start)}) / {_num(width)}), 0), "
                         f"{n - 1})::SMALLINT + 1, 0)")
        arrays = _column_arrays(store, exprs, False)
        with live.lock:
            for c, arr in zip(todo, arrays, strict=True):
                live.bins[keys[c]] = arr.astype(np.int16, copy=False)
    kept = None
    if spec is not None:
        kept = _unpack(_kept_mask(store, live, conditions(store, spec))[0], live.rows)
    out = {}
    for c in columns:
        if c not in shape:
            out[c] = pd.DataFrame(columns=["start", "end", "all"] + ([] if spec is None else ["kept"]))
            continue
        start, width, n = shape[c]
        b = live.bins[keys[c]]
        with live.lock:
            counts = live.all_counts.get(keys[c])
            if counts is None:
                counts = np.bincount(b if live.universe is None else b[live.universe_mask], minlength=n + 1)[1:]
                live.all_counts[keys[c]] = counts
        frame = pd.DataFrame({"start": [start + k * width for k in range(n)],
                              "end": [start + (k + 1) * width for k in range(n)], "all": counts.astype(int)})
        if kept is not None:
            frame["kept"] = np.bincount(b[kept], minlength=n + 1)[1:].astype(int)
        out[c] = frame
    return out


# -- dropped documents to read -------------------------------------------------------------------
def _show(store: Store, column: str) -> str:
    """SQL: a column's value as short text (4 significant digits for fractions)."""
    if score_types(store).get(column, "").upper() in ("DOUBLE", "FLOAT", "REAL"):
        return f"printf('%.4g', s.{ident(column)})"
    return f"s.{ident(column)}::VARCHAR"


def dropped_samples(store: Store, spec: FilterSpec, ids: list[str] | None = None, per_reason: int = 3,
                    by: Literal["first", "failing"] = "first", chars: int = SNIPPET_CHARS) -> pd.DataFrame:
    """A few dropped documents per reason: reason, id, source, value (what failed), text (the start).

    `by="first"`: grouped by the first failing reason; `"failing"`: every reason a document fails.
    The documents are drawn from the cached per-row flags with a generator seeded by the reason, so the
    same filter shows the same documents; then one query reads their values and text.
    """
    conds = conditions(store, spec)
    if not conds:
        return pd.DataFrame(columns=["reason", "id", "source", "value", "text"])
    live = _live(store, ids)
    flags = _flags(store, live, conds)
    remaining = live.universe.copy() if live.universe is not None else _pack(np.ones(live.rows, dtype=bool))
    row_ids = _row_ids(store)
    picks_r, picks_id = [], []
    for i, (c, (f, _)) in enumerate(zip(conds, flags, strict=True)):
        hits = remaining & f if by == "first" else (f if live.universe is None else f & live.universe)
        if by == "first":
            remaining &= ~f
        pos = np.flatnonzero(_unpack(hits, live.rows))
        if not len(pos):
            continue
        rng = np.random.default_rng(zlib.crc32(c.reason.encode()))
        chosen = np.sort(rng.choice(pos, size=min(int(per_reason), len(pos)), replace=False))
        picks_r += [i] * len(chosen)
        picks_id += row_ids[chosen].tolist()
    if not picks_id:
        return pd.DataFrame(columns=["reason", "id", "source", "value", "text"])
    values = []
    for i, c in enumerate(conds):
        if c.columns:
            shown = " || ', ' || ".join(f"'{split_column(col)[1]}=' || coalesce({_show(store, col)}, 'null')"
                                        for col in c.columns)
        else:
            shown = "coalesce(d.source, 'null')" if c.reason == "source" else "coalesce(d.label, 'null')"
        values.append(f"WHEN {i} THEN {shown}")
    in_list = ", ".join(sql_str(i) for i in set(picks_id))  # a literal list reaches the Parquet scan as a filter
    query = (
        f"SELECT p.n, p.r, p.id, d.source, CASE p.r {' '.join(values)} END AS value, left(d.text, {int(chars)}) AS text "
        "FROM picked p JOIN scores s ON s.id = p.id "
        f"JOIN (SELECT id, source, label, text FROM docs WHERE id IN ({in_list})) d ON d.id = p.id ORDER BY p.n"
    )
    cur = store.cursor()
    try:
        cur.register("picked", pa.table({"n": pa.array(range(len(picks_id)), pa.int64()),
                                         "r": pa.array(picks_r, pa.int64()), "id": pa.array(picks_id, pa.string())}))
        df = cur.execute(query).df()
    finally:
        cur.close()
    names = [c.reason for c in conds]
    df.insert(0, "reason", [names[int(r)] for r in df["r"]])
    return df.drop(columns=["n", "r"]).reset_index(drop=True)


# -- what the Scores page draws ------------------------------------------------------------------
@dataclass
class Slider:
    column: str  # scores column
    label: str
    description: str
    mode: Literal["min", "max", "range"]  # keep >= min, keep <= max, or keep within a range
    default: tuple[float | None, float | None]  # the published keep range (None: open)
    rule: str | None  # the reason it decides; None: a plain value (open by default)


@dataclass
class Toggle:
    column: str
    label: str
    description: str
    required: bool  # the value a kept document has
    default: bool  # applied by default
    rule: str | None


@dataclass
class SignalControls:
    key: str
    description: str
    sliders: list[Slider]
    toggles: list[Toggle]  # rules without a numeric value, and flags
    rules: list[str]  # rule names in check order (each is decided by a slider or a toggle)
    stale: bool  # computed before the documents changed
    known: bool  # the signal is in the registry (else its columns were guessed from their types)


def filter_controls(ws: Workspace, store: Store) -> list[SignalControls]:
    """Per computed signal: the sliders and toggles to draw, with the published defaults it ran with."""
    from core.signals import load_all
    from core.signals.runner import read_sidecar

    registry = load_all()
    types = score_types(store)
    keys: list[str] = []
    for c in store.score_columns:
        key = split_column(c)[0]
        if key != "map" and key not in keys:
            keys.append(key)
    fingerprint = ws.fingerprint()
    out = []
    for key in keys:
        sidecar = read_sidecar(ws, key) or {}
        params = sidecar.get("params") or {}
        recorded = (sidecar.get("inputs") or {}).get("docs")
        stale = bool(sidecar) and recorded is not None and recorded != fingerprint and not ws.same_docs(recorded)
        cls = registry.get(key.split("__")[0])
        present = {split_column(c)[1]: c for c in store.score_columns if split_column(c)[0] == key}
        sliders, toggles, rules = [], [], []
        if cls is not None:
            valued_rules = {c.rule for c in cls.columns if c.kind == "value" and c.rule and c.dtype in ("int", "float")}
            for col in cls.columns:
                full = present.get(col.name)
                if full is None:
                    continue
                if col.rule and col.rule not in rules and col.kind in ("value", "rule"):
                    rules.append(col.rule)
                if col.kind == "value" and col.dtype in ("int", "float"):
                    lo = params.get(col.keep_min) if col.keep_min else None
                    hi = params.get(col.keep_max) if col.keep_max else None
                    if col.keep_min and col.keep_max:
                        mode = "range"
                    elif col.keep_min or col.better == "higher":
                        mode = "min"
                    elif col.keep_max or col.better == "lower":
                        mode = "max"
                    else:
                        mode = "range"
                    sliders.append(Slider(full, col.name, col.description, mode, (lo, hi), col.rule))
                elif col.kind == "rule" and col.rule not in valued_rules:
                    toggles.append(Toggle(full, col.rule or col.name, col.description, True, True, col.rule))
                elif col.kind == "flag" and col.dtype == "bool":
                    toggles.append(Toggle(full, col.name, col.description, col.better != "lower", False, None))
            out.append(SignalControls(key, cls.description, sliders, toggles, rules, stale, True))
        else:  # a signal file without a registered signal: numbers get sliders, booleans toggles
            for name, full in present.items():
                t = types.get(full, "").upper()
                if t in NUMERIC_TYPES:
                    sliders.append(Slider(full, name, "", "range", (None, None), None))
                elif t == "BOOLEAN":
                    toggles.append(Toggle(full, name, "", True, False, None))
            out.append(SignalControls(key, sidecar.get("description", ""), sliders, toggles, [], stale, False))
    return out


def default_spec(controls: list[SignalControls]) -> FilterSpec:
    """The filter at the published thresholds: every rule applied at the value the signal ran with."""
    thresholds, rules = {}, {}
    for sc in controls:
        for s in sc.sliders:
            if s.rule and (s.default[0] is not None or s.default[1] is not None):
                thresholds[s.column] = Range(min=s.default[0], max=s.default[1])
        for t in sc.toggles:
            if t.default:
                rules[t.column] = t.required
    return FilterSpec(thresholds=thresholds, rules=rules)
