"""Rule-based text-quality signals: measure every value, then decide each rule at the published threshold.

A rule signal (Gopher quality, Gopher repetition, C4, FineWeb) declares its rules in the order the
reference implementation checks them. For every document it stores the measured value behind each rule,
one boolean `<rule>_ok` column, and `<signal>_reason`: the first rule that failed (null when kept).
Filters re-threshold the measured values later; nothing is recomputed when a slider moves.

A rule whose value is null (it does not apply: no lines, no words) passes; the document then fails an
earlier rule, as it does in datatrove.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from core.signals.base import BatchSignal, Column, Direction


@dataclass(frozen=True)
class Rule:
    name: str  # the drop reason when it fails
    value: str  # the measured value column
    dtype: str  # "float" | "int" | "bool"
    description: str
    better: Direction = None
    keep_min: str | None = None  # Params field: keep when value >= it
    keep_max: str | None = None  # Params field: keep when value <= it
    enabled: str | None = None  # Params field (bool) that switches the rule on or off
    fails_when_true: bool = False  # for bool values: the rule fails when the flag is set

    @property
    def ok_column(self) -> str:
        return f"{self.name}_ok"


def rule_columns(signal: str, rules: tuple[Rule, ...], extras: tuple[Column, ...] = ()) -> tuple[Column, ...]:
    cols: list[Column] = []
    for r in rules:
        cols.append(Column(r.value, r.dtype, r.description, better=r.better, kind="value",
                           keep_min=r.keep_min, keep_max=r.keep_max, rule=r.name))
    for r in rules:
        cols.append(Column(r.ok_column, "bool", f"rule {r.name} passed (at the parameters it was computed with)",
                           kind="rule", rule=r.name))
    cols.extend(extras)
    cols.append(Column(f"{signal}_reason", "str", "first rule that failed (null when the document is kept)",
                       kind="reason"))
    return tuple(cols)


class RuleSignal(BatchSignal):
    """A BatchSignal whose `measure(text) -> {value column: value}` (or `measure_batch(texts)`) feeds
    declared rules."""

    rules: ClassVar[tuple[Rule, ...]] = ()

    def measure(self, text: str) -> dict[str, Any]:
        raise NotImplementedError

    def measure_batch(self, texts: list[str]) -> list[dict[str, Any]]:
        """measure() of every text; a signal may measure a whole batch at once instead."""
        return [self.measure(t) for t in texts]

    def rule_passes(self, rule: Rule, values: pd.Series) -> np.ndarray:
        p = self.params
        if rule.enabled and not getattr(p, rule.enabled):
            return np.ones(len(values), dtype=bool)
        if rule.fails_when_true:
            return ~values.fillna(False).astype(bool).to_numpy()
        v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        ok = np.ones(len(v), dtype=bool)
        with np.errstate(invalid="ignore"):
            if rule.keep_min is not None and getattr(p, rule.keep_min) is not None:
                ok &= ~(v < getattr(p, rule.keep_min))
            if rule.keep_max is not None and getattr(p, rule.keep_max) is not None:
                ok &= ~(v > getattr(p, rule.keep_max))
        return ok  # NaN compares false on both sides: a rule that does not apply passes

    def compute(self, batch: pd.DataFrame) -> pd.DataFrame:
        texts = ["" if t is None or t is pd.NA else str(t) for t in batch["text"].tolist()]
        rows = self.measure_batch(texts)
        names = [c.name for c in self.columns if c.kind == "value" or (c.kind not in ("rule", "reason"))]
        out = pd.DataFrame({"id": batch["id"].astype(str).tolist()})
        for name in names:
            out[name] = [r.get(name) for r in rows]
        reason = np.full(len(out), None, dtype=object)
        for rule in self.rules:
            ok = self.rule_passes(rule, out[rule.value])
            out[rule.ok_column] = ok
            fail = ~ok & pd.isna(reason)
            reason[fail] = rule.name
        out[f"{self.name}_reason"] = reason
        return out
