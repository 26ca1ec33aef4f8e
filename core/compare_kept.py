"""Compare's figures kept per selection, so that a new set of selections opens without joining again.

Each figure the Compare page opens with is a table per selection set side by side: its size row, its
documents per cluster, one score's values, its documents drawn on the map. Each selection's part is kept
(`Store.memo`: in memory, and in the workspace's `.cache/` at scale) under a digest of its ids, so any
set of selections seen before opens from those parts. `prepare` computes what is missing for a set with
one join of the selections with `scores` and one with the documents, and saving a selection calls it for
the new selection and its random baseline, so that the Compare page finds them ready (at 1M documents
these joins are about 1 s of a first open, for a 430k-document selection and its baseline).

The tables equal those of core/compare.py's `sizes`, `coverage`, `score_values` and `map_points` for the
same subsets (tests/unit/test_compare_kept.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from core import compare as cmp
from core.compare import Subset

if TYPE_CHECKING:
    from core.store import Store

MAP_SAMPLE = 8_000  # a selection's documents drawn on its map panel, at most (by the smallest id hashes)


class _NotKept(Exception):
    pass


def _missing() -> None:
    raise _NotKept


def _name(kind: str, s: Subset) -> str:
    return f"cmpsel_{kind}_{s.digest()[:20]}"


def _lookup(store: Store, name: str, on: str) -> pd.DataFrame | None:
    try:
        return store.memo(name, _missing, on=on, persist="parquet")
    except _NotKept:
        return None


def _parts(store: Store, subsets: Sequence[Subset], kind: str, on: str,
           compute: Callable[[list[Subset]], list[pd.DataFrame]]) -> list[pd.DataFrame]:
    """Each subset's kept part of one figure; the missing ones computed together and kept."""
    got = [_lookup(store, _name(kind, s), on) for s in subsets]
    todo = [i for i, part in enumerate(got) if part is None]
    if todo:
        for i, part in zip(todo, compute([subsets[i] for i in todo]), strict=True):
            got[i] = store.memo(_name(kind, subsets[i]), lambda p=part: p, on=on, persist="parquet")
    return got


def _value_kind(column: str) -> str:
    return f"values_{hashlib.sha1(column.encode()).hexdigest()[:10]}"


def _map_kind(per_selection: int) -> str:
    return f"map_{int(per_selection)}"


def _one(rows: pa.Table) -> pa.Table:
    """One subset's rows of `member_rows`, numbered as subset 0."""
    return rows.set_column(rows.column_names.index("k"), "k", pa.array(np.zeros(rows.num_rows, np.int32)))


def _split(rows: pa.Table, n: int) -> list[pa.Table]:
    """`member_rows` of n subsets, one table per subset (the rows come in subset order)."""
    bounds = np.searchsorted(rows.column("k").to_numpy(), np.arange(n + 1))
    return [_one(rows.slice(int(bounds[j]), int(bounds[j + 1] - bounds[j]))) for j in range(n)]


def _coverage_part(store: Store, s: Subset, rows: pa.Table | None) -> pd.DataFrame:
    counts = cmp.coverage_counts(store, [s], rows)[0]
    return pd.DataFrame({"g": counts.index.astype(str), "n": counts.to_numpy(dtype=np.int64)})


def _value_part(store: Store, s: Subset, column: str, rows: pa.Table | None) -> pd.DataFrame:
    return cmp.score_values(store, [s], column, rows=rows)[["value"]]


def _map_part(store: Store, s: Subset, per_selection: int, rows: pa.Table | None) -> pd.DataFrame:
    return cmp.map_points(store, [s], per_selection=per_selection, rows=rows).drop(columns="selection")


def _row_parts(store: Store, column: str | None,
               per_selection: int) -> list[tuple[str, str, Callable[[Subset, pa.Table], pd.DataFrame]]]:
    """(kind, memo state, build from the subset's `member_rows`) of the parts taken from the join with `scores`."""
    parts = [("coverage", "scores", lambda s, rows: _coverage_part(store, s, rows))]
    if column:
        parts.append((_value_kind(column), "scores", lambda s, rows: _value_part(store, s, column, rows)))
    if "map__x" in store.score_columns:
        parts.append((_map_kind(per_selection), "map", lambda s, rows: _map_part(store, s, per_selection, rows)))
    return parts


def prepare(store: Store, subsets: Sequence[Subset], column: str | None = None,
            per_selection: int = MAP_SAMPLE) -> None:
    """Compute and keep every part the Compare page opens with that is not kept yet: sizes, coverage,
    `column`'s values and the map points, from one join with the documents and one with `scores`."""
    _size_parts(store, subsets)
    parts = _row_parts(store, column, per_selection)
    todo = [(s, [p for p in parts if _lookup(store, _name(p[0], s), p[1]) is None]) for s in subsets]
    todo = [(s, missing) for s, missing in todo if missing]
    if not todo:
        return
    columns = [c for c in cmp.MAP_COLUMNS if c in store.score_columns] + ([column] if column else [])
    joined = _split(cmp.member_rows(store, [s for s, _ in todo], columns), len(todo))
    for (s, missing), rows in zip(todo, joined, strict=True):
        for kind, on, build in missing:
            store.memo(_name(kind, s), lambda b=build, s=s, r=rows: b(s, r), on=on, persist="parquet")


# -- the figures, put together from the parts -----------------------------------------------------
def _size_parts(store: Store, subsets: Sequence[Subset]) -> list[pd.DataFrame]:
    return _parts(store, subsets, "sizes", "docs", lambda todo: [pd.DataFrame([r]) for r in cmp.size_rows(store, todo)])


def sizes(store: Store, subsets: Sequence[Subset]) -> pd.DataFrame:
    parts = _size_parts(store, subsets)
    return cmp.size_table([s.name for s in subsets], [p.iloc[0].to_dict() for p in parts])


def coverage(store: Store, subsets: Sequence[Subset]) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    parts = _parts(store, subsets, "coverage", "scores",
                   lambda todo: [_coverage_part(store, s, None) for s in todo])
    groups = store.memo("cmp_groups", lambda: pd.DataFrame({"g": cmp.all_groups(store)}), persist="parquet")
    counts = [pd.Series(p["n"].to_numpy(), index=p["g"].astype(str).to_numpy()) for p in parts]
    per_cluster, summary = cmp.coverage_tables(groups["g"].astype(str).tolist(), counts, subsets)
    return per_cluster, summary, cmp.group_kind(store)


def score_values(store: Store, subsets: Sequence[Subset], column: str) -> pd.DataFrame:
    def compute(todo: list[Subset]) -> list[pd.DataFrame]:
        rows = _split(cmp.member_rows(store, todo, [column]), len(todo))
        return [_value_part(store, s, column, r) for s, r in zip(todo, rows, strict=True)]

    parts = _parts(store, subsets, _value_kind(column), "scores", compute)
    codes = np.concatenate([np.full(len(p), k, dtype=np.int64) for k, p in enumerate(parts)])
    return pd.DataFrame({"selection": pd.Categorical.from_codes(codes, categories=[s.name for s in subsets]),
                         "value": np.concatenate([p["value"].to_numpy(dtype=float) for p in parts])})


def map_points(store: Store, subsets: Sequence[Subset], per_selection: int = MAP_SAMPLE) -> pd.DataFrame:
    if "map__x" not in store.score_columns:
        return cmp.map_points(store, subsets, per_selection=per_selection)

    def compute(todo: list[Subset]) -> list[pd.DataFrame]:
        rows = _split(cmp.member_rows(store, todo, cmp.MAP_COLUMNS), len(todo))
        return [_map_part(store, s, per_selection, r) for s, r in zip(todo, rows, strict=True)]

    parts = _parts(store, subsets, _map_kind(per_selection), "map", compute)
    codes = np.concatenate([np.full(len(p), k, dtype=np.int64) for k, p in enumerate(parts)])
    out = pd.concat(parts, ignore_index=True)
    out.insert(4, "selection", pd.Categorical.from_codes(codes, categories=[s.name for s in subsets]))
    return out
