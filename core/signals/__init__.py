"""Signals: every score Winnow computes, one module per signal, all in one registry.

`load_all()` imports every signal module in this package (each registers itself with @register),
so adding a signal is one new module. Infrastructure modules are listed in _INFRA.
"""

from __future__ import annotations

import importlib
import pkgutil

from core.signals.base import REGISTRY, BatchSignal, Column, CorpusSignal, Params, Signal, register

_INFRA = {"base", "context", "runner", "textutil"}
_loaded = False


def load_all() -> dict[str, type[Signal]]:
    global _loaded
    if not _loaded:
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
            if info.name not in _INFRA and not info.name.startswith("_"):
                importlib.import_module(f"{__name__}.{info.name}")
        _loaded = True
    return REGISTRY


def get(name: str) -> type[Signal]:
    from core.errors import WinnowError

    registry = load_all()
    if name not in registry:
        raise WinnowError(f"unknown signal {name!r}; known signals: {', '.join(sorted(registry))}")
    return registry[name]


__all__ = ["REGISTRY", "BatchSignal", "Column", "CorpusSignal", "Params", "Signal", "get", "load_all", "register"]
