"""Compare selections side by side: size, tokens, overlap, cluster coverage, score distributions and
closeness to a target (METHODS.md, "Comparing subsets"); the proxy models are in core/proxy.py.

- Overlap: Jaccard |A ∩ B| / |A ∪ B| of the selections' unique ids.
- Cluster coverage: documents per map cluster (or per label when there is no map), the share of the
  corpus's clusters with at least one document, and the Shannon entropy (bits) of the cluster mix.
- Closeness to a target (as in DSIR, Xie et al. 2023): the selection's hashed n-gram distribution
  (DSIR's features: lowercased WordPunct unigrams + bigrams, sha256 into 10,000 buckets) and
  KL(p_target ‖ p_selection) with DSIR's 1e-8 smoothing; KL reduction = KL(target ‖ random) −
  KL(target ‖ selection), where random is a random subset of the same size.
The random baseline is a uniform random sample of the whole workspace, the size of the first selection
(`BASELINE`), seeded, so the CLI, the page and the job all see the same one.

At a million documents: sizes, coverage, score values and map points are joins in DuckDB of the
selections' ids (no document table in pandas); the KL's n-gram totals are counted from texts streamed
`TEXT_BATCH_ROWS` at a time and kept in selections/.compare/ (keyed by the ids and the documents' files),
so a selection's text is read once. The Compare page counts them while it opens only when that is quick
(`KL_INLINE_WORDS`), else on request (`python -m core compare ... --kl`, a job).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.errors import WinnowError
from core.progress import Progress, no_progress
from core.workspace import Workspace, atomic_path, read_json

if TYPE_CHECKING:
    from core.store import Store

BASELINE = "random (baseline)"
NUM_BUCKETS = 10_000
MAX_SELECTIONS = 4


# -- which ids ----------------------------------------------------------------------------------
class Subset:
    """A selection's unique ids, in selection order, held as an Arrow string array: the figures join them
    in DuckDB, and making 430k Python strings costs the Compare page half a second at 1M documents.
    `ids` gives them as a list, made once, for the few callers that walk them in Python."""

    def __init__(self, name: str, ids: Sequence[str] | pa.Array | pa.ChunkedArray, baseline: bool = False) -> None:
        self.name = name
        self.baseline = baseline
        if isinstance(ids, pa.ChunkedArray):
            ids = ids.combine_chunks()
        if isinstance(ids, pa.Array):
            self._arrow, self._list = ids.cast(pa.string()), None
        else:
            self._list = [str(i) for i in ids]
            self._arrow = pa.array(self._list, pa.string())
        self._digest: str | None = None

    def __len__(self) -> int:
        return len(self._arrow)

    def __repr__(self) -> str:
        return f"Subset({self.name!r}, {len(self):,} ids{', baseline' if self.baseline else ''})"

    @property
    def ids(self) -> list[str]:
        if self._list is None:
            self._list = self._arrow.to_pylist()
        return self._list

    def arrow_ids(self) -> pa.Array:
        return self._arrow

    def digest(self) -> str:
        """`ids_digest` of the ids, computed once per object (a million ids take a while to hash)."""
        if self._digest is None:
            self._digest = ids_digest(self._arrow)
        return self._digest


def baseline_ids(store: Store, size: int, seed: int = 0) -> pa.Array:
    """A uniform random sample of the whole workspace (no filters), `size` documents, seeded."""
    ids = store.arrow("SELECT id FROM docs").column("id")
    # a stream of its own: a saved `random` selection with the same seed must not be the baseline itself
    rng = np.random.default_rng([seed, 0xBA5E])
    k = min(size, len(ids))
    return ids.take(pa.array(rng.permutation(len(ids))[:k])).combine_chunks().cast(pa.string())


def load_subsets(ws: Workspace, store: Store, names: Sequence[str], baseline: bool = True,
                 baseline_seed: int = 0) -> list[Subset]:
    """The named selections (unique ids, in order), plus the random baseline unless turned off."""
    from core.select import selection_ids

    names = list(dict.fromkeys(names))
    if not names:
        raise WinnowError("pick at least one selection to compare")
    if len(names) > MAX_SELECTIONS:
        raise WinnowError(f"compare at most {MAX_SELECTIONS} selections at once (got {len(names)})")
    subsets = [Subset(name, pc.unique(selection_ids(ws, name))) for name in names]  # unique: first occurrences, in order
    if baseline:
        bname = BASELINE if BASELINE not in names else f"{BASELINE} #{baseline_seed}"
        subsets.append(Subset(bname, baseline_ids(store, len(subsets[0]), baseline_seed), baseline=True))
    return subsets


# -- overlap, sizes ---------------------------------------------------------------------------
def jaccard(a: set, b: set) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 1.0


def intersection_counts(subsets: Sequence[Subset]) -> np.ndarray:
    """|A ∩ B| of every pair of subsets (the diagonal: each one's distinct ids), from integer codes of the ids
    (one membership vector per subset, no Python sets of a million strings)."""
    k = len(subsets)
    if k == 0:
        return np.zeros((0, 0), dtype=np.int64)
    encoded = pa.concat_arrays([s.arrow_ids() for s in subsets]).dictionary_encode()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    member = np.zeros((k, len(encoded.dictionary)), dtype=bool)
    start = 0
    for j, s in enumerate(subsets):
        member[j, codes[start:start + len(s)]] = True
        start += len(s)
    return np.array([[int(np.count_nonzero(member[i] & member[j])) for j in range(k)] for i in range(k)],
                    dtype=np.int64)


def jaccard_matrix(subsets: Sequence[Subset], shared: np.ndarray | None = None) -> pd.DataFrame:
    """Jaccard index of every pair of subsets (1.0 for two empty ones); `shared` from `intersection_counts`."""
    shared = intersection_counts(subsets) if shared is None else shared
    names = [s.name for s in subsets]
    n = np.diag(shared)
    m = np.array([[shared[i, j] / (n[i] + n[j] - shared[i, j]) if n[i] + n[j] - shared[i, j] else 1.0
                   for j in range(len(names))] for i in range(len(names))], dtype=float)
    return pd.DataFrame(m, index=names, columns=names)


def _subsets_table(subsets: Sequence[Subset]) -> pa.Table:
    """(k, pos, id): every subset's ids with its number and each id's place, for joins in DuckDB."""
    ks = [np.full(len(s), k, dtype=np.int32) for k, s in enumerate(subsets)]
    pos = [np.arange(len(s), dtype=np.int64) for s in subsets]
    ids = pa.chunked_array([s.arrow_ids() for s in subsets], pa.string())
    return pa.table({"k": pa.array(np.concatenate(ks) if ks else np.zeros(0, np.int32)),
                     "pos": pa.array(np.concatenate(pos) if pos else np.zeros(0, np.int64)),
                     "id": ids})


def _query_subsets(store: Store, subsets: Sequence[Subset], query: str) -> pd.DataFrame:
    """Run `query` with the subsets' ids registered as the table `_sel` (k, pos, id)."""
    return _arrow_subsets(store, subsets, query).to_pandas()


def _arrow_subsets(store: Store, subsets: Sequence[Subset], query: str) -> pa.Table:
    """`_query_subsets` as an Arrow table (no pandas copy of long results)."""
    cur = store.cursor()
    try:
        cur.register("_sel", _subsets_table(subsets))
        return cur.sql(query).to_arrow_table()
    finally:
        cur.close()


def _in_selection_order(subsets: Sequence[Subset], got: pa.Table) -> np.ndarray:
    """Row order that puts `got` (with columns k, pos) in the subsets' order: k, then pos, without a
    sort (each subset's positions are unique: every row has its own slot in the concatenated subsets)."""
    starts = np.concatenate([[0], np.cumsum([len(s) for s in subsets])]).astype(np.int64)
    slot = starts[got.column("k").to_numpy().astype(np.int64)] + got.column("pos").to_numpy().astype(np.int64)
    row_at = np.full(int(starts[-1]), -1, dtype=np.int64)
    row_at[slot] = np.arange(len(slot), dtype=np.int64)
    return row_at[row_at >= 0]


def _selection_names(subsets: Sequence[Subset], k: np.ndarray) -> pd.Categorical:
    """The selection name of each row (by its subset number), as a categorical in the subsets' order."""
    return pd.Categorical.from_codes(k.astype(np.int64), categories=[s.name for s in subsets])


def member_rows(store: Store, subsets: Sequence[Subset], columns: Sequence[str] = ()) -> pa.Table:
    """k, pos, h (DuckDB's hash of the id) and `columns` of `scores` for every subset document in the
    workspace, in the subsets' order: one join, from which coverage, the map points and a score's values
    are all taken (each join of 860k ids with a million documents costs about 0.2 s on 2 cores). The ids
    themselves are not copied out: subset k's id at `pos` is `subsets[k].arrow_ids()[pos]`."""
    from core.store import ident

    missing = [c for c in columns if c not in store.score_columns]
    if missing:
        raise WinnowError(f"no score column {missing[0]!r}")
    extra = "".join(f", t.{ident(c)}" for c in dict.fromkeys(columns))
    got = _arrow_subsets(store, subsets, f"SELECT s.k, s.pos, hash(s.id) AS h{extra} FROM _sel s "
                                         "JOIN scores t USING (id)")
    return got.take(_in_selection_order(subsets, got))


MAP_COLUMNS = ("map__x", "map__y", "map__cluster")


def sizes(store: Store, subsets: Sequence[Subset]) -> pd.DataFrame:
    """documents, tokens (whitespace words) and documents per source, per selection.

    Counted in DuckDB from the ids (no document table in pandas): ids not in the workspace count as
    documents with no words and no source, as before."""
    return size_table([s.name for s in subsets], size_rows(store, subsets))


def size_table(names: Sequence[str], rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([{"selection": name, **row} for name, row in zip(names, rows, strict=True)]).fillna(0)


def size_rows(store: Store, subsets: Sequence[Subset]) -> list[dict[str, Any]]:
    """Each subset's row of `sizes` (without its name): documents, tokens, then `source: X` counts, largest first."""
    got = _query_subsets(store, subsets, "SELECT s.k, d.source, count(d.id) AS n, sum(d.n_words) AS words "
                                         "FROM _sel s JOIN (SELECT id, source, n_words FROM docs) d USING (id) "
                                         "GROUP BY ALL")
    rows = []
    for k, s in enumerate(subsets):
        mine = got[got["k"] == k]
        row = {"documents": len(s), "tokens": int(pd.to_numeric(mine["words"], errors="coerce").fillna(0).sum())}
        per_source = mine[mine["source"].notna()]
        per_source = per_source.assign(source=per_source["source"].astype(str)).sort_values(
            ["n", "source"], ascending=[False, True], kind="stable")
        for src, n in zip(per_source["source"], per_source["n"], strict=True):
            row[f"source: {src}"] = int(n)
        rows.append(row)
    return rows


# -- cluster coverage -------------------------------------------------------------------------
def entropy_bits(counts: np.ndarray) -> float:
    """Shannon entropy (bits) of a count vector; 0 for an empty one."""
    c = np.asarray(counts, dtype=float)
    c = c[c > 0]
    if c.sum() == 0:
        return 0.0
    p = c / c.sum()
    return float(-(p * np.log2(p)).sum())


def coverage(store: Store, subsets: Sequence[Subset],
             rows: pa.Table | None = None) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Documents per group of each selection: the map's clusters, else the labels, else the sources,
    counted in DuckDB (no id -> group table in pandas); by map cluster from `rows` (`member_rows` with the
    map's columns) when given.

    Returns (documents per group × selection, summary per selection, what the groups are). Summary:
    groups covered (≥ 1 document), share of the corpus's groups covered, entropy (bits) of the
    selection's group distribution, and that entropy over log2(number of groups)."""
    per_cluster, summary = coverage_tables(all_groups(store), coverage_counts(store, subsets, rows), subsets)
    return per_cluster, summary, group_kind(store)


def all_groups(store: Store) -> list[str]:
    """Every group coverage counts by (map clusters, else labels, else sources) in the workspace."""
    expr, table, _ = _group_source(store)
    return store.df(f"SELECT DISTINCT CAST({expr} AS VARCHAR) AS g FROM {table} WHERE {expr} IS NOT NULL")["g"].tolist()


def coverage_counts(store: Store, subsets: Sequence[Subset], rows: pa.Table | None = None) -> list[pd.Series]:
    """Documents per group (index: the group as text) of each subset; from `rows` when they have the clusters."""
    expr, table, what = _group_source(store)
    if what == "map cluster" and rows is not None and "map__cluster" in rows.column_names:
        got = pa.table({"k": rows.column("k"), "g": rows.column("map__cluster").cast(pa.string())}).filter(
            pc.is_valid(rows.column("map__cluster"))).group_by(["k", "g"]).aggregate([([], "count_all")])
        got = got.rename_columns(["k", "g", "n"]).to_pandas()
    else:
        got = _query_subsets(store, subsets, f"SELECT s.k, CAST(t.{expr} AS VARCHAR) AS g, count(*) AS n FROM _sel s "
                                             f"JOIN {table} t USING (id) WHERE t.{expr} IS NOT NULL GROUP BY ALL")
    return [pd.Series(got.loc[got["k"] == k, "n"].to_numpy(), index=got.loc[got["k"] == k, "g"].to_numpy())
            for k in range(len(subsets))]


def coverage_tables(clusters: list[str], counts: Sequence[pd.Series],
                     subsets: Sequence[Subset]) -> tuple[pd.DataFrame, pd.DataFrame]:
    all_clusters = sorted(clusters, key=_natural_key)
    table = pd.DataFrame(index=pd.Index(all_clusters, name="cluster"))
    summary = []
    for s, c in zip(subsets, counts, strict=True):
        col = c.reindex(all_clusters).fillna(0).astype(int)
        table[s.name] = col.to_numpy()
        covered = int((col > 0).sum())
        h = entropy_bits(col.to_numpy())
        summary.append({
            "selection": s.name, "clusters_covered": covered, "clusters_total": len(all_clusters),
            "share_covered": covered / len(all_clusters) if all_clusters else 0.0,
            "entropy_bits": h,
            "normalised_entropy": h / math.log2(len(all_clusters)) if len(all_clusters) > 1 else 0.0,
        })
    return table, pd.DataFrame(summary)


def _natural_key(v: str) -> tuple:
    try:
        return (0, float(v), "")
    except ValueError:
        return (1, 0.0, v)


def _group_source(store: Store) -> tuple[str, str, str]:
    """(column, table, what): the map's clusters, else the labels, else the sources."""
    if "map__cluster" in store.score_columns:
        return '"map__cluster"', "scores", "map cluster"
    if store.scalar("SELECT count(label) FROM docs"):
        return "label", "(SELECT id, label FROM docs)", "label"
    return "source", "(SELECT id, source FROM docs)", "source"


def group_kind(store: Store) -> str:
    """What coverage counts by: "map cluster", "label" or "source"."""
    return _group_source(store)[2]


def cluster_names(ws: Workspace, store: Store) -> dict[str, str]:
    """cluster -> its name (key words) from the active map's clusters file, when there is one."""
    import pyarrow.parquet as pq

    map_file = store.active_map_file()
    if map_file is None:
        return {}
    path = map_file.with_name(f"{map_file.stem}__clusters.parquet")
    if not path.exists():
        return {}
    df = pq.read_table(path).to_pandas()
    col = "name" if "name" in df.columns else "label" if "label" in df.columns else None
    if "cluster" not in df.columns or col is None:
        return {}
    return {str(c): str(n) for c, n in zip(df["cluster"], df[col], strict=True)}


def map_points(store: Store, subsets: Sequence[Subset], per_selection: int | None = None,
               rows: pa.Table | None = None) -> pd.DataFrame:
    """Long table (id, x, y, cluster, selection) of each selection's documents on the map; empty without a map.

    With `per_selection`, at most that many documents of each selection (a fixed pseudo-random choice: the
    smallest hashes of the id), still in the selection's order, and a column `on_map`: the selection's
    documents on the map in all (what a chart says it drew a sample of). `rows`: `member_rows` with the
    map's columns, when already at hand."""
    if "map__x" not in store.score_columns:
        return pd.DataFrame(columns=["id", "x", "y", "cluster", "selection"])
    if rows is None or not set(MAP_COLUMNS) <= set(rows.column_names):
        rows = member_rows(store, subsets, MAP_COLUMNS)
    rows = rows.filter(pc.is_valid(rows.column("map__x")))
    k = rows.column("k").to_numpy().astype(np.int64)
    on_map = np.bincount(k, minlength=len(subsets))
    if per_selection is not None:
        h = rows.column("h").to_numpy()
        keep = np.zeros(len(k), dtype=bool)
        for j in range(len(subsets)):
            mine = np.flatnonzero(k == j)
            if len(mine) > per_selection:  # the per_selection smallest hashes (ties at the cut kept, as before)
                cut = np.partition(h[mine], per_selection - 1)[per_selection - 1]
                mine = mine[h[mine] <= cut]
            keep[mine] = True
        rows, k = rows.filter(pa.array(keep)), k[keep]
    pos = rows.column("pos").to_numpy()
    ids = [subsets[j].arrow_ids().take(pa.array(pos[k == j])) for j in range(len(subsets))]  # rows are in k order
    out = pd.DataFrame({"id": pa.chunked_array(ids, pa.string()).to_numpy().astype(object),
                        "x": rows.column("map__x").to_numpy(zero_copy_only=False),
                        "y": rows.column("map__y").to_numpy(zero_copy_only=False),
                        "cluster": rows.column("map__cluster").to_pandas(),
                        "selection": _selection_names(subsets, k)})
    if per_selection is not None:
        out["on_map"] = on_map[k]
    return out


# -- score distributions ----------------------------------------------------------------------
def numeric_score_columns(store: Store) -> list[str]:
    if not store.score_columns:
        return []
    types = store.df("DESCRIBE scores")
    numeric = ("DOUBLE", "FLOAT", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "DECIMAL", "UBIGINT")
    return [r.column_name for r in types.itertuples()
            if r.column_name != "id" and not r.column_name.startswith("map__")
            and str(r.column_type).upper().startswith(numeric)]


def score_values(store: Store, subsets: Sequence[Subset], column: str, rows: pa.Table | None = None) -> pd.DataFrame:
    """Long table (selection, value) of one score column over each selection (missing values dropped);
    `rows`: `member_rows` with that column, when already at hand."""
    if column not in store.score_columns:
        raise WinnowError(f"no score column {column!r}")
    if rows is None or column not in rows.column_names:
        rows = member_rows(store, subsets, [column])
    v = pd.to_numeric(rows.column(column).to_pandas(), errors="coerce").to_numpy(dtype=float)
    keep = ~np.isnan(v)
    k = rows.column("k").to_numpy()
    return pd.DataFrame({"selection": _selection_names(subsets, k[keep]), "value": v[keep]})


def score_summary(store: Store, subsets: Sequence[Subset], columns: Sequence[str]) -> pd.DataFrame:
    rows = []
    joined = member_rows(store, subsets, columns) if columns else None  # one join for every column
    for col in columns:
        long = score_values(store, subsets, col, rows=joined)
        for name, g in long.groupby("selection", sort=False, observed=True):
            v = g["value"]
            rows.append({"score": col, "selection": name, "n": len(v), "mean": v.mean(), "std": v.std(),
                         "p10": v.quantile(0.1), "median": v.median(), "p90": v.quantile(0.9)})
    return pd.DataFrame(rows)


# -- closeness to a target: hashed n-grams and KL -------------------------------------------------
def texts_for(store: Store, ids: Sequence[str]) -> list[str]:
    """Texts of these ids, in the given order (ids not in the workspace are skipped). For small id lists:
    the KL figures stream texts in batches instead (`bucket_counts_for_ids`)."""
    if not len(ids):
        return []
    cur = store.cursor()
    try:
        cur.register("_want", pd.DataFrame({"id": list(ids), "pos": np.arange(len(ids))}))
        df = cur.execute("SELECT d.text FROM docs d JOIN _want w ON d.id = w.id ORDER BY w.pos").df()
    finally:
        cur.close()
    return df["text"].fillna("").tolist()


def bucket_counts(texts: Sequence[str], num_buckets: int = NUM_BUCKETS) -> np.ndarray:
    """Total hashed unigram+bigram bucket counts of some texts (DSIR's features, core/dsir.py)."""
    from core.dsir import bucket_totals, featurize

    if not texts:
        return np.zeros(num_buckets, dtype=np.int64)
    return bucket_totals(featurize(list(texts), 2, num_buckets))


# Totals of a set of documents are kept in selections/.compare/ (80 KB each), keyed by the ids and the
# documents' files, so a selection's text is read once, not at every visit of the Compare page.
TOTALS_VERSION = 1  # bump when the features change
TEXT_BATCH_ROWS = 5_000  # documents whose text is in memory at once while counting n-grams
KL_INLINE_WORDS = 400_000  # the Compare page counts at most this many words' n-grams while it opens (~1 s);
# more run on request (a `compare --kl` job), and the counts are kept


def ids_digest(ids: Sequence[str] | pa.Array) -> str:
    """A digest of an id list (in order): sha1 of the count, then the ids joined by \\x1f in pieces of 100,000,
    each piece followed by \\x1e. Arrow arrays are joined by Arrow (the same bytes, no Python strings)."""
    h = hashlib.sha1(f"{len(ids)}\x00".encode())
    for start in range(0, len(ids), 100_000):
        if isinstance(ids, pa.Array):
            piece = ids.slice(start, 100_000)
            joined = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(piece)], pa.int32()), piece), "\x1f")
            h.update(joined[0].as_buffer())
        else:
            h.update("\x1f".join(ids[start:start + 100_000]).encode())
        h.update(b"\x1e")
    return h.hexdigest()


def _totals_path(ws: Workspace, what: str) -> Path:
    key = hashlib.sha1(json.dumps([TOTALS_VERSION, NUM_BUCKETS, what, ws.fingerprint()]).encode()).hexdigest()[:20]
    return ws.dir("selections") / ".compare" / f"ngrams-{key}.npy"


def cached_bucket_counts(ws: Workspace, ids: Sequence[str]) -> np.ndarray | None:
    """The stored n-gram totals of these documents, or None when they have not been counted yet."""
    return _load_totals(_totals_path(ws, ids_digest(ids)))


def _load_totals(path: Path) -> np.ndarray | None:
    try:
        return np.load(path)
    except (OSError, ValueError):
        return None


def bucket_counts_for_ids(ws: Workspace, store: Store, ids: Sequence[str] | pa.Array, progress: Progress = no_progress,
                          batch_rows: int = TEXT_BATCH_ROWS, digest: str | None = None) -> np.ndarray:
    """`bucket_counts(texts_for(store, ids))`, with the texts streamed from DuckDB `batch_rows` at a time
    (never the whole selection's text in memory), and the result kept for the next call (`digest`:
    `ids_digest(ids)` when already known)."""
    digest = digest or ids_digest(ids)
    got = _load_totals(_totals_path(ws, digest))
    if got is not None:
        progress(len(ids), len(ids))
        return got
    from core.dsir import bucket_totals, featurize

    totals = np.zeros(NUM_BUCKETS, dtype=np.int64)
    done = 0
    progress(0, len(ids))
    if len(ids):
        cur = store.cursor()
        try:
            want = ids if isinstance(ids, pa.Array) else pa.array(list(ids), pa.string())
            cur.register("_want", pa.table({"id": want}))
            reader = cur.sql("SELECT d.text FROM docs d SEMI JOIN _want w ON d.id = w.id").to_arrow_reader(batch_rows)
            for batch in reader:
                texts = [t if t is not None else "" for t in batch.column(0).to_pylist()]
                if texts:
                    totals += bucket_totals(featurize(texts, 2, NUM_BUCKETS))
                done += len(texts)
                progress(min(done, len(ids)), len(ids))
        finally:
            cur.close()
    path = _totals_path(ws, digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, totals)
    return totals


def target_bucket_counts(ws: Workspace, target: str) -> np.ndarray:
    """n-gram totals of a target's texts (kept, keyed by the target file's size and time)."""
    from core.targets import load_reference, reference_path

    path = reference_path(ws, target, "targets")
    try:
        st = path.stat()
        what = f"target\x00{target}\x00{st.st_size}\x00{st.st_mtime_ns}"
    except OSError:
        what = None
    cache = _totals_path(ws, what) if what else None
    if cache is not None and cache.exists():
        try:
            return np.load(cache)
        except (OSError, ValueError):
            pass
    counts = bucket_counts(load_reference(ws, target, "targets")["text"].fillna("").tolist())
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(cache) as tmp, open(tmp, "wb") as fh:
            np.save(fh, counts)
    return counts


def kl_divergence(p_counts: np.ndarray, q_counts: np.ndarray) -> float:
    """KL(p ‖ q) in nats of two count vectors, each normalised, with DSIR's 1e-8 added to both."""
    from core.dsir import kl_divergence as dsir_kl

    return dsir_kl(p_counts, q_counts)


def kl_pending(ws: Workspace, store: Store, subsets: Sequence[Subset],
               size_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """The subsets whose n-gram totals are not counted yet: selection, documents, words (what reading costs).

    `size_table`: `sizes(store, subsets)` when already at hand (its words are used, not counted again)."""
    todo = [s for s in subsets if not _totals_path(ws, s.digest()).exists()]
    if not todo:
        return pd.DataFrame({"selection": pd.Series([], dtype=object), "documents": pd.Series([], dtype="int64"),
                             "words": pd.Series([], dtype="int64")})
    if size_table is None or not {s.name for s in todo} <= set(size_table["selection"]):
        size_table = sizes(store, todo)
    words = size_table.set_index("selection")["tokens"]
    return pd.DataFrame({"selection": [s.name for s in todo], "documents": [len(s) for s in todo],
                         "words": [int(words[s.name]) for s in todo]})


def kl_to_target(ws: Workspace, store: Store, subsets: Sequence[Subset], target: str,
                 progress: Progress = no_progress) -> pd.DataFrame:
    """KL(target ‖ selection) of hashed n-gram distributions and the reduction against the baseline.

    Each selection's texts are read in batches of `TEXT_BATCH_ROWS` documents; the totals are kept, so
    the next call for the same documents reads no text."""
    tgt = target_bucket_counts(ws, target)
    total = sum(len(s) for s in subsets)
    offset = 0
    rows = []
    for s in subsets:
        def step(done: int, _total: int, base: int = offset) -> None:
            progress(base + done, total)

        rows.append({"selection": s.name,
                     "kl": kl_divergence(tgt, bucket_counts_for_ids(ws, store, s.arrow_ids(), step, digest=s.digest()))})
        offset += len(s)
    df = pd.DataFrame(rows)
    base = [s.name for s in subsets if s.baseline]
    if base:
        ref = float(df.loc[df["selection"] == base[0], "kl"].iloc[0])
        df["kl_reduction"] = ref - df["kl"]
    else:
        df["kl_reduction"] = np.nan
    return df


# -- everything but the proxy ------------------------------------------------------------------
def recipe_target(ws: Workspace, names: Sequence[str]) -> str | None:
    """The first target named by the selections' recipes (`target`, or the first of `targets`), if any."""
    from core.select import selection_paths

    for name in names:
        recipe = (read_json(selection_paths(ws, name)[0]) or {}).get("recipe", {})
        if recipe.get("target"):
            return recipe["target"]
        if recipe.get("targets"):
            return recipe["targets"][0]
    return None


def compare(ws: Workspace, names: Sequence[str], store: Store | None = None, *, baseline: bool = True,
            target: str | None = None, baseline_seed: int = 0) -> dict[str, Any]:
    """Every comparison figure (JSON-ready): sizes, Jaccard, coverage, score summaries, KL to a target.

    Without `target`, the KL figures use the target a selection's recipe names, if any.
    """
    if store is None:
        from core.store import Store

        store = Store(ws)
    subsets = load_subsets(ws, store, names, baseline, baseline_seed)
    target = target or recipe_target(ws, names)
    per_cluster, cover, what = coverage(store, subsets)
    out: dict[str, Any] = {
        "selections": [s.name for s in subsets],
        "baseline": next((s.name for s in subsets if s.baseline), None),
        "sizes": sizes(store, subsets).to_dict(orient="records"),
        "jaccard": jaccard_matrix(subsets).round(6).to_dict(orient="index"),
        "coverage": {"by": what, "summary": cover.to_dict(orient="records"),
                     "names": cluster_names(ws, store) if what == "map cluster" else {},
                     "per_cluster": per_cluster.reset_index().to_dict(orient="records")},
        "scores": records(score_summary(store, subsets, numeric_score_columns(store))),
    }
    if target:
        out["kl"] = {"target": target, "features": "hashed unigram+bigram, 10,000 buckets (DSIR)",
                     "rows": kl_to_target(ws, store, subsets, target).to_dict(orient="records")}
    return out


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe records (NaN -> None)."""
    if df.empty:
        return []
    return json.loads(df.to_json(orient="records"))
