"""DSIR: data selection by importance resampling over hashed n-gram features (Xie et al. 2023).

Faithful to the reference implementation (PyPI `data-selection`, `HashedNgramDSIR`): lowercase,
WordPunct tokens (regex `\\w+|[^\\w\\s]+` as nltk runs it: with the `regex` engine since nltk 3.10, whose
`\\w` includes combining marks and excludes non-decimal digits such as "²", unlike `re`), unigrams +
bigrams (words joined by one space), each hashed to `int(sha256(utf-8).hexdigest(), 16) % num_buckets`.
Bucket distributions p_target and p_raw are counts / total; `log_diff = log(p_target + 1e-8) - log(p_raw + 1e-8)`; a document's log importance
weight is `log_diff · its bucket counts`.

What differs is only how the same numbers are computed:
- a batch of documents is tokenised by one regex call (documents split by a separator character);
- every distinct token and bigram is hashed once per process (the reference hashes every occurrence,
  twice: once to fit, once to score): tokens get ids, a bigram is an int64 key looked up in a sorted
  array, so no string is built for a bigram seen before;
- a batch keeps its bucket ids per occurrence (2 bytes each), so totals and weights are `bincount`s;
- batches are featurised in a process pool over all cores.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
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
_SEPARATORS = ("\x01", "\x02", "\ufdd0", "\ufdd1")  # non-word characters that split documents (not NUL: numpy drops it)
_MAX_KNOWN = 8_000_000  # distinct tokens / bigrams remembered per process (~100 MB); past it, start afresh


def _hash_many(strings: Sequence[str], num_buckets: int) -> np.ndarray:
    sha, frombytes = hashlib.sha256, int.from_bytes
    return np.fromiter((frombytes(sha(s.encode("utf-8")).digest(), "big") % num_buckets for s in strings),
                       dtype=np.int32, count=len(strings))


def _buckets_of(strings: Sequence[str], num_buckets: int) -> np.ndarray:
    """Buckets of distinct n-gram strings (3-grams and longer), remembered per process."""
    cache = _bucket_cache.setdefault(num_buckets, {})
    if len(cache) > _MAX_KNOWN:
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


class _Hasher:
    """Per-process memory of hashed tokens and bigrams: each distinct one is hashed once per process.

    Tokens get global ids (a dict from the string); a bigram is the int64 key (left id << 32 | right id),
    looked up in a sorted array with `searchsorted`, so the hot path never builds a bigram string that was
    seen before.
    """

    def __init__(self, num_buckets: int) -> None:
        self.num_buckets = num_buckets
        self.vocab: dict[str, int] = {}
        self.strings: list[str] = []
        self.token_bucket = np.zeros(0, dtype=np.int32)
        self.bigram_keys = np.zeros(0, dtype=np.int64)
        self.bigram_bucket = np.zeros(0, dtype=np.int32)

    def full(self) -> bool:
        return len(self.strings) > _MAX_KNOWN or len(self.bigram_keys) > _MAX_KNOWN

    def token_ids(self, tokens: np.ndarray) -> np.ndarray:
        """Global ids of distinct token strings (new ones are added and hashed)."""
        get = self.vocab.get
        ids = np.fromiter((get(s, -1) for s in tokens), dtype=np.int64, count=len(tokens))
        new = np.flatnonzero(ids < 0)
        if len(new):
            start = len(self.strings)
            fresh = tokens[new].tolist()
            self.vocab.update(zip(fresh, range(start, start + len(fresh)), strict=True))
            self.strings.extend(fresh)
            ids[new] = np.arange(start, start + len(fresh))
            self.token_bucket = np.concatenate([self.token_bucket, _hash_many(fresh, self.num_buckets)])
        return ids

    def bigram_buckets(self, keys: np.ndarray) -> np.ndarray:
        """Buckets of sorted distinct bigram keys (new ones are hashed and merged into the sorted table)."""
        out = np.empty(len(keys), dtype=np.int32)
        known = self.bigram_keys
        if len(known):
            pos = np.minimum(np.searchsorted(known, keys), len(known) - 1)
            found = known[pos] == keys
            out[found] = self.bigram_bucket[pos[found]]
        else:
            found = np.zeros(len(keys), dtype=bool)
        new_keys = keys[~found]
        if len(new_keys):
            s = self.strings
            left, right = (new_keys >> 32).tolist(), (new_keys & 0xFFFFFFFF).tolist()
            fresh = _hash_many([s[a] + " " + s[b] for a, b in zip(left, right, strict=True)], self.num_buckets)
            out[~found] = fresh
            merged = np.concatenate([known, new_keys])
            order = np.argsort(merged, kind="stable")  # two sorted runs: timsort merges them in linear time
            self.bigram_keys = merged[order]
            self.bigram_bucket = np.concatenate([self.bigram_bucket, fresh])[order]
        return out


_hashers: dict[int, _Hasher] = {}


def _hasher(num_buckets: int) -> _Hasher:
    h = _hashers.get(num_buckets)
    if h is None or h.full():
        h = _hashers[num_buckets] = _Hasher(num_buckets)
    return h


def clear_caches() -> None:
    """Forget every hashed n-gram of this process (benchmarks start cold with it)."""
    _hashers.clear()
    _bucket_cache.clear()


@dataclass
class Features:
    """Hashed n-gram buckets of a batch, kept per occurrence and grouped by document.

    `levels[k]` holds the buckets of every (k+1)-gram, document after document in `doc_order` (a
    document of t tokens has max(t - k, 0) of them); `n_tokens` is in input order. Bucket counts per
    document (`counts`, a sparse matrix) and weights are computed from these without sorting anything.
    """

    levels: list[np.ndarray]
    n_tokens: np.ndarray
    num_buckets: int = NUM_BUCKETS
    doc_order: np.ndarray | None = None  # input index of each stored document (None: input order)

    def __len__(self) -> int:
        return len(self.n_tokens)

    def _stored_rows(self, k: int) -> np.ndarray:
        """Row (input index) of every occurrence of level k."""
        order = np.arange(len(self)) if self.doc_order is None else self.doc_order
        per_doc = np.maximum(self.n_tokens[order] - k, 0)
        return np.repeat(order, per_doc)

    def totals(self) -> np.ndarray:
        out = np.zeros(self.num_buckets, dtype=np.int64)
        for lv in self.levels:
            out += np.bincount(lv, minlength=self.num_buckets)
        return out

    def weights(self, diff: np.ndarray) -> np.ndarray:
        out = np.zeros(len(self), dtype=np.float64)
        for k, lv in enumerate(self.levels):
            if len(lv):
                out += np.bincount(self._stored_rows(k), weights=diff[lv], minlength=len(self))
        return out

    @property
    def counts(self) -> sparse.csr_matrix:
        rows = [self._stored_rows(k) for k in range(len(self.levels))]
        r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        c = np.concatenate(self.levels) if self.levels else np.zeros(0, dtype=np.int32)
        m = sparse.csr_matrix((np.ones(len(r), dtype=np.int32), (r, c)), shape=(len(self), self.num_buckets))
        m.sum_duplicates()
        return m

    def save(self, fh) -> None:
        small = np.uint16 if self.num_buckets <= 65_536 else np.int32
        arrays = {f"level{k}": lv.astype(small) for k, lv in enumerate(self.levels)}
        if self.doc_order is not None:
            arrays["doc_order"] = self.doc_order
        np.savez(fh, n_tokens=self.n_tokens, num_buckets=np.array(self.num_buckets), **arrays)

    @classmethod
    def load(cls, path) -> Features:
        with np.load(path) as z:
            k = 0
            levels = []
            while f"level{k}" in z:
                levels.append(z[f"level{k}"].astype(np.int64))
                k += 1
            return cls(levels, z["n_tokens"], int(z["num_buckets"]), z.get("doc_order"))


def _tokens_joined(lowered: list[str], sep: str) -> tuple[list[str], np.ndarray]:
    """Tokens of several documents from one regex call per engine; documents are split by `sep` tokens.

    Returns (tokens with one `sep` between consecutive documents, input index of each document in order).
    """
    fast = [i for i, s in enumerate(lowered) if s.isascii() and not _RE_DIFFERS.search(s)]
    if len(fast) == len(lowered):
        return TOKEN_RE.findall(f" {sep} ".join(lowered)), np.arange(len(lowered))
    fast_set = set(fast)
    slow = [i for i in range(len(lowered)) if i not in fast_set]
    toks = TOKEN_RE.findall(f" {sep} ".join(lowered[i] for i in fast)) if fast else []
    if fast:
        toks.append(sep)
    toks.extend(UNICODE_TOKEN_RE.findall(f" {sep} ".join(lowered[i] for i in slow)))
    return toks, np.array(fast + slow, dtype=np.int64)


def featurize(texts: Sequence[str], ngrams: int = NGRAMS, num_buckets: int = NUM_BUCKETS) -> Features:
    """Hashed unigram..n-gram buckets of each text (the same counts as `ngram_counts`, row by row)."""
    if ngrams < 1:
        raise ValueError("ngrams must be >= 1")
    n_docs = len(texts)
    lowered = [t.lower() if isinstance(t, str) else "" for t in texts]
    sep = next((c for c in _SEPARATORS if not any(c in s for s in lowered)), None)
    if sep is None:  # a batch holding every separator character: tokenise document by document
        return _featurize_each(lowered, ngrams, num_buckets)
    toks, order = _tokens_joined(lowered, sep) if n_docs else ([], np.zeros(0, dtype=np.int64))
    if not toks:
        return Features([np.zeros(0, dtype=np.int64) for _ in range(ngrams)], np.zeros(n_docs, dtype=np.int64),
                        num_buckets)
    codes, uniq = pd.factorize(np.array(toks, dtype=object))
    codes = codes.astype(np.int64)
    sep_code = np.flatnonzero(uniq == sep)
    is_sep = codes == sep_code[0] if len(sep_code) else np.zeros(len(codes), dtype=bool)
    # tokens per document, in stored order: the gaps between separators
    cuts = np.flatnonzero(is_sep)
    stored_len = np.diff(np.concatenate([[-1], cuts, [len(codes)]])) - 1
    n_tokens = np.zeros(n_docs, dtype=np.int64)
    n_tokens[order] = stored_len
    h = _hasher(num_buckets)
    gid = h.token_ids(uniq)
    if len(sep_code):
        gid[sep_code[0]] = -1
    g = gid[codes]  # global token id per position, -1 at separators
    levels = [h.token_bucket[g[~is_sep]].astype(np.int64)]
    if ngrams >= 2:
        valid = (g[:-1] >= 0) & (g[1:] >= 0)
        keys = (g[:-1] << 32) | g[1:]
        keys = keys[valid]
        ukeys, inverse = np.unique(keys, return_inverse=True)
        levels.append(h.bigram_buckets(ukeys)[inverse].astype(np.int64))
        if ngrams >= 3:
            levels.extend(_longer_levels(g, h, ukeys, inverse, valid, ngrams, num_buckets))
    return Features(levels, n_tokens, num_buckets, None if np.array_equal(order, np.arange(n_docs)) else order)


def _longer_levels(g, h, ukeys, inverse, valid, ngrams, num_buckets) -> list[np.ndarray]:
    """3-grams and longer: extend the previous level's distinct n-grams by one token, as strings."""
    s = h.strings
    prev_strings = [s[a] + " " + s[b] for a, b in zip((ukeys >> 32).tolist(), (ukeys & 0xFFFFFFFF).tolist(),
                                                       strict=True)]
    prev = np.full(len(g) - 1, -1, dtype=np.int64)  # code of the n-gram starting at each position
    prev[valid] = inverse
    out = []
    for n in range(3, ngrams + 1):
        if len(prev) <= 1:
            out.append(np.zeros(0, dtype=np.int64))
            continue
        nxt = g[n - 1:]
        ok = (prev[:-1] >= 0) & (nxt >= 0)
        pair = prev[:-1] * (len(s) + 1) + nxt
        codes, uniq = pd.factorize(pair[ok])
        left, right = np.divmod(uniq, len(s) + 1)
        strings = [prev_strings[a] + " " + s[b] for a, b in zip(left.tolist(), right.tolist(), strict=True)]
        out.append(_buckets_of(strings, num_buckets)[codes].astype(np.int64))
        prev = np.full(len(pair), -1, dtype=np.int64)
        prev[ok] = codes
        prev_strings = strings
    return out


def _featurize_each(lowered: list[str], ngrams: int, num_buckets: int) -> Features:
    levels: list[list[int]] = [[] for _ in range(ngrams)]
    n_tokens = []
    for text in lowered:
        words = _findall(text)
        n_tokens.append(len(words))
        for n in range(1, ngrams + 1):
            levels[n - 1].extend(hash_bucket(" ".join(words[i:i + n]), num_buckets) for i in range(len(words) - n + 1))
    return Features([np.array(lv, dtype=np.int64) for lv in levels], np.array(n_tokens, dtype=np.int64), num_buckets)


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
    if isinstance(features, Features):
        return features.totals()
    return np.asarray(features.sum(axis=0), dtype=np.int64).ravel()


def log_diff(target_counts: np.ndarray, raw_counts: np.ndarray) -> np.ndarray:
    """log(p_target + 1e-8) − log(p_raw + 1e-8), with p = counts / total."""
    t = np.asarray(target_counts, dtype=np.float64)
    r = np.asarray(raw_counts, dtype=np.float64)
    p_t = t / t.sum() if t.sum() > 0 else t
    p_r = r / r.sum() if r.sum() > 0 else r
    return np.log(p_t + EPS) - np.log(p_r + EPS)


def log_weights(features: Features | sparse.spmatrix, diff: np.ndarray) -> np.ndarray:
    """log importance weight of each row: its bucket counts · log_diff."""
    if isinstance(features, Features):
        return features.weights(diff)
    return np.asarray(features @ diff, dtype=np.float64).ravel()


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
    batch_size: int = 5_000,
    progress: Progress = no_progress,
) -> DSIRFit:
    """Fit p_raw on `raw_texts` and p_target on `target_texts`; return every raw document's log weight.

    One pass featurises the raw documents (kept as bucket ids), so nothing is hashed twice.
    """
    total = len(raw_texts)
    progress(0, total)
    mats, lengths, done = [], [], 0
    for feats in featurize_batches(_chunks(raw_texts, batch_size), ngrams, num_buckets, workers):
        mats.append(feats)
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

