"""Selections: run a recipe (core/recipe.py) over the workspace and keep its result.

`run_recipe` builds the pool (the documents passing every filter, in workspace order), runs the
strategy (core/strategies.py), applies the order, and returns DataFrame(id, rank, epoch); the same
seed always gives the same result. `save_selection` writes

- `selections/<name>.json`: {"name", "recipe", "created", "count", "unique", "tokens", "pool", ...}
- `selections/<name>.parquet`: id, rank (0-based output order), epoch (0 unless rs2).

"Tokens" are whitespace words (`n_words`), the count Overview shows.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core.errors import WinnowError
from core.progress import Progress, no_progress
from core.recipe import Filters, Recipe, validate_recipe
from core.scorecols import column_values, resolve_score
from core.strategies import STRATEGY_FUNCS, Pick, apply_order
from core.workspace import Workspace, read_json, safe_name, write_json, write_parquet

if TYPE_CHECKING:
    from core.store import Store


# -- the pool ------------------------------------------------------------------------------------
def _all_docs(store: Store) -> pd.DataFrame:
    # through Arrow: pandas builds its string columns from Arrow buffers ~5x faster than from DuckDB's objects
    df = store.arrow("SELECT id, n_words, source, label FROM docs").to_pandas()
    df["id"] = df["id"].astype(str)
    return df


def saved_filter_ids(ws: Workspace, store: Store, name: str) -> set[str]:
    """The ids a saved filter (filters/<name>.json, made on the Scores page) keeps."""
    from core.filters import apply_saved

    return set(apply_saved(ws, store, name))


def build_pool(ws: Workspace, store: Store, filters: Filters) -> pd.DataFrame:
    """The documents passing every filter (AND), in workspace order: id, n_words, source, label."""
    df = _all_docs(store)
    mask = np.ones(len(df), dtype=bool)
    if filters.sources:
        known = set(df["source"].dropna().astype(str))
        unknown = [s for s in filters.sources if s not in known]
        if unknown:
            raise WinnowError(f"filters.sources: no source {', '.join(map(repr, unknown))} in this workspace "
                              f"(sources: {', '.join(sorted(known)) or 'none'})")
        mask &= df["source"].isin(filters.sources).to_numpy(dtype=bool)
    if filters.labels:
        mask &= df["label"].astype("string").isin(filters.labels).fillna(False).to_numpy(dtype=bool)
    if filters.ids is not None:
        mask &= df["id"].isin(set(map(str, filters.ids))).to_numpy(dtype=bool)
    if filters.clusters:
        if "map__cluster" not in store.score_columns:
            raise WinnowError("filters.clusters needs a map: build one on the Map page or with `python -m core map`")
        clusters = column_values(store, "map__cluster", df["id"].to_numpy()).astype("string")
        mask &= clusters.isin(filters.clusters).fillna(False).to_numpy(dtype=bool)
    if filters.scores or filters.rules:
        from core.filters import FilterSpec, kept_ids

        spec = FilterSpec(thresholds={resolve_score(store, ref): r.model_dump() for ref, r in filters.scores.items()},
                          rules={resolve_score(store, ref): v for ref, v in filters.rules.items()})
        mask &= df["id"].isin(set(kept_ids(store, spec))).to_numpy(dtype=bool)
    for name in filters.saved:
        mask &= df["id"].isin(saved_filter_ids(ws, store, name)).to_numpy(dtype=bool)
    return df[mask].reset_index(drop=True)


# -- running a recipe ------------------------------------------------------------------------------
@dataclass
class Selection:
    """A recipe's result: rows (id, rank, epoch) in output order, and the pool it was drawn from."""

    recipe: Recipe
    rows: pd.DataFrame
    pool_size: int


def run_recipe(ws: Workspace, recipe: dict[str, Any] | Recipe, store: Store | None = None,
               progress: Progress = no_progress) -> Selection:
    """The selection a recipe makes. The same recipe (and seed) over the same files gives the same rows."""
    recipe = validate_recipe(recipe)
    if store is None:
        from core.store import Store

        store = Store(ws)
    pool = build_pool(ws, store, recipe.filters)
    pick = Pick(ws, store, recipe, pool, np.random.default_rng(recipe.seed), progress)
    if len(pool) == 0:
        positions, epochs = np.zeros(0, dtype=np.int64), None
    else:
        positions, epochs = STRATEGY_FUNCS[recipe.strategy](pick)
        positions, epochs = apply_order(pick, np.asarray(positions, dtype=np.int64), epochs)
    rows = pd.DataFrame({
        "id": pd.Series(pick.ids[positions], dtype=object).astype(str),
        "rank": np.arange(len(positions), dtype=np.int64),
        "epoch": np.zeros(len(positions), dtype=np.int64) if epochs is None else np.asarray(epochs, dtype=np.int64),
    })
    return Selection(recipe, rows, len(pool))


def selection_stats(store: Store, rows: pd.DataFrame) -> dict[str, int]:
    """count (rows; RS2 counts every epoch), unique documents, tokens (words) and epochs of a result."""
    cur = store.cursor()
    try:  # words of every row (an id repeated across RS2 epochs counts each time), summed in DuckDB
        cur.register("_rows", pa.table({"id": pa.array(rows["id"].astype(str).tolist(), pa.string())}))
        words = cur.execute("SELECT sum(d.n_words) FROM _rows r JOIN (SELECT id, n_words FROM docs) d "
                            "USING (id)").fetchone()[0]
    finally:
        cur.close()
    return {
        "count": int(len(rows)),
        "unique": int(rows["id"].nunique()),
        "tokens": int(words or 0),
        "epochs": int(rows["epoch"].max() + 1) if len(rows) else 0,
    }


_HASH_MOD = 1_000_003


def preview_map_points(store: Store, ids: pd.Series | list[str], limit: int = 80_000,
                       picked_min: int = 5_000) -> tuple[pd.DataFrame, int, int]:
    """Map points to draw for a selection preview: (DataFrame(id, x, y, picked), selected on the map, others).

    About `limit` points at most: above that the selected and the other documents are sampled at the same
    rate (so the picture keeps the selected share), except that a small selection is drawn whole (up to
    `picked_min`). The sample is a fixed pseudo-random one (a hash of the id under the share), so its size
    is the share's only on average; computed in DuckDB, so a million-point map never reaches pandas."""
    cur = store.cursor()
    try:
        cur.register("_picked", pa.table({"id": pa.array(pd.Series(ids).astype(str).tolist(), pa.string())}))
        n_picked, n_total = cur.execute(
            'SELECT count(p.id), count(*) FROM scores t LEFT JOIN (SELECT DISTINCT id FROM _picked) p USING (id) '
            'WHERE t."map__x" IS NOT NULL').fetchone()
        rate = min(1.0, limit / max(1, n_total))
        keep_picked = max(round(rate * n_picked), min(n_picked, picked_min))
        keep_other = round(rate * (n_total - n_picked))
        # each row is kept when a hash of its id falls under its group's share (one pass, no sort)
        cut_picked, cut_other = (_HASH_MOD if keep >= n else math.ceil(keep / n * _HASH_MOD) if n else 0
                                 for keep, n in ((keep_picked, n_picked), (keep_other, n_total - n_picked)))
        df = cur.execute(
            'SELECT id, x, y, picked FROM (SELECT t.id, t."map__x" AS x, t."map__y" AS y, p.id IS NOT NULL AS picked '
            'FROM scores t LEFT JOIN (SELECT DISTINCT id FROM _picked) p USING (id) WHERE t."map__x" IS NOT NULL) '
            f"WHERE hash(id) % {_HASH_MOD} < CASE WHEN picked THEN ? ELSE ? END ORDER BY picked, hash(id), id",
            [cut_picked, cut_other]).df()
    finally:
        cur.close()
    df["id"] = df["id"].astype(str)
    return df, int(n_picked), int(n_total - n_picked)


def recipe_for_display(recipe: dict[str, Any] | None, max_ids: int = 20) -> dict[str, Any]:
    """A recipe to show on a page: a long id list (a map selection) is written as "<N ids>" (a lasso on a
    million-point map can hold hundreds of thousands of ids, megabytes of JSON in the browser)."""
    recipe = dict(recipe or {})
    for holder in (recipe, recipe.get("filters")):
        if isinstance(holder, dict) and isinstance(holder.get("ids"), list) and len(holder["ids"]) > max_ids:
            copy = {**holder, "ids": f"<{len(holder['ids']):,} ids>"}
            if holder is recipe:
                recipe = copy
            else:
                recipe["filters"] = copy
    return recipe


# -- saved selections --------------------------------------------------------------------------------
def selection_paths(ws: Workspace, name: str) -> tuple[Path, Path]:
    name = safe_name(name, "selection name")
    return ws.dir("selections") / f"{name}.json", ws.dir("selections") / f"{name}.parquet"


def _write_rows(rows: pd.DataFrame, path: Path) -> None:
    write_parquet(pa.table({
        "id": pa.array(rows["id"].astype(str).tolist(), pa.string()),
        "rank": pa.array(rows["rank"].to_numpy(dtype=np.int64), pa.int64()),
        "epoch": pa.array(rows["epoch"].to_numpy(dtype=np.int64), pa.int64()),
    }), path)


def save_selection(ws: Workspace, name: str, recipe: dict[str, Any] | Recipe | Selection,
                   store: Store | None = None, overwrite: bool = True,
                   progress: Progress = no_progress) -> dict[str, Any]:
    """Run the recipe (or take a Selection already run) and write selections/<name>.json + .parquet."""
    started = time.monotonic()
    meta_path, rows_path = selection_paths(ws, name)
    if not overwrite and meta_path.exists():
        raise WinnowError(f"a selection named {name!r} already exists: pick another name")
    if store is None:
        from core.store import Store

        store = Store(ws)
    sel = recipe if isinstance(recipe, Selection) else run_recipe(ws, recipe, store, progress)
    if len(sel.rows) == 0:
        raise WinnowError("this recipe selects no documents: loosen the filters or raise the size")
    from core import __version__

    meta = {
        "name": safe_name(name, "selection name"),
        "recipe": sel.recipe.to_dict(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **selection_stats(store, sel.rows),
        "pool": sel.pool_size,
        "documents": store.count(),
        "workspace_fingerprint": ws.fingerprint(),
        "winnow_version": __version__,
        "seconds": round(time.monotonic() - started, 3),
    }
    _write_rows(sel.rows, rows_path)
    write_json(meta, meta_path)
    _prepare_compare(ws, store, meta["name"])
    return meta


def _prepare_compare(ws: Workspace, store: Store, name: str) -> None:
    """Keep the Compare page's figures of a new selection and its random baseline, so that comparing it is
    quick (core/compare_kept.py). A failure here only means the Compare page computes them itself."""
    from core import compare, compare_kept

    with contextlib.suppress(Exception):
        columns = compare.numeric_score_columns(store)
        compare_kept.prepare(store, compare.load_subsets(ws, store, [name]), columns[0] if columns else None)


def load_selection(ws: Workspace, name: str) -> tuple[dict[str, Any], pd.DataFrame]:
    """(metadata, DataFrame(id, rank, epoch) in rank order) of a saved selection."""
    meta_path, rows_path = selection_paths(ws, name)
    if not meta_path.exists() or not rows_path.exists():
        known = ", ".join(list_selections(ws)) or "none yet"
        raise WinnowError(f"no selection named {name!r} (selections: {known})")
    rows = pq.read_table(rows_path).to_pandas()
    rows["id"] = rows["id"].astype(str)
    return read_json(meta_path) or {}, rows.sort_values("rank", kind="stable").reset_index(drop=True)


def _rows_path(ws: Workspace, name: str) -> Path:
    _, rows_path = selection_paths(ws, name)
    if not rows_path.exists():
        known = ", ".join(list_selections(ws)) or "none yet"
        raise WinnowError(f"no selection named {name!r} (selections: {known})")
    return rows_path


def selection_ids(ws: Workspace, name: str) -> pa.Array:
    """A saved selection's ids in rank order, as Arrow strings (reads only its id and rank columns)."""
    import pyarrow.compute as pc

    rows_path = _rows_path(ws, name)
    table = pq.read_table(rows_path, columns=["id", "rank"])
    rank = table.column("rank")
    if len(rank) > 1 and not pc.all(pc.greater_equal(rank[1:], rank[:-1])).as_py():
        table = table.take(pc.sort_indices(table, sort_keys=[("rank", "ascending")]))  # a stable sort
    return table.column("id").combine_chunks().cast(pa.string())


def first_ids(ws: Workspace, name: str, n: int = 5) -> list[str]:
    """The first `n` ids of a saved selection, in its order."""
    return selection_ids(ws, name).slice(0, n).to_pylist()


def list_selections(ws: Workspace) -> list[str]:
    d = ws.dir("selections")
    return sorted(p.stem for p in d.glob("*.json") if (d / f"{p.stem}.parquet").exists())


def selection_table(ws: Workspace) -> pd.DataFrame:
    """One row per saved selection: name, strategy, count, tokens, pool, created, recipe (JSON text)."""
    cols = ["name", "strategy", "count", "tokens", "pool", "created", "recipe"]
    rows = []
    for name in list_selections(ws):
        meta = read_json(selection_paths(ws, name)[0]) or {}
        recipe = meta.get("recipe", {})
        rows.append({"name": name, "strategy": recipe.get("strategy"), "count": meta.get("count"),
                     "tokens": meta.get("tokens"), "pool": meta.get("pool"), "created": meta.get("created"),
                     "recipe": json.dumps(recipe, ensure_ascii=False)})
    return pd.DataFrame(rows, columns=cols)


def delete_selection(ws: Workspace, name: str) -> None:
    meta_path, rows_path = selection_paths(ws, name)
    if not meta_path.exists() and not rows_path.exists():
        raise WinnowError(f"no selection named {name!r}")
    rows_path.unlink(missing_ok=True)
    meta_path.unlink(missing_ok=True)


def duplicate_selection(ws: Workspace, name: str, new_name: str) -> dict[str, Any]:
    """Copy a saved selection (recipe and rows) under a new name."""
    meta, rows = load_selection(ws, name)
    new_meta, new_rows = selection_paths(ws, new_name)
    if new_meta.exists():
        raise WinnowError(f"a selection named {new_name!r} already exists: pick another name")
    _write_rows(rows, new_rows)
    meta = {**meta, "name": new_name, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "duplicated_from": name}
    write_json(meta, new_meta)
    return meta
