"""Near duplicates: MinHash signatures (Broder 1997) with LSH banding, verified by estimated Jaccard.

Shingles are word n-grams (default 5) of the lowercased text's words (`\\w+` runs); a document with
fewer words than n is one shingle. Signatures come from `rensa` (RMinHash, a Rust MinHash:
one call sketches a whole batch), then LSH in numpy: the signature is cut into `bands` bands of
`rows` values; documents sharing any band are candidates. The defaults are datatrove's: 112
permutations as 14 bands x 8 rows, so a pair with Jaccard s becomes a candidate with probability
1 - (1 - s^8)^14 (one half at s = (1/14)^(1/8) = 0.72). A candidate pair is linked when its
estimated Jaccard (share of equal signature values) reaches `threshold`; groups are the connected
components of the links, and the representative is the group's first document in workspace order.

rensa vs datasketch: same MinHash definition (min over seeded permutations of 32-bit token hashes);
rensa sketches a 20k-document batch in one Rust call, datasketch hashes in Python per document
(`python -m bench.minhash` measures both with the same parameters).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from core.errors import WinnowError
from core.progress import Progress
from core.signals._groups import group_column, groups_from_pairs, save_array
from core.signals.base import Column, CorpusSignal, Params, register
from core.signals.context import SignalContext

_WORD = re.compile(r"\w+")


class MinHashParams(Params):
    ngram_size: int = Field(5, ge=1, le=50, description="words per shingle")
    num_perm: int = Field(112, ge=8, le=1024, description="MinHash permutations (signature length)")
    bands: int = Field(14, ge=1, description="LSH bands")
    rows: int = Field(8, ge=1, description="signature values per band (bands x rows <= num_perm)")
    threshold: float = Field(0.7, ge=0.0, le=1.0,
                             description="link a candidate pair when its estimated Jaccard is at least this (0: link every candidate)")
    seed: int = Field(42, description="MinHash seed")

    @model_validator(mode="after")
    def _bands_fit(self) -> MinHashParams:
        if self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows ({self.bands} x {self.rows}) exceeds num_perm ({self.num_perm})")
        return self


def shingle_sets(texts: list[str], n: int) -> list[list[str]]:
    """Word n-gram shingles of each text (lowercased `\\w+` words); [] for a text without words."""
    out = []
    for text in texts:
        words = _WORD.findall(text.lower())
        if len(words) <= n:
            out.append([" ".join(words)] if words else [])
        else:
            out.append(list({" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}))
    return out


def signatures(token_sets: list[list[str]], num_perm: int, seed: int) -> np.ndarray:
    """(documents x num_perm) uint32 MinHash signatures from rensa."""
    from rensa import RMinHash

    if not token_sets:
        return np.empty((0, num_perm), dtype=np.uint32)
    matrix = RMinHash.digest_matrix_from_token_sets(token_sets, num_perm, seed)
    return np.asarray(matrix.to_rows(), dtype=np.uint32).reshape(len(token_sets), num_perm)


def lsh_candidates(sig: np.ndarray, bands: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j), i < j, of rows sharing at least one band: each bucket member with the bucket's first."""
    n = len(sig)
    pairs = []
    for b in range(bands):
        block = np.ascontiguousarray(sig[:, b * rows:(b + 1) * rows])
        keys = block.view(np.dtype((np.void, block.dtype.itemsize * rows))).ravel()
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        head = first[inverse.ravel()]
        member = np.flatnonzero(head != np.arange(n))
        if len(member):
            pairs.append(head[member].astype(np.int64) * n + member)
    if not pairs:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    codes = np.unique(np.concatenate(pairs))
    return codes // n, codes % n


def estimated_jaccard(sig: np.ndarray, left: np.ndarray, right: np.ndarray, chunk: int = 200_000) -> np.ndarray:
    out = np.empty(len(left), dtype=np.float64)
    for s in range(0, len(left), chunk):
        out[s:s + chunk] = (sig[left[s:s + chunk]] == sig[right[s:s + chunk]]).mean(axis=1)
    return out


@register
class MinHashDup(CorpusSignal):
    name = "minhash_dup"
    version = "1"
    description = "near-duplicate groups: MinHash LSH on word 5-grams (14 bands x 8 rows), verified by estimated Jaccard"
    reference = "Broder 1997; datatrove MinhashDedup defaults (112 perms = 14 x 8); sketches by rensa"
    Params = MinHashParams
    requires = ("rensa",)
    batch_size = 20_000
    columns = (
        Column("group", "int", "near-duplicate group id (null: no near duplicate)", kind="group"),
        Column("group_size", "int", "documents in the group (1: no near duplicate)"),
        Column("is_representative", "bool", "the first document of its group (or unique): keep it when deduplicating",
               kind="flag"),
        Column("jaccard", "float", "estimated Jaccard similarity to the group's representative (null: unique)",
               better="lower"),
    )

    def compute_corpus(self, ctx: SignalContext, progress: Progress) -> pd.DataFrame:
        p = self.params
        total = ctx.doc_count()
        progress(0, total)
        ids: list[str] = []
        sigs: list[np.ndarray] = []
        empties: list[np.ndarray] = []
        for i, batch in enumerate(ctx.docs(("id", "text"), batch_size=self.batch_size)):
            ids += batch["id"].astype(str).tolist()
            ckpt = ctx.scratch / f"sig-{i:06d}.npy" if ctx.scratch else None
            texts = ["" if t is None or t is pd.NA else str(t) for t in batch["text"].tolist()]
            if ckpt is not None and ckpt.exists():
                sig = np.load(ckpt)
            else:
                sets = shingle_sets(texts, p.ngram_size)
                sig = signatures([s or [""] for s in sets], p.num_perm, p.seed)
                if ckpt is not None:
                    save_array(sig, ckpt)
            empties.append(np.array([not _WORD.search(t) for t in texts], dtype=bool))
            sigs.append(sig)
            progress(len(ids), total)
        if not ids:
            return self.empty_result([])
        sig = np.concatenate(sigs)
        empty = np.concatenate(empties)
        if sig.shape[1] != p.num_perm:  # pragma: no cover - checkpoints are keyed by the parameters
            raise WinnowError("minhash checkpoints do not match the parameters; delete signals/.partial and rerun")
        left, right = lsh_candidates(sig, p.bands, p.rows)
        keep = ~(empty[left] | empty[right])  # documents without words are never near duplicates
        left, right = left[keep], right[keep]
        jac = estimated_jaccard(sig, left, right)
        linked = jac >= p.threshold
        group, size, rep = groups_from_pairs(len(ids), left[linked], right[linked])
        to_rep = estimated_jaccard(sig, np.arange(len(ids)), rep)
        n_groups = int(group.max() + 1) if len(group) else 0
        self.sidecar_extra = {"candidate_pairs": int(len(left)), "linked_pairs": int(linked.sum()),
                              "groups": n_groups, "duplicates": int((size > 1).sum()) - n_groups,
                              "lsh_threshold": round((1 / p.bands) ** (1 / p.rows), 4)}
        return pd.DataFrame({
            "id": ids,
            "group": group_column(group),
            "group_size": size,
            "is_representative": rep == np.arange(len(ids)),
            "jaccard": np.where(group >= 0, to_rep, np.nan),
        })
