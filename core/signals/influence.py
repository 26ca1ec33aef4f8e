"""`influence`: MATES-style predicted data influence on a target's loss (see core/influence.py for the method)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from core.influence import InfluenceConfig, mates_influence
from core.signals.base import Column, CorpusSignal, Params, register


class InfluenceParams(Params):
    probes: int = Field(400, ge=40, le=20_000, description="documents whose oracle influence is measured exactly")
    vocab: int = Field(2048, ge=64, le=65_536, description="hashed token buckets of the proxy bigram LM")
    dim: int = Field(64, ge=4, le=1024, description="embedding size of the proxy LM")
    oracle_lr: float = Field(0.5, gt=0, le=10, description="learning rate of the one SGD step per probe")
    warmup_docs: int = Field(2000, ge=0, description="random pool documents the proxy is warmed up on")
    warmup_pairs: int = Field(100_000, ge=0, description="at most this many token pairs in the warm-up")
    reference_tokens: int = Field(4000, ge=50, description="target token pairs the reference loss is measured on")
    max_tokens: int = Field(256, ge=2, description="words read per document (the rest is ignored)")
    seed: int = 0
    model: str | None = Field(None, description="embedding model for the influence model (default: the stored one)")


@register
class Influence(CorpusSignal):
    name = "influence"
    version = "1"
    description = ("Predicted change of the target's loss after training on the document (MATES): lower is more "
                   "helpful. Measured exactly for a probe sample with a small proxy LM, predicted for the rest.")
    reference = "Yu et al. 2024, MATES: Model-Aware Data Selection for Efficient Pretraining with Data Influence Models"
    columns = (
        Column("influence", "float", "predicted z-scored change of the target loss (lower = more helpful)",
               better="lower"),
        Column("oracle", "float", "measured change of the target loss after one step (probe documents only)",
               better="lower"),
        Column("probe", "bool", "this document was probed exactly", kind="flag"),
    )
    needs = frozenset({"text", "embeddings", "target"})
    Params = InfluenceParams
    cost = "heavy"

    def compute_corpus(self, ctx, progress):
        p = self.params
        docs = ctx.all_docs(("id", "text"))
        has, features = ctx.embeddings_for(docs["id"], p.model)
        docs = docs[has].reset_index(drop=True)
        target = ctx.target_docs()["text"].astype(str).tolist()
        cfg = InfluenceConfig(probes=p.probes, vocab=p.vocab, dim=p.dim, oracle_lr=p.oracle_lr,
                              warmup_docs=p.warmup_docs, warmup_pairs=p.warmup_pairs,
                              reference_tokens=p.reference_tokens, max_tokens=p.max_tokens, seed=p.seed)
        res = mates_influence(docs["text"].astype(str).tolist(), features, target, cfg, progress)
        oracle = np.full(len(docs), np.nan)
        oracle[res.probe_index] = res.oracle
        probe = np.zeros(len(docs), dtype=bool)
        probe[res.probe_index] = True
        self.sidecar_extra = {
            "probes": len(res.probe_index), "heldout_spearman": round(res.heldout_spearman, 4),
            "influence_model": res.chosen_model, "cv_spearman": {k: round(v, 4) for k, v in res.cv_spearman.items()},
            "reference_loss": round(res.reference_loss, 4),
            "proxy": f"hashed-word bigram LM ({p.vocab} buckets, dim {p.dim}), warmed up on {p.warmup_docs} pool docs",
        }
        out = pd.DataFrame({"id": docs["id"].astype(str), "influence": res.predicted, "oracle": oracle, "probe": probe})
        return out.set_index("id").reindex(pd.Index(ctx.ids(), name="id")).reset_index()
