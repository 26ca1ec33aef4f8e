"""Targets and benchmarks: named sets of example documents (`targets/<name>.parquet`, `benchmarks/<name>.parquet`).

A target says "I want data like this" (DSIR, RDS+, the quality classifier); a benchmark is what
must not leak into training data (contamination). Both are Parquet files with at least id and text,
so one put there by hand is valid too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow.parquet as pq

from core.errors import WinnowError
from core.workspace import Workspace, safe_name

Kind = Literal["targets", "benchmarks"]


def reference_path(ws: Workspace, name: str, kind: Kind = "targets") -> Path:
    return ws.dir(kind) / f"{safe_name(name, kind[:-1] + ' name')}.parquet"


def list_references(ws: Workspace, kind: Kind = "targets") -> list[str]:
    return sorted(p.stem for p in ws.dir(kind).glob("*.parquet"))


def load_reference(ws: Workspace, name: str, kind: Kind = "targets") -> pd.DataFrame:
    """The examples of a target or benchmark (id, text, and any other columns); a clear error if missing."""
    path = reference_path(ws, name, kind)
    if not path.exists():
        known = ", ".join(list_references(ws, kind)) or "none yet"
        cmd = "python -m core target add" if kind == "targets" else "python -m core benchmark add"
        raise WinnowError(f"no {kind[:-1]} named {name!r} (known: {known}); create one with `{cmd}`")
    table = pq.read_table(path)
    missing = {"id", "text"} - set(table.column_names)
    if missing:
        raise WinnowError(f"{kind[:-1]} {name!r} lacks the column(s) {', '.join(sorted(missing))} ({path})")
    df = table.to_pandas()
    df["id"] = df["id"].astype(str)
    return df
