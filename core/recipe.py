"""Selection recipes: plain data a user can write by hand (JSON or YAML), checked before anything runs.

A recipe says which documents may be picked (`filters`), how to pick (`strategy` and its parameters,
which sit beside it), how many (`size`: a count, or a fraction of the pool when below 1), with which
`seed`, and in which `order`. For example:

    {"filters": {"saved": "clean", "sources": ["bbc"]}, "strategy": "dsir", "target": "bbc_tech",
     "size": 300, "seed": 1, "order": {"by": "quality_classifier", "ascending": true}}

Unknown keys, wrong values and parameters that do not apply to the chosen strategy are errors that
name the key, so a misspelled parameter is never silently ignored.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.errors import WinnowError

Strategy = Literal[
    "all", "random", "top_k", "gumbel_top_k", "dsir", "mates", "rds", "cluster_balanced", "k_center",
    "dedup", "rs2", "curriculum",
]
STRATEGIES: tuple[str, ...] = Strategy.__args__  # type: ignore[attr-defined]

STRATEGY_HELP = {
    "all": "every document that passes the filters (a size takes a random sample of them, in workspace order)",
    "random": "a uniform random sample (seeded)",
    "top_k": "the highest (or, with ascending, the lowest) values of a score",
    "gumbel_top_k": "sampling without replacement with probability ∝ exp(score / temperature) (Gumbel-top-k)",
    "dsir": "DSIR importance resampling: Gumbel-top-k on the DSIR log importance weights for a target",
    "mates": "MATES: the lowest predicted influence (z-scored) with Gumbel noise at temperature 0.5; keeps 20% by default",
    "rds": "RDS+: round-robin across several targets, each ranking the pool by its similarity score",
    "cluster_balanced": "an equal or proportional quota per map cluster (or per label), random or best-by-score inside",
    "k_center": "greedy k-center coreset on the embeddings (each next document is the farthest from those chosen)",
    "dedup": "one representative per duplicate group (the first, or the best by a score)",
    "rs2": "RS2: a fresh random subset per epoch, without replacement across epochs until the pool is used",
    "curriculum": "any strategy (`base`) whose result is ordered by a score (`order`); the order is kept",
}

# Which strategy parameters each strategy reads. Anything else set is an error, not silently ignored.
STRATEGY_PARAMS: dict[str, tuple[str, ...]] = {
    "all": (),
    "random": (),
    "top_k": ("score", "ascending", "target"),
    "gumbel_top_k": ("score", "ascending", "target", "temperature"),
    "dsir": ("target", "score", "temperature", "min_tokens"),
    "mates": ("target", "score", "temperature"),
    "rds": ("targets", "score"),
    "cluster_balanced": ("by", "quota", "score", "ascending", "target"),
    "k_center": ("model",),
    "dedup": ("group", "score", "ascending", "target"),
    "rs2": ("epochs",),
    "curriculum": ("base",),
}
PARAM_NAMES = ("score", "ascending", "target", "targets", "temperature", "min_tokens", "by", "quota", "group",
               "epochs", "model", "base")

GUMBEL_TEMPERATURE = 1.0
MATES_TEMPERATURE = 0.5  # MATES (Yu et al. 2024): Gumbel noise at temperature 0.5
MATES_FRACTION = 0.2  # MATES keeps 20% of the pool
DSIR_MIN_TOKENS = 100  # the DSIR reference drops documents shorter than 100 tokens


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Range(_Strict):
    """Keep documents with min <= value <= max (either end may be open)."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _given(self) -> Range:
        for v in (self.min, self.max):
            if v is not None and not math.isfinite(v):
                raise ValueError("thresholds must be finite numbers")
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


def _listify(v: Any) -> Any:
    if v is None:
        return []
    return [v] if isinstance(v, str | int) else v


class Filters(_Strict):
    """Which documents a strategy may pick from (the pool); every filter given is AND-ed.

    Thresholds and rules are decided as on the Scores page (core/filters.py): a document without a
    value (the score does not apply to it) passes that condition.
    """

    saved: list[str] = Field(default_factory=list, description="saved filters (filters/<name>.json) from Scores")
    sources: list[str] = Field(default_factory=list, description="keep only these sources")
    labels: list[str] = Field(default_factory=list, description="keep only these labels")
    scores: dict[str, Range] = Field(default_factory=dict,
                                     description="score thresholds: {column or signal: {min, max}}")
    rules: dict[str, bool] = Field(default_factory=dict, description="flag or rule columns: {column: required value}")
    clusters: list[str] = Field(default_factory=list, description="keep only these map clusters")
    ids: list[str] | None = Field(default=None, description="a map selection: keep only these ids")
    map_label: str | None = Field(default=None, description="what the map selection was (for people)")

    @field_validator("saved", "sources", "labels", "clusters", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> Any:
        v = _listify(v)
        return [str(x) for x in v] if isinstance(v, list) else v

    def is_empty(self) -> bool:
        return not (self.saved or self.sources or self.labels or self.scores or self.rules or self.clusters
                    or self.ids is not None)


class Order(_Strict):
    by: str = Field(description="a score: a column of `scores` or a signal name")
    ascending: bool = True


class Recipe(_Strict):
    """A selection recipe. Strategy parameters sit beside `strategy`."""

    filters: Filters = Field(default_factory=Filters)
    strategy: Strategy
    size: float | None = Field(default=None, description='a count, or a fraction of the pool when below 1 ("10%" too)')
    seed: int = Field(default=0, ge=0, description="the same seed gives the same subset")
    order: Order | None = None
    # strategy parameters (STRATEGY_PARAMS says which strategy reads which)
    score: str | None = Field(default=None, description="the score to rank, sample or break ties by")
    ascending: bool = Field(default=False, description="prefer low values of `score` instead of high ones")
    target: str | None = Field(default=None, description="the target a target-aware score was computed against")
    targets: list[str] = Field(default_factory=list, description="rds: several targets, taken in turn")
    temperature: float | None = Field(default=None, gt=0, description="Gumbel temperature (gumbel_top_k/dsir 1, mates 0.5)")
    min_tokens: int | None = Field(default=None, ge=0, description="dsir: drop documents shorter than this (reference 100)")
    by: str = Field(default="cluster", description="cluster_balanced: cluster, label or a score column")
    quota: Literal["equal", "proportional"] = "equal"
    group: str | None = Field(default=None, description="dedup: exact_dup, minhash_dup, semantic_dup or a group column")
    epochs: int = Field(default=1, ge=1, le=1000, description="rs2: how many epochs")
    model: str | None = Field(default=None, description="k_center: which embeddings (default: the workspace's)")
    base: Strategy | None = Field(default=None, description="curriculum: the strategy whose result is ordered")

    @field_validator("size", mode="before")
    @classmethod
    def _percent(cls, v: Any) -> Any:
        """`"10%"` is a fraction of the pool, as a person would write it."""
        if isinstance(v, str) and v.strip().endswith("%"):
            try:
                pct = float(v.strip()[:-1])
            except ValueError:
                return v
            if not 0 < pct <= 100:
                raise ValueError("a percentage size is between 0% and 100%")
            return pct / 100 if pct < 100 else None
        return v

    @model_validator(mode="before")
    @classmethod
    def _whole_pool_for_mates(cls, data: Any) -> Any:
        if (isinstance(data, dict) and "mates" in (data.get("strategy"), data.get("base"))
                and isinstance(data.get("size"), str) and data["size"].strip() == "100%"):
            raise ValueError("mates keeps a fraction of the pool (20% by default): give a size below 100% or a count")
        return data

    @field_validator("size")
    @classmethod
    def _size(cls, v: float | None) -> float | None:
        if v is None:
            return v
        if math.isnan(v) or v <= 0 or (v >= 1 and v != int(v)):
            raise ValueError("a size is a whole count (1, 2, ...) or a fraction between 0 and 1")
        return v

    @field_validator("targets", mode="before")
    @classmethod
    def _targets(cls, v: Any) -> Any:
        return _listify(v)

    @model_validator(mode="after")
    def _parameters(self) -> Recipe:
        s = self.strategy
        if s == "curriculum":
            if self.order is None:
                raise ValueError('strategy curriculum needs `order` ({"by": SCORE, "ascending": true})')
            if self.base == "curriculum":
                raise ValueError("curriculum's `base` cannot be curriculum")
        accepted = set(self.accepted_params())
        for name in PARAM_NAMES:
            if name in self.model_fields_set and name not in accepted:
                its = ", ".join(sorted(accepted)) or "none"
                raise ValueError(f"`{name}` does not apply to strategy {self.effective_strategy()} (its parameters: {its})")
        e = self.effective_strategy()
        if e in ("top_k", "gumbel_top_k") and not self.score:
            raise ValueError(f"strategy {e} needs `score` (a score column or signal name)")
        if e == "dsir" and not self.target:
            raise ValueError("strategy dsir needs `target` (the target the dsir signal was computed against)")
        if e == "rds" and not self.targets:
            raise ValueError("strategy rds needs `targets` (one or more targets the rds signal was computed against)")
        if e == "dedup" and not self.group:
            raise ValueError("strategy dedup needs `group` (exact_dup, minhash_dup, semantic_dup or a group column)")
        return self

    def effective_strategy(self) -> str:
        """The strategy that picks the documents (curriculum's `base`, default all)."""
        return (self.base or "all") if self.strategy == "curriculum" else self.strategy

    def accepted_params(self) -> tuple[str, ...]:
        own = STRATEGY_PARAMS[self.strategy]
        if self.strategy == "curriculum":
            own = own + STRATEGY_PARAMS[self.base or "all"]
        return own

    def to_dict(self) -> dict[str, Any]:
        """The recipe as plain data, without parameters left at their defaults (what a user would write)."""
        out = self.model_dump(mode="json", exclude_defaults=True)
        out["strategy"] = self.strategy
        if self.size is not None and self.size >= 1:
            out["size"] = int(self.size)
        return out


def _message(exc: ValidationError) -> str:
    problems = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "recipe"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
            if len(e["loc"]) == 1:
                msg += " (recipe keys: filters, strategy, size, seed, order, and the strategy's parameters: " \
                       + ", ".join(PARAM_NAMES) + ")"
        elif e["type"] == "missing" and loc == "strategy":
            msg = f"missing; choose one of {', '.join(STRATEGIES)}"
        elif e["type"] == "literal_error" and loc in ("strategy", "base"):
            msg = f"unknown strategy {e.get('input')!r}; choose one of {', '.join(STRATEGIES)}"
        problems.append(f"{loc}: {msg}")
    return "bad recipe: " + "; ".join(problems)


def validate_recipe(data: dict[str, Any] | Recipe) -> Recipe:
    """A Recipe from plain data; a WinnowError naming every problem with its key."""
    if isinstance(data, Recipe):
        return data
    if not isinstance(data, dict):
        raise WinnowError(f"bad recipe: a recipe is a mapping of keys to values, not {type(data).__name__}")
    try:
        return Recipe(**data)
    except ValidationError as exc:
        raise WinnowError(_message(exc)) from None


def parse_recipe_text(text: str) -> Recipe:
    """A recipe from JSON or YAML text (YAML read with safe_load: plain data, never objects)."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise WinnowError(f"the recipe is neither valid JSON nor YAML: {str(exc).splitlines()[0]}") from None
    return validate_recipe(data)


def load_recipe_file(path: str | Path) -> Recipe:
    """A recipe from a .json, .yaml or .yml file; a saved selection's .json (with its `recipe` key) works too."""
    path = Path(path)
    if not path.is_file():
        raise WinnowError(f"no recipe file at {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise WinnowError(f"{path} is not UTF-8 text") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise WinnowError(f"{path}: invalid JSON ({exc})") from None
        if isinstance(data, dict) and isinstance(data.get("recipe"), dict) and "strategy" not in data:
            data = data["recipe"]  # a saved selection's metadata file
        return validate_recipe(data)
    return parse_recipe_text(text)
