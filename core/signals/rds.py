"""`rds`: RDS+ similarity of every document to a target (Ivison et al. 2025).

Score = the largest cosine similarity between the document's embedding and any target example's
(both L2-normalised, from the same embedding model). RDS+ pools a language model's last hidden states
with position weights; here the stored sentence embedding stands in for it (METHODS.md allows this),
and the target examples are embedded with the same model as the documents. Several targets (tasks)
are several runs (`rds__<target>`), combined round-robin when a selection uses them.

A document that is itself a target example (a target made from workspace documents) is scored
against the other examples (`exclude_self`), or it would score 1.0 by definition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from core.errors import WinnowError
from core.progress import Progress
from core.signals.base import Column, CorpusSignal, Params, register
from core.signals.context import SignalContext

CHUNK = 8_192  # documents per similarity block, fewer for a large target (a block holds at most ~200 MB)
BLOCK_FLOATS = 50_000_000


class RDSParams(Params):
    model: str | None = Field(None, description="embedding model (default: the workspace's default embeddings)")
    exclude_self: bool = Field(True, description="score a document that is a target example against the other examples")


def target_vectors(ctx: SignalContext, target: pd.DataFrame, model: str | None) -> tuple[str, np.ndarray]:
    """(model, L2-normalised embeddings of the target's examples), with the model of the stored embeddings."""
    from core.embed import embed_texts, resolve_model

    model = resolve_model(ctx.ws, model)
    vecs = embed_texts(target["text"].tolist(), model)
    if not np.any(np.linalg.norm(vecs, axis=1) > 0):
        raise WinnowError(f"the target {ctx.target!r} has no example the {model} model can embed (all empty?)")
    return model, vecs


def max_similarity(
    docs: np.ndarray, examples: np.ndarray, doc_ids: list[str], example_ids: list[str], exclude_self: bool,
    progress: Progress,
) -> tuple[np.ndarray, np.ndarray]:
    """(max cosine per document, index of the example reaching it), in blocks of CHUNK documents."""
    n = docs.shape[0]
    best = np.full(n, np.nan)
    arg = np.full(n, -1, dtype=np.int64)
    pos = {eid: j for j, eid in enumerate(example_ids)}
    self_rows = [(i, pos[d]) for i, d in enumerate(doc_ids) if d in pos] if exclude_self else []
    self_rows_arr = np.array(self_rows, dtype=np.int64).reshape(-1, 2)
    ex = examples.astype(np.float32).T
    chunk = max(64, min(CHUNK, BLOCK_FLOATS // max(ex.shape[1], 1)))
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        sims = docs[start:stop] @ ex
        sel = self_rows_arr[(self_rows_arr[:, 0] >= start) & (self_rows_arr[:, 0] < stop)]
        if len(sel):
            sims[sel[:, 0] - start, sel[:, 1]] = -np.inf
        a = np.argmax(sims, axis=1)
        b = sims[np.arange(stop - start), a]
        ok = np.isfinite(b)
        best[start:stop] = np.where(ok, b, np.nan)
        arg[start:stop] = np.where(ok, a, -1)
        progress(stop, n)
    return best, arg


@register
class RDS(CorpusSignal):
    name = "rds"
    version = "1"
    description = "RDS+: highest cosine similarity between a document's embedding and any example of the target"
    reference = "Ivison et al. 2025, Large-Scale Data Selection for Instruction Tuning (RDS+)"
    columns = (
        Column("similarity", "float", "max cosine similarity to a target example (higher = more like the target)",
               better="higher"),
        Column("nearest_example", "str", "id of the target example it is most similar to", kind="group"),
    )
    needs = frozenset({"text", "embeddings", "target"})
    Params = RDSParams
    cost = "moderate"

    def compute_corpus(self, ctx: SignalContext, progress: Progress) -> pd.DataFrame:
        p = self.params
        target = ctx.target_docs()
        ids, matrix = ctx.embeddings(p.model)
        model, examples = target_vectors(ctx, target, p.model)
        if examples.shape[1] != matrix.shape[1]:
            raise WinnowError(f"target vectors have {examples.shape[1]} dimensions, the stored {model} embeddings "
                              f"{matrix.shape[1]}: run `python -m core embed --model {model}` again")
        example_ids = target["id"].tolist()
        progress(0, len(ids))
        best, arg = max_similarity(matrix, examples, ids, example_ids, p.exclude_self, progress)
        nearest = [example_ids[a] if a >= 0 else None for a in arg.tolist()]
        in_target = len(set(ids) & set(example_ids))
        self.sidecar_extra = {
            "model": model,
            "target_examples": len(example_ids),
            "documents_that_are_examples": in_target,
            "exclude_self": p.exclude_self,
            "similarity_quantiles": {str(q): round(float(np.nanquantile(best, q)), 4) for q in (0.1, 0.5, 0.9, 0.99)}
            if np.isfinite(best).any() else {},
        }
        return pd.DataFrame({"id": ids, "similarity": best, "nearest_example": nearest})
