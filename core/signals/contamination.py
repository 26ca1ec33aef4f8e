"""`contamination`: how much of a document is copied from a benchmark (word n-gram overlap, GPT-3 style).

Words are lowercased `\\w+` tokens (punctuation and whitespace do not count, so reformatting does not
hide a copy). A document's `overlap` is the share of its word 13-grams that occur in any item of the
benchmark; `matched_item` is the benchmark item it shares the most 13-grams with, `item_coverage` how
much of that item's 13-grams the document holds, and `contaminated` is set when overlap > threshold
(default 0: any shared 13-gram, as GPT-3 flagged its evaluation sets). Documents shorter than n words
have no n-gram and an overlap of 0. Benchmark items shorter than n words cannot be matched; the
sidecar counts them.

n-grams are compared by a 64-bit rolling hash of word ids and every hit is then checked word by word,
so a hash collision never flags a document.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd
from pydantic import Field

from core.errors import WinnowError
from core.progress import Progress
from core.signals.base import Column, CorpusSignal, Params, register
from core.signals.context import SignalContext

WORD_RE = re.compile(r"\w+")
_P = np.uint64(1_000_003)  # the rolling hash's multiplier (odd, so no information is shifted out)


class ContaminationParams(Params):
    n: int = Field(13, ge=3, le=50, description="n-gram length in words (GPT-3 used 13)")
    threshold: float = Field(0.0, ge=0.0, le=1.0, description="flag documents whose overlap is above this "
                             "(0: any shared n-gram)")


def words(text: str) -> list[str]:
    return WORD_RE.findall(text.lower()) if isinstance(text, str) else []


def _window_hashes(ids: np.ndarray, n: int) -> np.ndarray:
    """Hash of every window of n consecutive ids (uint64 arithmetic wraps, which is what we want)."""
    length = len(ids) - n + 1
    if length <= 0:
        return np.zeros(0, dtype=np.uint64)
    u = ids.astype(np.uint64) + np.uint64(1)
    h = np.zeros(length, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * _P + u[k:k + length]
    return h


class BenchmarkIndex:
    """Every word n-gram of a benchmark: hash -> (the words' ids, the items holding it)."""

    def __init__(self, ids: list[str], texts: list[str], n: int) -> None:
        self.n = n
        self.item_ids = ids
        self.vocab: dict[str, int] = {}
        self.grams: dict[int, tuple[tuple[int, ...], set[int]]] = {}
        self.item_ngrams = np.zeros(len(ids), dtype=np.int64)
        for item, text in enumerate(texts):
            w = np.array([self.vocab.setdefault(t, len(self.vocab)) for t in words(text)], dtype=np.int64)
            hashes = _window_hashes(w, n)
            distinct = set()
            for i, h in enumerate(hashes.tolist()):
                gram = tuple(w[i:i + n].tolist())
                entry = self.grams.get(h)
                if entry is None:
                    self.grams[h] = (gram, {item})
                elif entry[0] == gram:
                    entry[1].add(item)
                # else: a 64-bit collision between two different benchmark n-grams; the first one is kept
                distinct.add(gram)
            self.item_ngrams[item] = len(distinct)
        self.hash_array = np.fromiter(self.grams.keys(), dtype=np.uint64, count=len(self.grams))

    def match(self, text: str) -> tuple[int, int, Counter]:
        """(n-grams in the document, n-grams found in the benchmark, Counter of item -> shared n-grams)."""
        toks = words(text)
        total = max(len(toks) - self.n + 1, 0)
        if total == 0 or not len(self.hash_array):
            return total, 0, Counter()
        ids = np.fromiter((self.vocab.get(t, -1) for t in toks), dtype=np.int64, count=len(toks))
        unknown = np.concatenate([[0], np.cumsum(ids < 0)])
        clean = (unknown[self.n:] - unknown[:-self.n]) == 0  # windows made only of benchmark words
        if not clean.any():
            return total, 0, Counter()
        hashes = _window_hashes(np.where(ids < 0, 0, ids), self.n)
        candidates = np.flatnonzero(clean & np.isin(hashes, self.hash_array))
        found, items = 0, Counter()
        seen_per_item: dict[int, set] = {}
        for i in candidates.tolist():
            gram, holders = self.grams[int(hashes[i])]
            if tuple(ids[i:i + self.n].tolist()) != gram:
                continue  # a hash collision, not a shared n-gram
            found += 1
            for item in holders:
                s = seen_per_item.setdefault(item, set())
                if gram not in s:
                    s.add(gram)
                    items[item] += 1
        return total, found, items


@register
class Contamination(CorpusSignal):
    name = "contamination"
    version = "1"
    description = "Share of a document's word 13-grams found in a benchmark, the benchmark item it copies, and a flag"
    reference = "Brown et al. 2020 (GPT-3), 13-gram overlap contamination analysis"
    columns = (
        Column("overlap", "float", "share of the document's word n-grams that occur in the benchmark", better="lower",
               keep_max="threshold", rule="benchmark_overlap"),
        Column("shared_ngrams", "int", "how many of the document's word n-grams occur in the benchmark", better="lower"),
        Column("matched_item", "str", "id of the benchmark item sharing the most n-grams with the document",
               kind="group"),
        Column("item_coverage", "float", "share of that item's distinct n-grams the document contains", better="lower"),
        Column("contaminated", "bool", "overlap above the threshold", kind="flag"),
    )
    needs = frozenset({"text", "benchmark"})
    Params = ContaminationParams
    cost = "moderate"
    batch_size = 5_000

    def compute_corpus(self, ctx: SignalContext, progress: Progress) -> pd.DataFrame:
        p = self.params
        bench = ctx.benchmark_docs()
        index = BenchmarkIndex(bench["id"].tolist(), bench["text"].tolist(), p.n)
        if not index.grams:
            raise WinnowError(f"benchmark {ctx.benchmark!r} has no item of {p.n} words or more: nothing to match "
                              f"(use a smaller n)")
        total = ctx.doc_count()
        progress(0, total)
        rows: dict[str, list] = {c: [] for c in ("id", "overlap", "shared_ngrams", "matched_item", "item_coverage")}
        hits: Counter = Counter()
        done = 0
        for batch in ctx.docs(("id", "text"), self.batch_size):
            for doc_id, text in zip(batch["id"].astype(str), batch["text"], strict=True):
                n_grams, found, items = index.match(text)
                rows["id"].append(doc_id)
                rows["overlap"].append(found / n_grams if n_grams else 0.0)
                rows["shared_ngrams"].append(found)
                if items:
                    item, shared = max(items.items(), key=lambda kv: (kv[1], -kv[0]))
                    rows["matched_item"].append(index.item_ids[item])
                    rows["item_coverage"].append(shared / index.item_ngrams[item])
                    hits[index.item_ids[item]] += 1
                else:
                    rows["matched_item"].append(None)
                    rows["item_coverage"].append(None)
            done += len(batch)
            progress(done, total)
        df = pd.DataFrame(rows)
        df["contaminated"] = df["overlap"] > p.threshold
        self.sidecar_extra = {
            "benchmark_items": len(index.item_ids),
            "benchmark_items_too_short": int((index.item_ngrams == 0).sum()),
            "benchmark_ngrams": len(index.grams),
            "n": p.n,
            "threshold": p.threshold,
            "documents_flagged": int(df["contaminated"].sum()),
            "benchmark_items_matched": len(hits),
            "most_matched_items": [{"item": k, "documents": v} for k, v in hits.most_common(10)],
        }
        return df
