"""DSIR: data selection by importance resampling over hashed n-gram features (Xie et al. 2023).

Faithful to the reference implementation (PyPI `data-selection`, `HashedNgramDSIR`): lowercase,
WordPunct tokens (regex `\\w+|[^\\w\\s]+` as nltk runs it: with the `regex` engine since nltk 3.10, whose
`\\w` includes combining marks and excludes non-decimal digits such as "²", unlike `re`), unigrams +
bigrams (words joined by one space), each hashed to `int(sha256(utf-8).hexdigest(), 16) % num_buckets`.
Bucket distributions p_target and p_raw are counts / total; `log_diff = log(p_target + 1e-8) - log(p_raw + 1e-8)`; a document's log importance
weight is `log_diff · its bucket counts`.

What differs is only how the same numbers are computed:
- every distinct n-gram of a batch is hashed once (the reference hashes every occurrence, twice:
  once to fit, once to score), and a per-process cache remembers buckets across batches;
- token ids, bigram keys and per-document bucket counts are numpy arrays (pandas' hash factorize,
  a sparse doc × bucket matrix), so weights are one sparse mat-vec;
- batches are featurised in a process pool over all cores.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import chain
from multiprocessing import get_context

import numpy as np
import pandas as pd
from scipy import sparse

from core.progress import Progress, no_progress

NUM_BUCKETS = 10_000
NGRAMS = 2
MIN_LENGTH = 100  # the reference drops documents with fewer tokens than this when resampling
EPS = 1e-8
TOKEN_RE = re.compile(r"\w+|[^\w\s]+")  # nltk's WordPunctTokenizer pattern; `re` agrees with nltk on ASCII text
try:  # nltk >= 3.10 compiles it with the `regex` engine (Unicode word classes); it ships with nltk and transformers
    import regex as _regex

    UNICODE_TOKEN_RE = _regex.compile(r"\w+|[^\w\s]+", _regex.UNICODE | _regex.MULTILINE | _regex.DOTALL)
except ImportError:  # pragma: no cover - then non-ASCII text tokenises as older nltk (stdlib `re`) did
    UNICODE_TOKEN_RE = TOKEN_RE
_RE_DIFFERS = re.compile(r"[\x1c-\x1f]")  # ASCII that `re` counts as whitespace and `regex` does not
_CACHE_MAX = 2_000_000  # distinct n-grams remembered per process (~200 MB at most)
_bucket_cache: dict[int, dict[str, int]] = {}


# -- the reference's primitives (kept literal, for the check values) ----------------------------
def _findall(lowered: str) -> list[str]:
    """WordPunct tokens of lowercased text: the fast `re` engine where it agrees with nltk's (plain ASCII)."""
    if lowered.isascii() and not _RE_DIFFERS.search(lowered):
        return TOKEN_RE.findall(lowered)
    return UNICODE_TOKEN_RE.findall(lowered)


def tokenize(text: str) -> list[str]:
    """Lowercased WordPunct tokens, as the reference's `wpt.tokenize(line.lower())`."""
    return _findall(text.lower())


def hash_bucket(ngram: str, num_buckets: int = NUM_BUCKETS) -> int:
    """int(sha256(utf-8).hexdigest(), 16) % num_buckets (big-endian bytes give the same integer)."""
    return int.from_bytes(hashlib.sha256(ngram.encode("utf-8")).digest(), "big") % num_buckets


def ngram_counts(text: str, ngrams: int = NGRAMS, num_buckets: int = NUM_BUCKETS) -> np.ndarray:
    """Bucket counts of one document: unigrams plus 2..n-grams (the reference's `get_ngram_counts`)."""
    words = tokenize(text)
    counts = np.zeros(num_buckets, dtype=np.int64)
    for w in words:
        counts[hash_bucket(w, num_buckets)] += 1
    for n in range(2, ngrams + 1):
        for i in range(len(words) - n + 1):
            counts[hash_bucket(" ".join(words[i:i + n]), num_buckets)] += 1
    return counts


# -- the vectorised featuriser ---------------------------------------------------------------
def _buckets_of(strings: Sequence[str], num_buckets: int) -> np.ndarray:
    """Buckets of distinct n-gram strings, hashing each only the first time this process sees it."""
    cache = _bucket_cache.setdefault(num_buckets, {})
    if len(cache) > _CACHE_MAX:
        cache.clear()
    out = np.empty(len(strings), dtype=np.int32)
    sha, frombytes = hashlib.sha256, int.from_bytes
    get = cache.get
    for i, s in enumerate(strings):
        b = get(s)
        if b is None:
            b = cache[s] = frombytes(sha(s.encode("utf-8")).digest(), "big") % num_buckets
        out[i] = b
    return out


@dataclass
class Features:
    """Hashed n-gram counts of a batch: a (docs × buckets) sparse count matrix and token counts."""

    counts: sparse.csr_matrix
    n_tokens: np.ndarray

    def __len__(self) -> int:
        return self.counts.shape[0]


def featurize(texts: Sequence[str], ngrams: int = NGRAMS, num_buckets: int = NUM_BUCKETS) -> Features:
    """Hashed unigram..n-gram bucket counts for each text (same counts as `ngram_counts`, row by row)."""
    if ngrams < 1:
        raise ValueError("ngrams must be >= 1")
    n_docs = len(texts)
    token_lists = [_findall(t.lower()) if isinstance(t, str) else [] for t in texts]
    lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=n_docs)
    total = int(lengths.sum())
    if total == 0:
        return Features(sparse.csr_matrix((n_docs, num_buckets), dtype=np.int32), lengths)
    flat = np.fromiter(chain.from_iterable(token_lists), dtype=object, count=total)
    codes, vocab = pd.factorize(flat)
    codes = codes.astype(np.int64)
    doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
    rows = [doc_of]
    cols = [_buckets_of(vocab, num_buckets)[codes]]
    # n-grams: consecutive token ids inside one document, factorised level by level
    keys, key_strings = codes, vocab
    for n in range(2, ngrams + 1):
        if len(keys) <= 1:
            break
        same_doc = doc_of[: len(doc_of) - n + 1] == doc_of[n - 1:]
        pair = keys[:-1] * len(vocab) + codes[n - 1:]
        pair_codes, uniq = pd.factorize(pair[same_doc])
        if len(uniq) == 0:
            break
        left, right = np.divmod(uniq, len(vocab))
        strings = [key_strings[a] + " " + vocab[b] for a, b in zip(left.tolist(), right.tolist(), strict=True)]
        rows.append(doc_of[: len(doc_of) - n + 1][same_doc])
        cols.append(_buckets_of(strings, num_buckets)[pair_codes])
        # the next level extends these n-grams: a code per start position (−1 where it crosses documents,
        # which the next level's same_doc mask excludes as well)
        full = np.full(len(pair), -1, dtype=np.int64)
        full[same_doc] = pair_codes
        keys, key_strings = full, strings
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    counts = sparse.csr_matrix((np.ones(len(r), dtype=np.int32), (r, c)), shape=(n_docs, num_buckets))
    counts.sum_duplicates()
    return Features(counts, lengths)


def _featurize_job(args: tuple[list[str], int, int]) -> Features:
    texts, ngrams, num_buckets = args
    return featurize(texts, ngrams, num_buckets)


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def featurize_batches(
    batches: Iterable[list[str]],
    ngrams: int = NGRAMS,
    num_buckets: int = NUM_BUCKETS,
    workers: int | None = None,
) -> Iterator[Features]:
    """Featurise batches in order, in a process pool when workers > 1 (at most 2 batches per worker in flight)."""
    workers = default_workers() if workers is None else max(1, workers)
    if workers == 1:
        for texts in batches:
            yield featurize(texts, ngrams, num_buckets)
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        pending = []
        for texts in batches:
            pending.append(pool.submit(_featurize_job, (list(texts), ngrams, num_buckets)))
            while len(pending) >= 2 * workers:
                yield pending.pop(0).result()
        for fut in pending:
            yield fut.result()


# -- fitting and weights -----------------------------------------------------------------------
def bucket_totals(features: Features | sparse.spmatrix) -> np.ndarray:
    """Total count per bucket over a batch (int64)."""
    m = features.counts if isinstance(features, Features) else features
    return np.asarray(m.sum(axis=0), dtype=np.int64).ravel()


def log_diff(target_counts: np.ndarray, raw_counts: np.ndarray) -> np.ndarray:
    """log(p_target + 1e-8) − log(p_raw + 1e-8), with p = counts / total."""
    t = np.asarray(target_counts, dtype=np.float64)
    r = np.asarray(raw_counts, dtype=np.float64)
    p_t = t / t.sum() if t.sum() > 0 else t
    p_r = r / r.sum() if r.sum() > 0 else r
    return np.log(p_t + EPS) - np.log(p_r + EPS)


def log_weights(features: Features | sparse.spmatrix, diff: np.ndarray) -> np.ndarray:
    """log importance weight of each row: its bucket counts · log_diff."""
    m = features.counts if isinstance(features, Features) else features
    return np.asarray(m @ diff, dtype=np.float64).ravel()


@dataclass
class DSIRFit:
    """A fitted DSIR estimator: raw and target bucket counts, and the weights of the raw documents."""

    raw_counts: np.ndarray
    target_counts: np.ndarray
    log_weights: np.ndarray = field(repr=False)
    n_tokens: np.ndarray = field(repr=False)
    ngrams: int = NGRAMS
    num_buckets: int = NUM_BUCKETS

    @property
    def log_diff(self) -> np.ndarray:
        return log_diff(self.target_counts, self.raw_counts)


def _chunks(texts: Sequence[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(texts), size):
        yield list(texts[i:i + size])


def dsir_log_weights(
    raw_texts: Sequence[str],
    target_texts: Sequence[str],
    *,
    ngrams: int = NGRAMS,
    num_buckets: int = NUM_BUCKETS,
    workers: int | None = 1,
    batch_size: int = 2_000,
    progress: Progress = no_progress,
) -> DSIRFit:
    """Fit p_raw on `raw_texts` and p_target on `target_texts`; return every raw document's log weight.

    One pass featurises the raw documents (kept as sparse counts), so nothing is hashed twice.
    """
    total = len(raw_texts)
    progress(0, total)
    mats, lengths, done = [], [], 0
    for feats in featurize_batches(_chunks(raw_texts, batch_size), ngrams, num_buckets, workers):
        mats.append(feats.counts)
        lengths.append(feats.n_tokens)
        done += len(feats)
        progress(done, total)
    target = featurize(list(target_texts), ngrams, num_buckets)
    raw_counts = sum((bucket_totals(m) for m in mats), np.zeros(num_buckets, dtype=np.int64))
    target_counts = bucket_totals(target)
    diff = log_diff(target_counts, raw_counts)
    weights = np.concatenate([log_weights(m, diff) for m in mats]) if mats else np.zeros(0)
    n_tokens = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)
    return DSIRFit(raw_counts, target_counts, weights, n_tokens, ngrams, num_buckets)


# -- resampling --------------------------------------------------------------------------------
def dsir_resample(
    log_w: np.ndarray,
    k: int,
    *,
    seed: int = 0,
    top_k: bool = False,
    keep: np.ndarray | None = None,
) -> np.ndarray:
    """Indices of k documents: Gumbel-top-k sampling without replacement ∝ exp(log_w), or the top k.

    `keep` (boolean) restricts the candidates, e.g. `n_tokens >= MIN_LENGTH` as the reference does.
    Returned in descending order of the (noised) weight.
    """
    log_w = np.asarray(log_w, dtype=np.float64)
    candidates = np.flatnonzero(keep) if keep is not None else np.arange(len(log_w))
    k = min(int(k), len(candidates))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    scores = log_w[candidates].copy()
    if not top_k:
        scores += np.random.default_rng(seed).gumbel(size=scores.shape)
    part = np.argpartition(-scores, k - 1)[:k]
    part = part[np.argsort(-scores[part], kind="stable")]
    return candidates[part]


def kl_divergence(p_counts: np.ndarray, q_counts: np.ndarray) -> float:
    """KL(p || q) of two bucket distributions (smoothed by 1e-8), as used for DSIR's KL reduction."""
    p = np.asarray(p_counts, dtype=np.float64)
    q = np.asarray(q_counts, dtype=np.float64)
    p = p / p.sum() if p.sum() else p
    q = q / q.sum() if q.sum() else q
    return float(np.sum(p * (np.log(p + EPS) - np.log(q + EPS))))

