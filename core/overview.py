"""Corpus-level figures for the Overview page and `python -m core info`."""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from core.store import Store, sql_str
from core.workspace import Workspace


def doc_figures(store: Store) -> dict[str, Any]:
    """Everything the Overview says about the documents themselves: count, sources, labels, characters,
    words, fields, length histograms. Computed once per state of the document files (and kept in the
    workspace's .cache for a large corpus: counting which fields are present reads every text)."""

    def build() -> dict[str, Any]:
        docs = store.count()
        one = store.one
        sources = dict(one("SELECT map(list(source), list(n)) FROM (SELECT source, count(*) n FROM docs GROUP BY 1 ORDER BY 2 DESC)")[0] or {}) if docs else {}
        labels = dict(one("SELECT map(list(coalesce(label, '(none)')), list(n)) FROM (SELECT label, count(*) n FROM docs GROUP BY 1 ORDER BY 2 DESC)")[0] or {}) if docs else {}
        chars, words = one("SELECT coalesce(sum(n_chars), 0), coalesce(sum(n_words), 0) FROM docs") or (0, 0)
        return {
            "documents": docs,
            "sources": {str(k): int(v) for k, v in sources.items()},
            "labels": {str(k): int(v) for k, v in labels.items()},
            "characters": int(chars or 0),
            "words": int(words or 0),
            "fields": field_summary(store).to_dict("records"),
            "hist_chars": length_histogram(store, "n_chars").to_dict("records"),
            "hist_words": length_histogram(store, "n_words").to_dict("records"),
        }

    return store.memo("overview", build, on="docs", persist="json")


def info(ws: Workspace, store: Store | None = None) -> dict[str, Any]:
    store = store or Store(ws)
    from core.signals.runner import read_sidecar

    figures = doc_figures(store)
    signals = [p.stem for p in ws.signal_files()]
    return {
        "workspace": str(ws.root),
        "documents": figures["documents"],
        "quarantined": quarantine_count(ws),
        "sources": dict(figures["sources"]),
        "labels": dict(figures["labels"]),
        "signals": signals,
        "signal_versions": {k: (read_sidecar(ws, k) or {}).get("version") for k in signals},
        "characters": figures["characters"],
        "words": figures["words"],
        "embeddings": sorted(p.stem for p in ws.dir("embeddings").glob("*.npy")),
        "maps": sorted(p.stem for p in ws.dir("maps").glob("*.parquet")),
        "targets": sorted(p.stem for p in ws.dir("targets").glob("*.parquet")),
        "benchmarks": sorted(p.stem for p in ws.dir("benchmarks").glob("*.parquet")),
        "selections": sorted(p.stem for p in ws.dir("selections").glob("*.json")),
    }


def _quarantine_sql(ws: Workspace) -> str | None:
    files = ws.quarantine_files()
    if not files:
        return None
    return "read_parquet([" + ", ".join(sql_str(p) for p in files) + "], union_by_name=true)"


def quarantine_count(ws: Workspace) -> int:
    src = _quarantine_sql(ws)
    if src is None:
        return 0
    con = duckdb.connect()
    try:
        return int(con.execute(f"SELECT count(*) FROM {src}").fetchone()[0])
    finally:
        con.close()


def quarantine_summary(ws: Workspace, examples: int = 3) -> pd.DataFrame:
    """One row per reason: how many rows, and a few examples (file, row, excerpt)."""
    src = _quarantine_sql(ws)
    if src is None:
        return pd.DataFrame(columns=["reason", "rows", "examples"])
    con = duckdb.connect()
    df = con.execute(f"""
        SELECT reason_kind AS reason, count(*) AS rows,
               list({{'file': file, 'row': "row", 'excerpt': left(excerpt, 120)}} ORDER BY file, "row")[1:{examples}] AS examples
        FROM (SELECT *, regexp_replace(reason, '( at byte| \\(first seen|: | after line| after row).*$', '') AS reason_kind FROM {src})
        GROUP BY 1 ORDER BY 2 DESC
    """).df()
    con.close()
    return df


def quarantine_rows(ws: Workspace, limit: int = 1000) -> pd.DataFrame:
    src = _quarantine_sql(ws)
    if src is None:
        return pd.DataFrame(columns=["file", "row", "id", "reason", "excerpt"])
    con = duckdb.connect()
    try:
        return con.execute(f'SELECT file, "row", id, reason, excerpt FROM {src} ORDER BY file, "row" LIMIT {int(limit)}').df()
    finally:
        con.close()


def length_histogram(store: Store, column: str = "n_words", bins: int = 40, log: bool = True) -> pd.DataFrame:
    """Histogram of a length column, binned in DuckDB (log10 bins by default: lengths are heavy-tailed)."""
    if column not in {"n_words", "n_chars"}:
        raise ValueError(column)
    expr = f"log10(greatest({column}, 1))" if log else column
    lo, hi = store.one(f"SELECT min({expr}), max({expr}) FROM docs") or (None, None)
    if lo is None:
        return pd.DataFrame(columns=["lo", "hi", "count"])
    width = (hi - lo) / bins if hi > lo else (0.02 if log else 1.0)
    df = store.df(f"""
        SELECT least(floor(({expr} - ?) / ?), ?)::INT AS b, count(*) AS count FROM docs GROUP BY 1 ORDER BY 1
    """, [lo, width, bins - 1])
    df["lo"] = lo + df["b"] * width
    df["hi"] = df["lo"] + width
    if log:
        df["lo"], df["hi"] = 10 ** df["lo"], 10 ** df["hi"]
    return df[["lo", "hi", "count"]]


def field_summary(store: Store, sample: int = 20_000) -> pd.DataFrame:
    """The fields documents carry: the fixed columns, then the keys found in `meta` (on a sample),
    each with the share of documents that have a value."""
    total = store.count()
    if not total:
        return pd.DataFrame(columns=["field", "kind", "present"])
    # n_chars is length(text), null exactly when the text is: counting it reads a column of numbers
    # instead of every text (seconds at a million documents)
    fixed = store.one(
        "SELECT count(n_chars), count(source), count(label), count(meta) FROM docs"
    ) or (0, 0, 0, 0)
    rows = [
        {"field": "text", "kind": "document text", "present": fixed[0] / total},
        {"field": "source", "kind": "where it came from", "present": fixed[1] / total},
        {"field": "label", "kind": "class label", "present": fixed[2] / total},
    ]
    meta = store.df(f"""
        SELECT k AS field, count(*) AS n, (SELECT count(*) FROM (SELECT 1 FROM docs LIMIT {int(sample)})) AS of
        FROM (SELECT unnest(json_keys(meta)) AS k FROM (SELECT meta FROM docs WHERE meta IS NOT NULL
              AND json_valid(meta) AND json_type(meta) = 'OBJECT' LIMIT {int(sample)}))
        GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 100
    """)
    for r in meta.itertuples():
        rows.append({"field": f"meta.{r.field}", "kind": "kept from the input", "present": r.n / max(r.of, 1)})
    return pd.DataFrame(rows)
