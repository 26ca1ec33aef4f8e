"""Exact duplicates: documents whose normalised text is identical.

Normalisation (as METHODS.md and datatrove's simplify_text): Unicode NFKC, lowercase, punctuation
replaced by spaces, whitespace collapsed and trimmed. The key is the BLAKE2b-128 hash of that text.
Each group's representative is its first document in workspace order.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from core.progress import Progress
from core.signals._groups import group_column, groups_from_keys
from core.signals.base import Column, CorpusSignal, register
from core.signals.context import SignalContext

_PUNCT = r"[^\w\s]|_"


def normalized(texts: pd.Series) -> pd.Series:
    s = texts.astype("string").fillna("").str.normalize("NFKC").str.lower()
    s = s.str.replace(_PUNCT, " ", regex=True).str.replace(r"\s+", " ", regex=True).str.strip()
    return s


def hash_keys(texts: pd.Series) -> np.ndarray:
    """A 16-byte key per text (as a fixed-width bytes array, cheap to sort)."""
    return np.array([hashlib.blake2b(t.encode("utf-8"), digest_size=16).digest() for t in normalized(texts).tolist()],
                    dtype="S16")


@register
class ExactDup(CorpusSignal):
    name = "exact_dup"
    version = "1"
    description = "exact duplicates after normalisation (lowercase, no punctuation, collapsed whitespace)"
    reference = "hash of normalised text (METHODS.md; datatrove simplify_text)"
    cost = "cheap"
    columns = (
        Column("group", "int", "duplicate group id (null: the text occurs once)", kind="group"),
        Column("group_size", "int", "documents with this normalised text (1: unique)"),
        Column("is_representative", "bool", "the first document of its group (or unique): keep it when deduplicating",
               kind="flag"),
    )

    def compute_corpus(self, ctx: SignalContext, progress: Progress) -> pd.DataFrame:
        total = ctx.doc_count()
        progress(0, total)
        ids: list[str] = []
        keys: list[np.ndarray] = []
        for batch in ctx.docs(("id", "text"), batch_size=50_000):
            ids += batch["id"].astype(str).tolist()
            keys.append(hash_keys(batch["text"]))
            progress(len(ids), total)
        key = np.concatenate(keys) if keys else np.empty(0, dtype="S16")
        group, size, rep = groups_from_keys(key)
        self.sidecar_extra = {"groups": int(group.max() + 1) if len(group) else 0,
                              "duplicates": int((size > 1).sum() - (group.max() + 1 if len(group) else 0))}
        return pd.DataFrame({
            "id": ids,
            "group": group_column(group),
            "group_size": size,
            "is_representative": rep == np.arange(len(ids)),
        })
