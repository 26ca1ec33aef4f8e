"""Finding and reading the `scores` column a recipe means.

A recipe may name a score by its column (`gopher_quality__mean_word_length`) or by its signal
(`quality_classifier`, `dsir`); a target-aware signal is stored per target (`dsir__bbc_tech__log_weight`),
so `target` picks which. A signal name means its main column: the first declared numeric value column
with a direction (higher or lower is better).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.errors import WinnowError

if TYPE_CHECKING:
    from core.store import Store


def _signal_by_name(name: str):
    """The registered signal class `name`, or None."""
    try:
        from core.signals import get

        return get(name)
    except (WinnowError, ImportError):
        return None


def _signal_columns(name: str):
    """The declared columns of signal `name`, or None when no such signal is registered."""
    sig = _signal_by_name(name)
    return sig.columns if sig else None


def _main_column(signal: str, key: str, cands: list[str]) -> str | None:
    """Of the columns of one signal key, its score column, or None when that is ambiguous.

    A score signal (dsir, quality_classifier, rds, influence) declares its score first: a numeric value
    column with a direction that decides no rule. A rule signal (gopher_quality, c4, length, ...) is a set
    of measurements, so its column must be named.
    """
    if len(cands) == 1:
        return cands[0]
    declared = _signal_columns(signal) or ()
    if declared:
        first = declared[0]
        if (first.dtype in ("float", "int") and first.kind == "value" and first.better is not None
                and first.rule is None and f"{key}__{first.name}" in cands):
            return f"{key}__{first.name}"
    return None


def resolve_score(store: Store, ref: str, target: str | None = None) -> str:
    """The `scores` column meant by `ref`: a column name, or a signal (key) with a main column."""
    cols = list(store.score_columns)
    if ref in cols:
        return ref
    signal = ref.split("__", 1)[0]
    keys = sorted({c.rsplit("__", 1)[0] for c in cols if c.startswith(f"{ref}__")})
    if target and f"{ref}__{target}" in keys:
        key = f"{ref}__{target}"
    elif ref in keys:
        key = ref
    elif len(keys) == 1:
        key = keys[0]  # the signal was computed against one target only
    elif keys:
        against = ", ".join(k.removeprefix(f"{ref}__") for k in keys)
        hint = f"not against {target!r}; " if target else ""
        raise WinnowError(f"score {ref!r} was computed against several targets ({against}): {hint}"
                          "set `target` to one of them, or name the column")
    else:
        known = ", ".join(sorted({c.rsplit("__", 1)[0] for c in cols if not c.startswith("map__")})) or "none yet"
        needs_target = "target" in getattr(_signal_by_name(signal), "needs", ())
        how = f"`python -m core score --workspace W {signal}" + (f" --target {target or 'NAME'}`" if needs_target else "`")
        raise WinnowError(f"no score {ref!r} in this workspace (scores computed: {known}); compute it on the "
                          f"Scores page or with {how}")
    cands = [c for c in cols if c.startswith(f"{key}__") and "__" not in c.removeprefix(f"{key}__")]
    main = _main_column(signal, key, cands)
    if main is None:
        raise WinnowError(f"{ref!r} has several score columns ({', '.join(cands)}): name one of them")
    return main


def group_column(store: Store, ref: str) -> str:
    """dedup: a signal's duplicate-group column (declared kind="group"), or a column named directly."""
    if ref in store.score_columns:
        return ref
    declared = [c for c in _signal_columns(ref.split("__", 1)[0]) or () if c.kind == "group"]
    declared.sort(key=lambda c: c.name != "group")  # a column named `group` is the duplicate group
    for col in declared:
        if f"{ref}__{col.name}" in store.score_columns:
            return f"{ref}__{col.name}"
    cands = [c for c in store.score_columns if c.startswith(f"{ref}__") and "group" in c.rsplit("__", 1)[1]]
    if len(cands) == 1:
        return cands[0]
    if cands:
        raise WinnowError(f"{ref!r} has several group columns ({', '.join(cands)}): name one")
    raise WinnowError(f"no duplicate groups {ref!r} in this workspace: compute them with "
                      f"`python -m core score --workspace W {ref}` (or name a group column)")


def column_values(store: Store, column: str, ids: np.ndarray | list[str]) -> pd.Series:
    """Values of a `scores` column for these ids, in their order (NA where a document has none)."""
    from core.store import ident

    if column not in store.score_columns:
        raise WinnowError(f"no score column {column!r} in this workspace")
    vals = store.df(f"SELECT id, {ident(column)} AS v FROM scores")
    return pd.Series(vals["v"].to_numpy(), index=vals["id"].astype(str)).reindex(pd.Index(ids, dtype=object))


def score_values(store: Store, column: str, ids: np.ndarray | list[str]) -> np.ndarray:
    """float values of a `scores` column for these ids, in their order (NaN where missing)."""
    s = column_values(store, column, ids)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def group_signals(store: Store) -> list[str]:
    """Signal keys in this workspace with a duplicate-group column (what `dedup` can use)."""
    keys = sorted({c.rsplit("__", 1)[0] for c in store.score_columns if not c.startswith("map__")})
    out = []
    for key in keys:
        declared = _signal_columns(key.split("__", 1)[0]) or ()
        if any(c.kind == "group" and f"{key}__{c.name}" in store.score_columns for c in declared):
            out.append(key)
    return out


def target_keys(store: Store, signal: str) -> list[str]:
    """The targets a target-aware signal (dsir, rds, ...) was computed against in this workspace."""
    return sorted({c.split("__")[1] for c in store.score_columns
                   if c.startswith(f"{signal}__") and c.count("__") >= 2})
