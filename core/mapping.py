"""The map: every document as a 2-D point (UMAP or PCA of its embedding), in named clusters.

- **Projection.** UMAP (McInnes et al. 2018; `umap-learn`, 15 neighbours, min_dist 0.1, Euclidean
  distance, which on L2-normalised rows orders neighbours exactly as cosine does) or PCA. Both are
  fitted on a seeded random sample of at most `DEFAULT_SAMPLE` (20,000) documents; every other
  document is then placed with `transform`, in chunks, so a million documents cost one 20k fit plus a
  nearest-neighbour lookup each. The result is centred and turned so its longest extent is horizontal.
  UMAP's numba code compiles on first use in a process (~30-40 s),
  which is why the map is always built by a job (`python -m core map`), never by a page.
- **Clusters** are computed on the embeddings, not on the 2-D picture: k-means (scikit-learn,
  seeded, 3 initialisations) fitted on a sample of at most `CLUSTER_SAMPLE` documents, then every
  document goes to its nearest centre. `auto` picks K = clip(round(sqrt(n / 4)), 2, 40) (about 27
  clusters for 3,000 documents, 40 from 6,400 on): enough groups to tell topics apart, few enough to
  read in a table. Clusters are numbered by size, largest first.
- **Names** come from class-based TF-IDF (c-TF-IDF, as in BERTopic, Grootendorst 2022): all the
  words of a cluster form one "class document"; a word's weight in cluster c is
  tf(t, c) / words(c) * log(1 + A / f(t)), where A is the average number of words per cluster and
  f(t) the word's count over all clusters. The top 3 words name the cluster, the top 10 are kept.
  Names are distinct (a clash takes the next words) and never empty ("cluster N" when a cluster has
  no words at all, e.g. only empty texts). At most `NAME_DOCS` documents per cluster (their first
  `NAME_CHARS` characters) are read for naming, so naming stays cheap at a million documents.

Files in `maps/` (written atomically): `<model>.parquet` (id, x, y, cluster), `<model>__clusters.parquet`
(cluster, name, size, top_words) and `<model>.json` (method, parameters, seed, sample sizes, timings,
the documents' fingerprint). The Store exposes the newest map as `map__x`, `map__y`, `map__cluster`.
"""

from __future__ import annotations

import html
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core.errors import WinnowError
from core.progress import Progress, no_progress
from core.workspace import Workspace, read_json, write_json, write_parquet

METHODS = ("umap", "pca")
DEFAULT_METHOD = "umap"
DEFAULT_SAMPLE = 20_000  # documents the projection is fitted on; the rest are transformed
CLUSTER_SAMPLE = 50_000  # documents k-means is fitted on; the rest go to the nearest centre
TRANSFORM_CHUNK = 20_000
MAX_AUTO_K = 40
UMAP_NEIGHBOURS = 15
UMAP_MIN_DIST = 0.1
NAME_WORDS = 3
TOP_WORDS = 10
NAME_DOCS = 1_000
NAME_CHARS = 3_000
MIN_DOCS = 3
TOKEN_PATTERN = r"(?u)\b[^\W\d_]{3,}\b"  # words of 3+ letters (no digits, no underscores)
# Words that say nothing about a topic here: chat role markers added at ingest and common code words.
EXTRA_STOP_WORDS = frozenset({
    "user", "assistant", "system", "human", "gpt", "self", "def", "return", "none", "true", "false",
    "http", "https", "www", "com", "html", "said",
})


def map_paths(ws: Workspace, model: str) -> tuple[Path, Path, Path]:
    """(points, clusters, sidecar) files of the map built from `model`'s embeddings."""
    d = ws.dir("maps")
    return d / f"{model}.parquet", d / f"{model}__clusters.parquet", d / f"{model}.json"


def auto_k(n: int) -> int:
    """The number of clusters `auto` picks for n documents: clip(round(sqrt(n / 4)), 2, 40), at most n."""
    return int(min(max(n, 1), max(2, min(MAX_AUTO_K, round(np.sqrt(n / 4))))))


def parse_clusters(value: str | int) -> int | None:
    """`auto` -> None, a number -> that number (at least 2)."""
    if isinstance(value, int) or str(value).strip().isdigit():
        k = int(value)
        if k < 2:
            raise WinnowError("--clusters must be at least 2 (or auto)")
        return k
    if str(value).strip().lower() == "auto":
        return None
    raise WinnowError(f"--clusters must be 'auto' or a whole number, not {value!r}")


def _sample_rows(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted indices of a seeded random sample of min(n, size) rows."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


# -- projection -----------------------------------------------------------------------------------
def project(
    x: np.ndarray,
    method: str = DEFAULT_METHOD,
    seed: int = 0,
    sample_size: int = DEFAULT_SAMPLE,
    progress: Progress = no_progress,
) -> tuple[np.ndarray, dict[str, Any]]:
    """2-D coordinates (float32, n x 2) for the rows of x, and what was done (for the sidecar).

    The projection is fitted on a seeded sample of at most `sample_size` rows and applied to every
    row; with the same seed and data the result is the same.
    """
    if method not in METHODS:
        raise WinnowError(f"unknown projection method {method!r}: choose umap or pca")
    x = np.asarray(x, dtype=np.float32)
    n = x.shape[0]
    if n < MIN_DOCS:
        raise WinnowError(f"a map needs at least {MIN_DOCS} documents; this workspace has {n}")
    fit_rows = _sample_rows(n, sample_size, seed)
    info: dict[str, Any] = {"method": method, "fit_sample": int(len(fit_rows)), "seed": seed}
    progress(0, n)
    if method == "umap" and n >= 10:
        reducer = _umap(len(fit_rows), seed)
        fitted = reducer.fit_transform(x[fit_rows]).astype(np.float32)
        info.update(n_neighbors=reducer.n_neighbors, min_dist=reducer.min_dist, metric=reducer.metric)
    else:
        if method == "umap":
            info["note"] = "fewer than 10 documents: PCA instead of UMAP"
            info["method"] = "pca"
        from sklearn.decomposition import PCA

        reducer = PCA(n_components=2, svd_solver="full", random_state=seed)
        fitted = reducer.fit_transform(x[fit_rows]).astype(np.float32)
        info["explained_variance"] = [round(float(v), 4) for v in reducer.explained_variance_ratio_]
    out = np.empty((n, 2), dtype=np.float32)
    out[fit_rows] = fitted
    done = len(fit_rows)
    progress(done, n)
    if done < n:
        rest = np.setdiff1d(np.arange(n), fit_rows, assume_unique=True)
        for start in range(0, len(rest), TRANSFORM_CHUNK):
            rows = rest[start:start + TRANSFORM_CHUNK]
            out[rows] = reducer.transform(x[rows]).astype(np.float32)
            done += len(rows)
            progress(done, n)
    return _upright(out), info


def _upright(xy: np.ndarray) -> np.ndarray:
    """Centre the map and turn it so its longest extent lies along x (a rotation: distances do not change).

    UMAP's layout has no meaningful orientation; lying along the wide side it fills a wide screen.
    Each axis is flipped so that its skew is positive, which makes the orientation deterministic.
    """
    centred = xy.astype(np.float64) - xy.astype(np.float64).mean(axis=0)
    cov = np.cov(centred, rowvar=False)
    if not np.all(np.isfinite(cov)):
        return xy
    _, vecs = np.linalg.eigh(cov)
    turned = centred @ vecs[:, ::-1]
    signs = np.where((turned ** 3).sum(axis=0) < 0, -1.0, 1.0)
    return (turned * signs).astype(np.float32)


def _umap(n_fit: int, seed: int) -> Any:
    os.environ.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "winnow" / "numba"))
    import warnings

    from umap import UMAP

    warnings.filterwarnings("ignore", message=".*n_jobs value.*overridden.*")
    return UMAP(n_components=2, n_neighbors=min(UMAP_NEIGHBOURS, n_fit - 1), min_dist=UMAP_MIN_DIST,
                metric="euclidean", random_state=seed, low_memory=True, verbose=False)


# -- clusters -------------------------------------------------------------------------------------
def cluster(
    x: np.ndarray, k: int | None = None, seed: int = 0, sample_size: int = CLUSTER_SAMPLE,
    progress: Progress = no_progress,
) -> tuple[np.ndarray, dict[str, Any]]:
    """k-means cluster of every row (int32, numbered by size, 0 = largest) and what was done."""
    from sklearn.cluster import KMeans

    x = np.asarray(x, dtype=np.float32)
    n = x.shape[0]
    if n < 2:
        raise WinnowError(f"clustering needs at least 2 documents; there are {n}")
    chosen = "auto" if k is None else "given"
    k = auto_k(n) if k is None else int(k)
    fit_rows = _sample_rows(n, sample_size, seed)
    distinct = len(np.unique(x[fit_rows], axis=0))
    if k > distinct:
        if chosen == "given" and k > n:
            raise WinnowError(f"--clusters {k} is more than the {n} documents")
        k = max(1, distinct)
    km = KMeans(n_clusters=k, n_init=3, random_state=seed, max_iter=200)
    km.fit(x[fit_rows])
    progress(len(fit_rows), n)
    labels = np.empty(n, dtype=np.int32)
    for start in range(0, n, 100_000):
        labels[start:start + 100_000] = km.predict(x[start:start + 100_000])
        progress(min(n, start + 100_000), n)
    # renumber by size, largest first (ties by the old number, so it stays deterministic)
    sizes = np.bincount(labels, minlength=k)
    order = np.lexsort((np.arange(k), -sizes))
    rank = np.empty(k, dtype=np.int32)
    rank[order] = np.arange(k, dtype=np.int32)
    return rank[labels], {"algorithm": "k-means", "k": int(k), "k_chosen": chosen, "fit_sample": int(len(fit_rows)),
                          "inertia": float(km.inertia_)}


def cluster_words(
    texts: Sequence[str], labels: Sequence[int], top: int = TOP_WORDS
) -> dict[int, list[str]]:
    """The most distinctive words of each cluster by class-based TF-IDF (see the module docstring)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    labels = np.asarray(labels)
    clusters = sorted({int(c) for c in labels.tolist()})
    result: dict[int, list[str]] = {c: [] for c in clusters}
    if not len(texts):
        return result
    stop = sorted(ENGLISH_STOP_WORDS | EXTRA_STOP_WORDS)
    vec = CountVectorizer(lowercase=True, token_pattern=TOKEN_PATTERN, stop_words=stop, min_df=2 if len(texts) > 20 else 1)
    try:
        counts = vec.fit_transform(["" if t is None else str(t) for t in texts])
    except ValueError:  # no word at all in any document
        return result
    vocab = np.asarray(vec.get_feature_names_out())
    index = {c: i for i, c in enumerate(clusters)}
    rows = np.fromiter((index[int(c)] for c in labels), dtype=np.int64, count=len(labels))
    from scipy.sparse import csr_matrix

    member = csr_matrix((np.ones(len(rows)), (rows, np.arange(len(rows)))), shape=(len(clusters), len(rows)))
    class_counts = np.asarray((member @ counts).todense(), dtype=np.float64)  # clusters x words
    words_per_class = class_counts.sum(axis=1, keepdims=True)
    tf = np.divide(class_counts, words_per_class, out=np.zeros_like(class_counts), where=words_per_class > 0)
    avg_words = float(words_per_class.mean())
    freq = class_counts.sum(axis=0)
    idf = np.log1p(avg_words / np.maximum(freq, 1.0))
    weight = tf * idf
    for c, i in index.items():
        w = weight[i]
        nz = np.flatnonzero(w > 0)
        best = nz[np.lexsort((vocab[nz], -w[nz]))][:top]
        result[c] = vocab[best].tolist()
    return result


def name_clusters(top_words: dict[int, list[str]], n_words: int = NAME_WORDS) -> dict[int, str]:
    """A distinct, non-empty name per cluster from its top words ("tax, budget, economy").

    When a name is taken, its last word is replaced by the cluster's next distinctive word; failing
    that, the cluster number is appended. A cluster without words is "cluster N".
    """
    names: dict[int, str] = {}
    used: set[str] = set()
    for c in sorted(top_words):
        words = [w for w in top_words[c] if w]
        if words:
            head = words[: n_words - 1]
            candidates = [", ".join(words[:n_words])] + [", ".join([*head, w]) for w in words[n_words:]]
            name = next((cand for cand in candidates if cand not in used), f"{candidates[0]} ({c})")
        else:
            name = f"cluster {c}"
        while name in used:
            name = f"{name} ({c})"
        used.add(name)
        names[c] = name
    return names


# -- a workspace's map ----------------------------------------------------------------------------
@dataclass
class MapResult:
    model: str
    count: int
    clusters: int
    method: str
    seconds: float
    path: Path


Stage = Callable[[str], None]


def _weighted(progress: Progress, start: int, span: int) -> Progress:
    """Map a step's own (done, total) onto [start, start + span] of a 0..100 job bar."""
    def report(done: int, total: int) -> None:
        progress(start + (span * done // total if total else span), 100)
    return report


def _texts_for_naming(ws: Workspace, ids: list[str], labels: np.ndarray, seed: int) -> tuple[list[str], np.ndarray]:
    """Up to NAME_DOCS documents per cluster (seeded sample), their first NAME_CHARS characters."""
    import pyarrow.compute as pc

    rng = np.random.default_rng(seed)
    chosen: list[np.ndarray] = []
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        if len(rows) > NAME_DOCS:
            rows = rng.choice(rows, size=NAME_DOCS, replace=False)
        chosen.append(rows)
    rows_all = np.sort(np.concatenate(chosen))
    wanted = pa.array([ids[i] for i in rows_all.tolist()], pa.string())
    label_of = dict(zip(wanted.to_pylist(), labels[rows_all].tolist(), strict=True))
    texts: list[str] = []
    text_labels: list[int] = []
    for part in ws.doc_files():
        t = pq.read_table(part, columns=["id", "text"])
        t = t.filter(pc.is_in(t.column("id"), value_set=wanted))
        if not t.num_rows:
            continue
        short = pc.utf8_slice_codeunits(pc.fill_null(t.column("text"), ""), 0, NAME_CHARS)
        texts.extend(short.to_pylist())
        text_labels.extend(label_of[i] for i in t.column("id").to_pylist())
    return texts, np.asarray(text_labels, dtype=np.int32)


def build_map(
    ws: Workspace,
    model: str | None = None,
    method: str = DEFAULT_METHOD,
    clusters: int | None = None,
    seed: int = 0,
    sample_size: int = DEFAULT_SAMPLE,
    progress: Progress = no_progress,
    stage: Stage | None = None,
) -> MapResult:
    """Project, cluster and name; write `maps/<model>.parquet`, `<model>__clusters.parquet` and `<model>.json`.

    Progress runs 0..100 over the steps (projection 0-70, clusters 70-85, names 85-100).
    """
    from core.embed import load_embeddings, resolve_model

    started = time.monotonic()
    say = stage or (lambda _name: None)
    say("loading embeddings")
    model = resolve_model(ws, model)
    ids, x = load_embeddings(ws, model)
    n = len(ids)
    if n < MIN_DOCS:
        raise WinnowError(f"a map needs at least {MIN_DOCS} documents; this workspace has {n}")
    progress(0, 100)
    t0 = time.monotonic()
    say(f"projecting ({method}, fitted on {min(n, sample_size):,} documents)")
    xy, proj = project(x, method, seed=seed, sample_size=sample_size, progress=_weighted(progress, 0, 70))
    t1 = time.monotonic()
    say("clustering (k-means)")
    labels, clu = cluster(x, clusters, seed=seed, progress=_weighted(progress, 70, 15))
    t2 = time.monotonic()
    say("naming clusters (c-TF-IDF)")
    texts, text_labels = _texts_for_naming(ws, ids, labels, seed)
    words = cluster_words(texts, text_labels)
    for c in np.unique(labels).tolist():
        words.setdefault(int(c), [])
    names = name_clusters(words)
    progress(95, 100)
    t3 = time.monotonic()

    points_path, clusters_path, sidecar = map_paths(ws, model)
    sizes = np.bincount(labels, minlength=int(labels.max()) + 1)
    cluster_ids = sorted(names)
    write_parquet(pa.table({
        "cluster": pa.array(cluster_ids, pa.int32()),
        "name": pa.array([names[c] for c in cluster_ids], pa.string()),
        "size": pa.array([int(sizes[c]) for c in cluster_ids], pa.int64()),
        "top_words": pa.array([words[c] for c in cluster_ids], pa.list_(pa.string())),
    }), clusters_path)
    write_json({
        "model": model, "documents": n, "docs": ws.fingerprint(), "seed": seed,
        "projection": proj, "clusters": clu,
        "naming": {"method": "c-TF-IDF", "docs_per_cluster": NAME_DOCS, "chars_per_doc": NAME_CHARS,
                   "name_words": NAME_WORDS},
        "seconds": {"projection": round(t1 - t0, 2), "clustering": round(t2 - t1, 2), "naming": round(t3 - t2, 2),
                    "total": round(time.monotonic() - started, 2)},
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }, sidecar)
    # the points file last: the Store picks the map up when it appears, and its sidecar is already there
    write_parquet(pa.table({
        "id": pa.array(ids, pa.string()),
        "x": pa.array(xy[:, 0], pa.float32()),
        "y": pa.array(xy[:, 1], pa.float32()),
        "cluster": pa.array(labels, pa.int32()),
    }), points_path)
    progress(100, 100)
    return MapResult(model, n, len(cluster_ids), proj["method"], time.monotonic() - started, points_path)


# -- reading a map (for pages and other signals) --------------------------------------------------
def available_maps(ws: Workspace) -> list[str]:
    """Models that have a map, newest first."""
    found = [p for p in ws.dir("maps").glob("*.parquet") if "__" not in p.stem and p.stem != "clusters"]
    return [p.stem for p in sorted(found, key=lambda p: p.stat().st_mtime_ns, reverse=True)]


def map_info(ws: Workspace, model: str) -> dict[str, Any] | None:
    return read_json(map_paths(ws, model)[2])


def load_clusters(ws: Workspace, model: str) -> pa.Table:
    path = map_paths(ws, model)[1]
    if not path.exists():
        raise WinnowError(f"no clusters for the {model} map: run `python -m core map --workspace {ws.root}`")
    return pq.read_table(path)


# -- drawing helpers (pure; the Map page uses them) -----------------------------------------------
def hover_text(snippet: str | None, width: int = 60, lines: int = 3) -> str:
    """A document snippet made safe for Plotly's HTML-like hover labels (<, >, & escaped), wrapped."""
    text = " ".join(str(snippet or "").split())
    rows = [text[i:i + width] for i in range(0, min(len(text), width * lines), width)]
    if len(text) > width * lines:
        rows[-1] = rows[-1][:-1] + "…"
    return "<br>".join(html.escape(r, quote=False) for r in rows) or "(empty)"


def density_grid(x: np.ndarray, y: np.ndarray, bins: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(counts[bins_y, bins_x], x centres, y centres) over the points' extent: the density image."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if not len(x):
        return np.zeros((bins, bins)), np.zeros(bins), np.zeros(bins)
    counts, xe, ye = np.histogram2d(x, y, bins=bins)
    return counts.T, (xe[:-1] + xe[1:]) / 2, (ye[:-1] + ye[1:]) / 2


def in_box(x: np.ndarray, y: np.ndarray, xr: Sequence[float], yr: Sequence[float]) -> np.ndarray:
    x0, x1 = sorted(xr)
    y0, y1 = sorted(yr)
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


def in_polygon(x: np.ndarray, y: np.ndarray, px: Sequence[float], py: Sequence[float]) -> np.ndarray:
    """Which points lie inside a polygon (even-odd ray casting, vectorised over points)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    px = np.asarray(px, dtype=np.float64)
    py = np.asarray(py, dtype=np.float64)
    inside = np.zeros(len(x), dtype=bool)
    if len(px) < 3:
        return inside
    cand = np.flatnonzero(in_box(x, y, (px.min(), px.max()), (py.min(), py.max())))
    cx, cy = x[cand], y[cand]
    hit = np.zeros(len(cand), dtype=bool)
    j = len(px) - 1
    for i in range(len(px)):
        xi, yi, xj, yj = px[i], py[i], px[j], py[j]
        crosses = (yi > cy) != (yj > cy)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = (xj - xi) * (cy - yi) / (yj - yi) + xi
        hit ^= crosses & (cx < at)
        j = i
    inside[cand] = hit
    return inside


def select_region(x: np.ndarray, y: np.ndarray, boxes: Sequence[dict], lassos: Sequence[dict]) -> np.ndarray:
    """Points inside any of the box or lasso selections of a Plotly selection event ({"x": [...], "y": [...]})."""
    mask = np.zeros(len(x), dtype=bool)
    for b in boxes:
        if len(b.get("x", [])) == 2 and len(b.get("y", [])) == 2:
            mask |= in_box(x, y, b["x"], b["y"])
    for la in lassos:
        mask |= in_polygon(x, y, la.get("x", []), la.get("y", []))
    return mask
