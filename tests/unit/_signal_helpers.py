"""Helpers for the signal tests: compute a signal on hand-made texts, make unique filler words."""

from __future__ import annotations

import random
import string

import pandas as pd

from core.signals import get


def compute(name: str, texts: list[str], **params) -> pd.DataFrame:
    """The signal's output for these texts (ids t0, t1, ...), computed in-process."""
    sig = get(name)(params)
    frame = pd.DataFrame({"id": [f"t{i}" for i in range(len(texts))], "text": texts})
    return sig.compute(frame)


def one(name: str, text: str, **params) -> dict:
    return compute(name, [text], **params).iloc[0].to_dict()


def unique_words(n: int, seed: int = 0, length: int = 5) -> list[str]:
    """n distinct lowercase words of `length` letters (no stop words, no repeats)."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out = []
    while len(out) < n:
        w = "".join(rng.choice(string.ascii_lowercase) for _ in range(length))
        if w not in seen:
            seen.add(w)
            out.append(w)
    return out


def straddle(build, value_of, threshold: float, increasing: bool, lo: int = 1, hi: int = 4000) -> tuple[int, int]:
    """(a_keep, a_drop): neighbouring sizes whose documents fall on either side of `threshold`.

    build(a) makes a document and value_of(doc) measures it; the value falls as `a` grows (increasing=False,
    a maximum rule: small a drops, large a keeps) or rises (increasing=True, a minimum rule). Bisection.
    """
    def ok(a: int) -> bool:
        v = value_of(build(a))
        return v <= threshold if not increasing else v >= threshold

    assert not ok(lo) and ok(hi), "the sizes do not straddle the threshold"
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi, lo
