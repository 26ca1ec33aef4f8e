"""The signal contract: what every score declares, and the registry that lists them.

A signal is a class with fixed metadata (name, version, description, output columns, needs) and a
pydantic `Params` model (unknown keys are an error). It computes measured values once; thresholds
live in filters and selections, so a slider never recomputes anything.

Two shapes of computation:
- BatchSignal.compute(batch) -> table: per document, independent of the rest (heuristics, length).
  The runner feeds batches, checkpoints each one, and resumes after a kill.
- CorpusSignal.compute_corpus(ctx, progress) -> table: needs the whole corpus (dedup, DSIR fit,
  influence, label issues). It may checkpoint its own stages under ctx.scratch.
Both return a DataFrame with `id` plus exactly the declared columns, one row per input document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from core.errors import WinnowError

if TYPE_CHECKING:
    from core.progress import Progress
    from core.signals.context import SignalContext

Need = Literal["text", "embeddings", "labels", "target", "benchmark"]
Direction = Literal["higher", "lower"] | None  # which way is better; None: not a quality (ids, flags)


@dataclass(frozen=True)
class Column:
    """One output column. `keep_min`/`keep_max` name the params holding the published thresholds."""

    name: str
    dtype: Literal["float", "int", "bool", "str"]
    description: str
    better: Direction = None
    kind: Literal["value", "rule", "reason", "group", "flag", "label"] = "value"
    keep_min: str | None = None  # a field of Params: keep documents with value >= this
    keep_max: str | None = None  # a field of Params: keep documents with value <= this
    rule: str | None = None  # the rule name this value decides (drop reason when it fails)


class Params(BaseModel):
    """Base for signal parameters: typed, described, and strict about unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Signal:
    name: ClassVar[str]
    version: ClassVar[str] = "1"
    description: ClassVar[str] = ""
    reference: ClassVar[str] = ""  # the paper or implementation this follows
    columns: ClassVar[tuple[Column, ...]] = ()
    needs: ClassVar[frozenset[str]] = frozenset({"text"})
    Params: ClassVar[type[Params]] = Params
    cost: ClassVar[Literal["cheap", "moderate", "heavy"]] = "cheap"
    batch_size: ClassVar[int] = 10_000
    requires: ClassVar[tuple[str, ...]] = ()  # optional packages, checked with a pip hint

    def __init__(self, params: dict | Params | None = None) -> None:
        if isinstance(params, Params):
            self.params = params
        else:
            try:
                self.params = self.Params(**(params or {}))
            except ValidationError as exc:
                problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'params'}: {e['msg']}" for e in exc.errors())
                raise WinnowError(f"{self.name}: bad parameters ({problems})") from None

    # -- declarations used by the pages and the CLI ------------------------------------------
    @classmethod
    def column(cls, name: str) -> Column:
        for col in cls.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def thresholds(self) -> dict[str, tuple[float | None, float | None]]:
        """{column: (min, max)} of the published keep range for each thresholded column."""
        out = {}
        for col in self.columns:
            if col.keep_min or col.keep_max:
                lo = getattr(self.params, col.keep_min) if col.keep_min else None
                hi = getattr(self.params, col.keep_max) if col.keep_max else None
                out[col.name] = (lo, hi)
        return out

    def key(self, target: str | None = None, benchmark: str | None = None) -> str:
        """File stem under signals/: the name, plus the target or benchmark it was run against."""
        ref = target or benchmark
        return f"{self.name}__{ref}" if ref else self.name

    def check_requires(self) -> None:
        import importlib.util

        for pkg in self.requires:
            if importlib.util.find_spec(pkg) is None:
                raise WinnowError(f"{self.name} needs the package {pkg!r}: pip install {pkg}")

    def empty_result(self, ids: list[str]) -> pd.DataFrame:
        return pd.DataFrame({"id": ids, **{c.name: pd.Series([None] * len(ids), dtype=_PANDAS[c.dtype]) for c in self.columns}})


_PANDAS = {"float": "float64", "int": "Int64", "bool": "boolean", "str": "string"}


class BatchSignal(Signal):
    def compute(self, batch: pd.DataFrame) -> pd.DataFrame:
        """batch has id, text (and source, label, n_words...); return id + declared columns, same rows."""
        raise NotImplementedError


class CorpusSignal(Signal):
    cost = "moderate"

    def compute_corpus(self, ctx: SignalContext, progress: Progress) -> pd.DataFrame:
        raise NotImplementedError


# -- registry ---------------------------------------------------------------------------------
REGISTRY: dict[str, type[Signal]] = {}


def register(cls: type[Signal]) -> type[Signal]:
    """Class decorator: add a signal to the registry; a second signal with the same name is an error."""
    name = getattr(cls, "name", None)
    if not name or not name.isidentifier() or "__" in name:
        raise ValueError(f"signal {cls.__name__} needs a plain identifier `name` without '__'")
    if name in REGISTRY and REGISTRY[name] is not cls:
        raise ValueError(f"signal name {name!r} is registered twice ({REGISTRY[name].__name__}, {cls.__name__})")
    names = [c.name for c in cls.columns]
    if len(set(names)) != len(names) or "id" in names:
        raise ValueError(f"signal {name}: column names must be unique and not 'id'")
    REGISTRY[name] = cls
    return cls
