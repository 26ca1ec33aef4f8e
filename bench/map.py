"""Benchmark: time to project and cluster 100k and 1M documents (fit on a sample, transform the rest).

    python -m bench.map [--sizes 100000 1000000] [--method umap|pca|both] [--sample 20000] [--dim 64]

Embeddings are synthetic: a seeded mixture of 60 Gaussian topics in 64 dimensions (the static model's
width), L2-normalised like real ones. Each size runs the same steps as `python -m core map`:
the projection (`core.mapping.project`: fitted on `--sample` documents, `transform` for the rest),
k-means (`core.mapping.cluster`: fitted on up to 50,000 documents, every document assigned; K = auto),
and naming (`core.mapping.cluster_words` on up to 1,000 synthetic documents per cluster). UMAP's
numba compilation happens once per process; it is timed apart on a small warm-up, so the rows show
the work itself. The load average and this process's CPU seconds are printed because the machine may
be shared (wall time then exceeds CPU time).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.mapping import DEFAULT_SAMPLE, NAME_DOCS, auto_k, cluster, cluster_words, project  # noqa: E402

TOPICS = 60


def synthetic_embeddings(n: int, dim: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(TOPICS, dim)).astype(np.float32)
    topic = rng.integers(0, TOPICS, size=n)
    x = centres[topic] + rng.normal(scale=0.8, size=(n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x, topic


def synthetic_texts(labels: np.ndarray, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Up to NAME_DOCS documents per cluster, 60 words each, drawn from a shared and a per-cluster vocabulary."""
    rng = np.random.default_rng(seed)
    common = [f"common{w}" for w in "abcdefghij"]
    texts, out_labels = [], []
    for c in np.unique(labels):
        own = [f"topic{c}word{w}" for w in "abcdefgh"]
        m = min(NAME_DOCS, int((labels == c).sum()))
        for _ in range(m):
            texts.append(" ".join(rng.choice(common + own, size=60)))
            out_labels.append(int(c))
    return texts, np.asarray(out_labels)


def run_size(n: int, method: str, sample: int, dim: int) -> dict[str, float]:
    x, _ = synthetic_embeddings(n, dim)
    c0 = time.process_time()
    t0 = time.perf_counter()
    xy, info = project(x, method, seed=0, sample_size=sample)
    t1 = time.perf_counter()
    labels, cinfo = cluster(x, None, seed=0)
    t2 = time.perf_counter()
    texts, tl = synthetic_texts(labels)
    words = cluster_words(texts, tl)
    t3 = time.perf_counter()
    cpu = time.process_time() - c0
    assert xy.shape == (n, 2) and np.isfinite(xy).all() and len(words) == cinfo["k"]
    return {"project": t1 - t0, "cluster": t2 - t1, "name": t3 - t2, "total": t3 - t0, "cpu": cpu, "k": cinfo["k"],
            "fit": info["fit_sample"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--method", choices=["umap", "pca", "both"], default="both")
    parser.add_argument("--sample", type=int, default=DEFAULT_SAMPLE)
    parser.add_argument("--dim", type=int, default=64)
    args = parser.parse_args(argv)
    methods = ["pca", "umap"] if args.method == "both" else [args.method]
    print(f"cores: {os.cpu_count()}, load average: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")
    if "umap" in methods:
        t = time.perf_counter()
        project(synthetic_embeddings(300, args.dim)[0], "umap", seed=0)
        print(f"UMAP warm-up (numba compile or cache load, once per process): {time.perf_counter() - t:.1f}s")
    print(f"{'documents':>10} {'method':>6} {'fit on':>7} {'K':>3} {'project s':>10} {'cluster s':>10} "
          f"{'name s':>7} {'total s':>8} {'CPU s':>7} {'docs/s':>9}")
    for n in args.sizes:
        for method in methods:
            r = run_size(n, method, args.sample, args.dim)
            print(f"{n:>10,} {method:>6} {r['fit']:>7,} {r['k']:>3} {r['project']:>10.1f} {r['cluster']:>10.1f} "
                  f"{r['name']:>7.1f} {r['total']:>8.1f} {r['cpu']:>7.1f} {n / r['total']:>9,.0f}", flush=True)
    print(f"K = auto ({auto_k(100_000)} at 100k); load average after: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
