"""Benchmark: our MinHash LSH near-duplicate signal (rensa sketches + numpy banding) against datasketch.

    python -m bench.minhash [--n 100000] [--sample 20000] [--copies 0.02] [--seed 0]

Documents: packaged text (bench/_corpus.py) plus edited copies of a share of them (a few words
deleted, swapped or doubled, as near duplicates). Both sides use the same shingles (word 5-grams
of the signal's tokenisation: ours hashes them in numpy, datasketch gets them as UTF-8 strings,
as its API takes them), 112 permutations as 14 bands x 8 rows, and link a candidate pair
when its estimated Jaccard is >= 0.7; groups are connected components.

- speed: end-to-end seconds on --n documents (shingling, sketching, LSH, verification, groups),
  ours vs datasketch (MinHash.bulk + MinHashLSH with params=(14, 8));
- recall on a --sample subset: the share of pairs with exact 5-gram Jaccard >= 0.8 (computed
  exactly with a sparse shingle matrix) that end up in the same group, for both.
Needs `pip install -r requirements-bench.txt` (datasketch).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._corpus import documents, near_duplicate  # noqa: E402
from core.signals._groups import groups_from_pairs  # noqa: E402
from core.signals.minhash_dup import (  # noqa: E402
    estimated_jaccard,
    hashed_signatures,
    lsh_candidates,
    shingle_sets,
    signatures,
)

NGRAM, NUM_PERM, BANDS, ROWS, THRESHOLD, SEED = 5, 112, 14, 8, 0.7, 42


def corpus(n: int, copies: float, seed: int) -> list[str]:
    rng = random.Random(seed)
    k = int(n * copies)
    base = documents(n - k, seed)
    originals = rng.sample(range(len(base)), k)
    docs = base + [near_duplicate(base[i], rng) for i in originals]
    rng.shuffle(docs)
    return docs


def ours(texts: list[str]) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    sig, empty = hashed_signatures(texts, NGRAM, NUM_PERM, SEED)
    left, right = lsh_candidates(sig, BANDS, ROWS)
    keep = ~(empty[left] | empty[right])
    left, right = left[keep], right[keep]
    linked = estimated_jaccard(sig, left, right) >= THRESHOLD
    group, _, _ = groups_from_pairs(len(texts), left[linked], right[linked])
    return group, time.perf_counter() - start


def theirs(texts: list[str]) -> tuple[np.ndarray, float]:
    from datasketch import MinHash, MinHashLSH

    start = time.perf_counter()
    sets = shingle_sets(texts, NGRAM)
    hashes = MinHash.bulk([[s.encode("utf-8") for s in shingles] for shingles in sets], num_perm=NUM_PERM, seed=SEED)
    lsh = MinHashLSH(num_perm=NUM_PERM, params=(BANDS, ROWS))
    with lsh.insertion_session() as session:
        for i, (mh, shingles) in enumerate(zip(hashes, sets, strict=True)):
            if shingles:
                session.insert(i, mh, check_duplication=False)
    left, right = [], []
    for i, (mh, shingles) in enumerate(zip(hashes, sets, strict=True)):
        if not shingles:
            continue
        for j in lsh.query(mh):
            if j > i and mh.jaccard(hashes[j]) >= THRESHOLD:
                left.append(i)
                right.append(j)
    group, _, _ = groups_from_pairs(len(texts), np.array(left, dtype=np.int64), np.array(right, dtype=np.int64))
    return group, time.perf_counter() - start


def exact_pairs(texts: list[str], threshold: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """All pairs with exact shingle-set Jaccard >= threshold (sparse intersection counts)."""
    from scipy.sparse import csr_matrix

    sets = shingle_sets(texts, NGRAM)
    vocab: dict[str, int] = {}
    indptr, indices = [0], []
    for s in sets:
        indices += [vocab.setdefault(x, len(vocab)) for x in s]
        indptr.append(len(indices))
    x = csr_matrix((np.ones(len(indices), dtype=np.int32), np.array(indices), np.array(indptr)),
                   shape=(len(sets), max(len(vocab), 1)))
    sizes = np.diff(x.indptr)
    inter = (x @ x.T).tocoo()
    i, j, c = inter.row, inter.col, inter.data
    upper = i < j
    i, j, c = i[upper], j[upper], c[upper]
    jac = c / (sizes[i] + sizes[j] - c)
    hit = jac >= threshold
    return i[hit], j[hit]


def recall(group: np.ndarray, i: np.ndarray, j: np.ndarray) -> float:
    if len(i) == 0:
        return float("nan")
    return float(((group[i] == group[j]) & (group[i] >= 0)).mean())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.minhash", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="documents for the speed test (default 100,000)")
    ap.add_argument("--sample", type=int, default=20_000, help="documents for the recall test (default 20,000)")
    ap.add_argument("--copies", type=float, default=0.02, help="share of near-duplicate copies planted (default 0.02)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    t = time.perf_counter()
    docs = corpus(args.n, args.copies, args.seed)
    print(f"{len(docs):,} documents ({int(args.n * args.copies):,} edited copies) loaded in {time.perf_counter() - t:.1f}s")
    print(f"shingles: word {NGRAM}-grams; {NUM_PERM} permutations = {BANDS} bands x {ROWS} rows "
          f"(LSH midpoint {(1 / BANDS) ** (1 / ROWS):.2f}); link when estimated Jaccard >= {THRESHOLD}")

    g_ours, s_ours = ours(docs)
    g_theirs, s_theirs = theirs(docs)
    agree = float((((g_ours >= 0) == (g_theirs >= 0))).mean())
    print(f"\nspeed on {len(docs):,} documents: ours {s_ours:.1f}s, datasketch {s_theirs:.1f}s, "
          f"ratio {s_theirs / s_ours:.1f}x")
    print(f"documents in a duplicate group: ours {int((g_ours >= 0).sum()):,}, datasketch {int((g_theirs >= 0).sum()):,} "
          f"(same in-group/not decision for {agree:.2%} of documents)")

    sample = docs[: args.sample]
    sets = [s or [""] for s in shingle_sets(sample, NGRAM)]
    t = time.perf_counter()
    signatures(sets, NUM_PERM, SEED)
    t_rensa = time.perf_counter() - t
    from datasketch import MinHash

    encoded = [[x.encode("utf-8") for x in s] for s in sets]
    t = time.perf_counter()
    MinHash.bulk(encoded, num_perm=NUM_PERM, seed=SEED)
    t_ds = time.perf_counter() - t
    print(f"\nsketching alone ({len(sample):,} documents, the same string shingles): rensa RMinHash "
          f"{t_rensa:.2f}s, datasketch MinHash.bulk {t_ds:.2f}s ({t_ds / t_rensa:.1f}x)")
    t = time.perf_counter()
    i, j = exact_pairs(sample)
    print(f"\nrecall on {len(sample):,} documents: {len(i):,} pairs with exact Jaccard >= 0.8 "
          f"(found in {time.perf_counter() - t:.1f}s)")
    go, _ = ours(sample)
    gt, _ = theirs(sample)
    print(f"  ours       recall {recall(go, i, j):.4f}")
    print(f"  datasketch recall {recall(gt, i, j):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
