"""`dsir`: DSIR log importance weight of every document against a target (Xie et al. 2023).

p_raw is fitted on the whole workspace, p_target on the target's examples (hashed unigrams + bigrams,
10,000 buckets, as `data-selection`'s HashedNgramDSIR; see core/dsir.py). Higher = more like the
target. `n_tokens` carries the reference's min-length filter as a keep threshold (`min_length`,
default 100 tokens), so the weights are stored for every document and the filter stays a slider.

The featurised batches are checkpointed under the run's scratch folder, so a killed job resumes
without hashing again; the fitted bucket counts are written beside the result
(`signals/dsir__<target>.buckets.npz`) and summarised in the sidecar.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import Field

from core import dsir
from core.progress import Progress
from core.signals.base import Column, CorpusSignal, Params, register
from core.signals.context import SignalContext
from core.workspace import atomic_path

PARALLEL_MIN_DOCS = 8_000  # below this a process pool costs more to start than it saves


class DSIRParams(Params):
    ngrams: int = Field(dsir.NGRAMS, ge=1, le=3, description="n-gram order: 2 = unigrams + bigrams (the reference)")
    num_buckets: int = Field(dsir.NUM_BUCKETS, ge=16, le=1_000_000, description="hash buckets (reference: 10,000)")
    min_length: int = Field(dsir.MIN_LENGTH, ge=0, description="keep documents with at least this many tokens "
                            "(the reference drops shorter ones before resampling)")


@register
class DSIR(CorpusSignal):
    name = "dsir"
    version = "2"
    description = "DSIR log importance weight: how much more likely a document's hashed n-grams are under the target than the pool"
    reference = "Xie et al. 2023, Data Selection for Language Models via Importance Resampling; PyPI data-selection (HashedNgramDSIR)"
    columns = (
        Column("log_weight", "float", "log p_target(x) / p_raw(x) under hashed unigram+bigram models (higher = more like the target)",
               better="higher"),
        Column("log_weight_per_ngram", "float", "log_weight divided by the document's n-gram count: "
               "the same evidence without the length (the sum grows with it)", better="higher"),
        Column("n_tokens", "int", "WordPunct tokens; documents below min_length are dropped by the reference",
               keep_min="min_length", rule="too_short"),
    )
    needs = frozenset({"text", "target"})
    Params = DSIRParams
    cost = "moderate"
    batch_size = 5_000

    def compute_corpus(self, ctx: SignalContext, progress: Progress) -> pd.DataFrame:
        p = self.params
        target = ctx.target_docs()
        total = ctx.doc_count()
        workers = dsir.default_workers() if total >= PARALLEL_MIN_DOCS else 1
        scratch = Path(ctx.scratch) if ctx.scratch else None
        progress(0, total)

        # 1. featurise the pool once, streaming (batches already checkpointed are read back, not hashed
        #    again); only the bucket totals stay in memory, the per-occurrence buckets wait on disk for step 3
        ids: list[str] = []
        totals: dict[int, np.ndarray] = {}
        n_tok: dict[int, np.ndarray] = {}
        kept: dict[int, dsir.Features] = {}  # only when there is no scratch folder to checkpoint to
        waiting: deque[int] = deque()  # batch numbers handed to the featuriser, in order
        done = [0]

        def batches_to_featurize():
            for i, batch in enumerate(ctx.docs(("id", "text"), self.batch_size)):
                ids.extend(batch["id"].astype(str).tolist())
                cached = _load_batch(scratch, i)
                if cached is not None:
                    totals[i], n_tok[i] = cached.totals(), cached.n_tokens
                    done[0] += len(batch)
                    progress(done[0], total)
                    continue
                waiting.append(i)
                yield batch["text"].fillna("").astype(str).tolist()

        for f in dsir.featurize_batches(batches_to_featurize(), p.ngrams, p.num_buckets, workers):
            i = waiting.popleft()
            totals[i], n_tok[i] = f.totals(), f.n_tokens
            if scratch is None:
                kept[i] = f
            else:
                _save_batch(scratch, i, f)
            done[0] += len(f)
            progress(done[0], total)

        # 2. fit the two bucket distributions
        order = sorted(totals)
        raw_counts = np.zeros(p.num_buckets, dtype=np.int64)
        for i in order:
            raw_counts += totals[i]
        target_feats = dsir.featurize(target["text"].fillna("").astype(str).tolist(), p.ngrams, p.num_buckets)
        target_counts = target_feats.totals()
        diff = dsir.log_diff(target_counts, raw_counts)

        # 3. score: one bincount per n-gram order and batch
        parts = []
        for i in order:
            feats = kept[i] if i in kept else _load_batch(scratch, i)
            parts.append(feats.weights(diff))
        weights = np.concatenate(parts) if parts else np.zeros(0)
        n_tokens = np.concatenate([n_tok[i] for i in order]) if order else np.zeros(0, dtype=np.int64)
        progress(total, total)

        counts_file = ctx.ws.dir("signals") / f"{self.key(ctx.target)}.buckets.npz"
        with atomic_path(counts_file) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, raw_counts=raw_counts, target_counts=target_counts, log_diff=diff)
        top = np.argsort(-diff)[:20]
        self.sidecar_extra = {
            "target_docs": len(target),
            "num_buckets": p.num_buckets,
            "ngrams": p.ngrams,
            "raw_ngrams_fitted": int(raw_counts.sum()),
            "target_ngrams_fitted": int(target_counts.sum()),
            "raw_buckets_nonzero": int((raw_counts > 0).sum()),
            "target_buckets_nonzero": int((target_counts > 0).sum()),
            "bucket_counts_file": counts_file.name,
            "top_target_buckets": [{"bucket": int(b), "log_diff": round(float(diff[b]), 4),
                                    "target_count": int(target_counts[b]), "raw_count": int(raw_counts[b])} for b in top],
            "min_length": p.min_length,
            "docs_below_min_length": int((n_tokens < p.min_length).sum()),
            "kl_target_to_pool": round(dsir.kl_divergence(target_counts, raw_counts), 6),
            "workers": workers,
        }
        n_feats = _ngram_count(n_tokens, p.ngrams)
        per_ngram = np.divide(weights, n_feats, out=np.full(len(weights), np.nan), where=n_feats > 0)
        return pd.DataFrame({"id": ids, "log_weight": weights, "log_weight_per_ngram": per_ngram, "n_tokens": n_tokens})


def _ngram_count(n_tokens: np.ndarray, ngrams: int) -> np.ndarray:
    """How many unigrams..n-grams a document of n tokens has: sum over k of max(n - k + 1, 0)."""
    n = np.asarray(n_tokens, dtype=np.int64)
    return sum(np.maximum(n - k + 1, 0) for k in range(1, ngrams + 1))


def _batch_file(scratch: Path | None, i: int) -> Path | None:
    return scratch / f"dsir-features-{i:06d}.npz" if scratch else None


def _save_batch(scratch: Path | None, i: int, feats: dsir.Features) -> None:
    path = _batch_file(scratch, i)
    if path is None:
        return
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        feats.save(fh)


def _load_batch(scratch: Path | None, i: int) -> dsir.Features | None:
    path = _batch_file(scratch, i)
    if path is None or not path.exists():
        return None
    try:
        return dsir.Features.load(path)
    except (OSError, ValueError, KeyError):  # a damaged checkpoint is recomputed
        return None
