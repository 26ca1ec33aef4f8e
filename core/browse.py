"""Queries behind the Browse page and `python -m core table`-like reads: filter, search, page, read one.

Keyword search is case-insensitive substring matching in DuckDB: every word of the query must occur
(a quoted "phrase" must occur as written). It scans the text column, which DuckDB does at a few
hundred MB/s per core, so the first page over a million documents comes back in about a second.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.store import Store

SNIPPET_CHARS = 200


@dataclass
class DocQuery:
    """What the user asked for on Browse. Empty fields mean "no filter"."""

    keywords: str = ""
    sources: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # "(none)" stands for documents without a label
    min_words: int | None = None
    max_words: int | None = None
    ids: list[str] | None = None  # the map selection, or semantic-search hits

    def terms(self) -> list[str]:
        try:
            parts = shlex.split(self.keywords)
        except ValueError:  # an unbalanced quote: search the words as typed
            parts = self.keywords.split()
        return [p.lower() for p in parts if p.strip()]

    def where(self) -> tuple[str, list[Any]]:
        clauses, params = ["TRUE"], []
        for term in self.terms():
            clauses.append("contains(lower(text), ?)")
            params.append(term)
        if self.sources:
            clauses.append("list_contains(?, source)")
            params.append(list(self.sources))
        if self.labels:
            real = [label for label in self.labels if label != "(none)"]
            part = ["list_contains(?, label)"] if real else []
            params.extend([real] if real else [])
            if "(none)" in self.labels:
                part.append("label IS NULL")
            clauses.append("(" + " OR ".join(part) + ")")
        if self.min_words is not None:
            clauses.append("n_words >= ?")
            params.append(int(self.min_words))
        if self.max_words is not None:
            clauses.append("n_words <= ?")
            params.append(int(self.max_words))
        if self.ids is not None:
            clauses.append("id IN (SELECT unnest(?::VARCHAR[]))")
            params.append(list(self.ids))
        return " AND ".join(clauses), params


def count_docs(store: Store, query: DocQuery) -> int:
    where, params = query.where()
    return int(store.scalar(f"SELECT count(*) FROM docs WHERE {where}", params) or 0)


def page_docs(store: Store, query: DocQuery, page: int = 0, page_size: int = 50) -> pd.DataFrame:
    """One page of matching documents: id, source, label, words, and a one-line snippet.

    With ids (semantic search), the page keeps their order; otherwise documents come in storage order.
    """
    where, params = query.where()
    if query.ids is not None:
        order_src = "(SELECT unnest(?::VARCHAR[]) AS oid, generate_subscripts(?::VARCHAR[], 1) AS pos)"
        sql = f"""
            SELECT d.id, d.source, d.label, d.n_words AS words,
                   {_snippet_sql('d.text')} AS snippet
            FROM docs d JOIN {order_src} o ON d.id = o.oid
            WHERE {where}
            ORDER BY o.pos LIMIT ? OFFSET ?
        """
        return store.df(sql, [list(query.ids), list(query.ids), *params, int(page_size), int(page) * int(page_size)])
    # No ORDER BY: DuckDB keeps storage order, and LIMIT stops the scan at the first page.
    sql = f"""
        SELECT id, source, label, n_words AS words, {_snippet_sql('text')} AS snippet
        FROM docs WHERE {where} LIMIT ? OFFSET ?
    """
    return store.df(sql, [*params, int(page_size), int(page) * int(page_size)])


def _snippet_sql(col: str) -> str:
    # One line of text: newlines and tabs become spaces so the table row stays one line high.
    return f"left(regexp_replace({col}, '\\s+', ' ', 'g'), {SNIPPET_CHARS})"


def get_doc(store: Store, doc_id: str) -> dict[str, Any] | None:
    """Everything stored for one document, with its meta parsed and its signal values."""
    df = store.df("SELECT * FROM docs WHERE id = ?", [doc_id])
    if df.empty:
        return None
    doc = df.iloc[0].to_dict()
    try:
        doc["meta"] = json.loads(doc["meta"]) if isinstance(doc.get("meta"), str) and doc["meta"] else {}
    except json.JSONDecodeError:
        doc["meta"] = {"raw": doc["meta"]}
    scores = store.df("SELECT * FROM scores WHERE id = ?", [doc_id]).drop(columns=["id"])
    doc["scores"] = {k: _plain(v) for k, v in scores.iloc[0].to_dict().items()} if len(scores.columns) and not scores.empty else {}
    return doc


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return None if value is pd.NA else value


def facet_values(store: Store) -> dict[str, list[str]]:
    """The sources and labels present, most frequent first (for the filter pickers)."""
    sources = store.df("SELECT source, count(*) n FROM docs GROUP BY 1 ORDER BY 2 DESC, 1")["source"].tolist()
    labels = store.df("SELECT coalesce(label, '(none)') AS label, count(*) n FROM docs GROUP BY 1 ORDER BY 2 DESC, 1")
    return {"sources": [str(s) for s in sources], "labels": [str(x) for x in labels["label"].tolist()]}


def word_range(store: Store) -> tuple[int, int]:
    lo, hi = store.one("SELECT coalesce(min(n_words), 0), coalesce(max(n_words), 0) FROM docs") or (0, 0)
    return int(lo), int(hi)


def highlight_spans(text: str, terms: list[str], limit: int = 50) -> list[tuple[int, int]]:
    """Where the search terms occur in a text (for "n matches" and jumping to them), case-insensitive."""
    spans: list[tuple[int, int]] = []
    for term in terms:
        for m in re.finditer(re.escape(term), text, flags=re.IGNORECASE):
            spans.append((m.start(), m.end()))
            if len(spans) >= limit:
                return sorted(spans)
    return sorted(spans)
