"""The Map page's figures, computed from a Store (pages draw; core computes).

Everything the Map page reads from every point or from the texts goes through `store.memo(..., on="map")`:
computed once per state of the documents and the active map, shared by every session, and (from
CACHE_MIN_DOCS documents) kept in the workspace's `.cache/`:

- `all_points`: id, x, y, cluster of every mapped document (for box and lasso selections); in memory only.
- `layout`: the count, the density image (above the scatter limit) and the first view, as JSON, so an
  open reads no million ids.
- `texts`: the documents whose text the page shows, read in one pass over the texts: the points drawn one
  by one and each cluster's first sample documents, with their snippet and escaped, wrapped hover text,
  as Parquet.

The page and a map job (core/jobs.py, when it finishes) call the same functions with the same names and
keys, so the job can `prepare` the figures and the first open after a map is built reads them from
`.cache/` instead of reading texts itself (1.2 s at a million documents on 2 cores at load 6, up to 5 s
when they are busier).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.mapping import density_grid, hover_text
from core.store import Store, ident

# Above the scatter limit the map is a density image of all documents with a sample of points over it
# (WINNOW_MAP_POINTS changes the limit, e.g. for a slow browser).
# Measured (tools/pagetime): 100,000 points drawn one by one took 6-8 s to open on 2 cores (hover texts,
# the figure's JSON, the browser's WebGL); the density image with 25,000 points over it opens in about 2 s.
DEFAULT_SCATTER_LIMIT = 50_000
OVERLAY_MAX = 15_000  # points drawn over the density image: 25,000 with their hover texts made a 6 MB figure
SNIPPET_CHARS = 180
HOVER_WIDTH = 60  # characters per line of a hover label
CLUSTER_SAMPLE = 10  # documents shown per cluster under "Look at a cluster"
DENSITY_BINS = 220


def scatter_limit() -> int:
    """Documents up to which every point is drawn (read from the environment on every call, so the page,
    the tests and a job started by the app agree)."""
    return int(os.environ.get("WINNOW_MAP_POINTS", DEFAULT_SCATTER_LIMIT))


def overlay_sample(limit: int | None = None) -> int:
    """Points drawn over the density image of a map above `limit` documents."""
    return min(OVERLAY_MAX, max(1, (scatter_limit() if limit is None else limit) // 2))


def hover_lines(n: int) -> int:
    """Lines of snippet in a hover label: fewer on a large map, whose figure carries every label."""
    return 3 if n <= 20_000 else (2 if n <= 100_000 else 1)


def drawn_settings(n: int, limit: int | None = None) -> tuple[int, int]:
    """(points drawn one by one, hover lines) for a map of n documents: the page's defaults."""
    limit = scatter_limit() if limit is None else limit
    return (overlay_sample(limit) if n > limit else n), hover_lines(n)


def has_map(store: Store) -> bool:
    return store.active_map_file() is not None and "map__x" in store.score_columns


def all_points(store: Store) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ids, x, y, cluster of every mapped document (for selections and the density image). Read-only."""

    def build():
        df = store.df("SELECT id, map__x, map__y, map__cluster FROM scores WHERE map__x IS NOT NULL ORDER BY hash(id)")
        return (df["id"].to_numpy(dtype=object), df["map__x"].to_numpy(dtype=np.float64),
                df["map__y"].to_numpy(dtype=np.float64), df["map__cluster"].to_numpy())

    return store.memo("map_all_points", build, on="map")


def first_view(xs: np.ndarray, ys: np.ndarray) -> tuple[dict[str, list[float]], int]:
    """The first view's axis ranges and how many points lie outside it: on each axis with far-away points,
    the wide Tukey fence of `compare_view.view_range` (the Select and Compare maps use the same one).

    UMAP puts small disconnected groups far from the rest, which would squeeze the map into a corner;
    Autoscale in the toolbar shows every point."""
    from core.compare_view import view_range

    view = {axis: r for axis, values in (("x", xs), ("y", ys)) if (r := view_range(values)) is not None}
    keep = np.ones(len(xs), dtype=bool)
    for axis, values in (("x", xs), ("y", ys)):
        if axis in view:
            keep &= (values >= view[axis][0]) & (values <= view[axis][1])
    return view, int((~keep).sum())


def layout(store: Store, limit: int | None = None) -> dict[str, Any]:
    """What the figure needs from every point, small enough to keep in .cache (so an open reads no
    million ids): `n`, the first `view` and the points `outside` it, and above the scatter limit the
    `density` image (counts, x and y centres)."""
    limit = scatter_limit() if limit is None else int(limit)

    def build() -> dict[str, Any]:
        # x and y only: a million ids made into Python strings cost 1.5-2.5 s (all_points, read when a
        # selection needs them)
        cur = store.cursor()
        try:
            got = cur.execute("SELECT map__x, map__y FROM scores WHERE map__x IS NOT NULL").fetchnumpy()
        finally:
            cur.close()
        xs, ys = (np.asarray(got[c], dtype=np.float64) for c in ("map__x", "map__y"))
        view, outside = first_view(xs, ys)
        out: dict[str, Any] = {"n": len(xs), "view": view, "outside": outside}
        if len(xs) > limit:
            counts, xc, yc = density_grid(xs, ys, bins=DENSITY_BINS)
            out["density"] = {"counts": counts.tolist(), "x": xc.tolist(), "y": yc.tolist()}
        return out

    return store.memo(f"map_layout_{limit}", build, on="map", persist="json")


def _snippet_sql(alias: str = "d") -> str:
    """A document's first SNIPPET_CHARS characters with runs of white space made one space."""
    return (f"left(regexp_replace(left({alias}.text, {SNIPPET_CHARS * 3}), '\\s+', ' ', 'g'), {SNIPPET_CHARS})"
            " AS snippet")


def _with_snippets(store: Store, picked: pd.DataFrame, lines: int) -> pd.DataFrame:
    """The picked points (in their order) with their document's source, label ('(none)' when missing),
    snippet and hover snippet (escaped, wrapped to `lines` lines): one pass over the texts, for these ids only."""
    docs = store.df(f"""
        WITH p AS (SELECT DISTINCT unnest(?::VARCHAR[]) AS id)
        SELECT d.id, d.source, coalesce(d.label, '(none)') AS label, {_snippet_sql()}
        FROM p JOIN docs d USING (id)""", [picked["id"].tolist()])
    df = picked.merge(docs, on="id", how="inner")  # keeps the picked order
    df["hover_snippet"] = [hover_text(s, HOVER_WIDTH, lines) for s in df["snippet"]]
    return df


def texts(store: Store, limit: int, lines: int, per_cluster: int = CLUSTER_SAMPLE) -> pd.DataFrame:
    """The documents whose text the page shows, picked by id hash and read in one pass over the texts:
    the points drawn individually (`drawn`: the first `limit`) and the first `per_cluster` of every
    cluster (`cluster_sample`, for "Look at a cluster"), with their snippet and hover snippet (escaped
    and wrapped to `lines` lines). Kept in the workspace's .cache. Read-only."""

    def build() -> pd.DataFrame:
        # Two steps: the points are picked on `scores`, then only their texts are read, joined to a list of
        # ids (one query doing both took 4.5 s at a million documents, these two 1.2 s, load 6).
        picked = store.df("""
            WITH s AS (SELECT id, map__x AS x, map__y AS y, map__cluster AS cluster, hash(id) AS h
                       FROM scores WHERE map__x IS NOT NULL),
            drawn AS (SELECT id FROM s ORDER BY h LIMIT ?),
            per AS (SELECT id FROM s WHERE cluster IS NOT NULL
                    QUALIFY row_number() OVER (PARTITION BY cluster ORDER BY h) <= ?)
            SELECT id, x, y, cluster, id IN (SELECT id FROM drawn) AS drawn, id IN (SELECT id FROM per) AS cluster_sample
            FROM s WHERE id IN (SELECT id FROM drawn) OR id IN (SELECT id FROM per) ORDER BY h""",
                          [int(limit), int(per_cluster)])
        return _with_snippets(store, picked, lines)

    return store.memo(f"map_texts_{int(limit)}_{int(lines)}_{int(per_cluster)}", build, on="map", persist="parquet")


def drawn_points(store: Store, limit: int, lines: int, per_cluster: int = CLUSTER_SAMPLE) -> pd.DataFrame:
    """The points drawn individually: all, or above the scatter limit a fixed sample (by id hash)."""
    df = texts(store, limit, lines, per_cluster)
    return df[df["drawn"].astype(bool)].reset_index(drop=True)


def cluster_samples(store: Store, limit: int, lines: int, per_cluster: int = CLUSTER_SAMPLE) -> pd.DataFrame:
    """cluster, id, source, text: the first `per_cluster` documents of every cluster by id hash."""
    df = texts(store, limit, lines, per_cluster)
    df = df[df["cluster_sample"].astype(bool)]
    return df[["cluster", "id", "source", "snippet"]].rename(columns={"snippet": "text"}).reset_index(drop=True)


def filter_points(store: Store, ids: Sequence[str], limit: int, lines: int) -> pd.DataFrame:
    """Up to `limit` of the given documents' points (by id hash) with their hover snippets: the map filter's
    own points, drawn over the density image of a large map. The points are picked first, then only their
    texts are read (their first characters)."""
    picked = store.df("""
        SELECT id, map__x AS x, map__y AS y, map__cluster AS cluster FROM scores
        WHERE map__x IS NOT NULL AND id IN (SELECT unnest(?::VARCHAR[])) ORDER BY hash(id) LIMIT ?""",
                      [list(ids), int(limit)])
    return _with_snippets(store, picked, lines)


def colour_values(store: Store, column: str, limit: int | None = None, ids: Sequence[str] | None = None) -> pd.Series:
    """A score column by id: of the first `limit` mapped documents by id hash, or of the given ids."""
    if ids is not None:
        df = store.df(f"SELECT id, {ident(column)} AS v FROM scores WHERE id IN (SELECT unnest(?::VARCHAR[]))",
                      [list(ids)])
    else:
        df = store.df(f"SELECT id, {ident(column)} AS v FROM scores WHERE map__x IS NOT NULL ORDER BY hash(id) LIMIT ?",
                      [int(limit or 0)])
    return df.set_index("id")["v"]


def prepare(store: Store, limit: int | None = None) -> dict[str, Any] | None:
    """Compute (or find in .cache) what the Map page opens with, at its default settings: the layout and
    the texts of the drawn points and cluster samples. None when the workspace has no map. A map job calls
    this before it says done, so the first open reads no text."""
    if not has_map(store):
        return None
    limit = scatter_limit() if limit is None else int(limit)
    shape = layout(store, limit)
    drawn, lines = drawn_settings(shape["n"], limit)
    rows = texts(store, drawn, lines)
    return {"n": shape["n"], "drawn": drawn, "hover_lines": lines, "texts": len(rows)}
