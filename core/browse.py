"""Queries behind the Browse page and `python -m core table`-like reads: filter, search, page, read one.

Keyword search is case-insensitive substring matching in DuckDB (a literal RE2 pattern): every word of
the query must occur (a quoted "phrase" must occur as written). It scans the text column, which DuckDB does at a few
hundred MB/s per core: the first page of a frequent word over a million documents comes back in well
under a second (the scan stops at the page), but anything that must see every text (a word that
matches nothing or little, or an exact count) reads the whole column: 5-10 s at 1M documents of about
1,500 characters on 2 busy cores (bench/scale.py). So Browse asks for the page first and counts
keyword matches only up to COUNT_CAP (`count_matches`), which stops early for frequent words and
needs no second scan when the first page is not full.
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
COUNT_CAP = 10_000  # keyword matches are counted up to this many ("more than 10,000")


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
            # RE2 finds a case-insensitive literal with half the CPU of lower() + contains (1M documents of
            # 1,500 characters: 1.7 s of CPU instead of 3.5-4.2 s), and matches the same documents
            clauses.append("regexp_matches(text, ?)")
            params.append("(?i)" + _literal(term))
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


def _literal(term: str) -> str:
    """`term` as an RE2 pattern that matches exactly itself."""
    return "".join("\\" + c if c in _RE2_SPECIAL else c for c in term)


_RE2_SPECIAL = set("\\.+*?()|[]{}^$")


def count_docs(store: Store, query: DocQuery, cap: int | None = None) -> int:
    """How many documents match; with a cap, at most cap + 1 (the scan stops there)."""
    where, params = query.where()
    if cap is None:
        return int(store.scalar(f"SELECT count(*) FROM docs WHERE {where}", params) or 0)
    sql = f"SELECT count(*) FROM (SELECT 1 FROM docs WHERE {where} LIMIT ?)"
    return int(store.scalar(sql, [*params, int(cap) + 1]) or 0)


def count_matches(store: Store, query: DocQuery, page: int, rows_on_page: int, page_size: int,
                  cap: int | None = None) -> tuple[int, bool]:
    """(count, exact) for a query whose page `page` held `rows_on_page` rows (of at most page_size).

    Filters without keywords read no text, so their count is exact and quick. With keywords: a first
    page that is not full is the whole answer (no second scan); otherwise matches are counted up to
    `cap` (default COUNT_CAP), and (cap, False) means "more than cap".
    """
    cap = COUNT_CAP if cap is None else int(cap)
    if page == 0 and rows_on_page < page_size:
        return rows_on_page, True
    if not query.terms():
        return count_docs(store, query), True
    n = count_docs(store, query, cap=cap)
    return (n, True) if n <= cap else (cap, False)


def page_docs(store: Store, query: DocQuery, page: int = 0, page_size: int = 50, extra: int = 0) -> pd.DataFrame:
    """One page of matching documents: id, source, label, words, and a one-line snippet.

    With ids (semantic search), the page keeps their order; otherwise documents come in storage order.
    `extra` rows past the page are read too (Browse reads one to know whether a next page exists
    without counting).
    """
    where, params = query.where()
    offset, page_size = int(page) * int(page_size), int(page_size) + int(extra)
    if query.ids is not None and not query.terms():
        # Without keywords the page is chosen on the small columns first; then only its documents'
        # texts are read (a literal id list reaches the Parquet scan as a filter). Joining every id of
        # a map selection to the texts read the text of all of them: ~6 s per page for a 44,000-document
        # cluster of a million documents, ~0.6 s this way.
        order_src = "(SELECT unnest(?::VARCHAR[]) AS oid, generate_subscripts(?::VARCHAR[], 1) AS pos)"
        picked = store.df(f"""
            SELECT d.id, o.pos FROM (SELECT id, source, label, n_words FROM docs) d JOIN {order_src} o ON d.id = o.oid
            WHERE {where} ORDER BY o.pos LIMIT ? OFFSET ?""", [list(query.ids), list(query.ids), *params, page_size, offset])
        if picked.empty:
            return pd.DataFrame(columns=["id", "source", "label", "words", "snippet"])
        in_list = ", ".join("'" + str(i).replace("'", "''") + "'" for i in picked["id"])
        rows = store.df(f"""
            SELECT id, source, label, n_words AS words, {_snippet_sql('text')} AS snippet
            FROM docs WHERE id IN ({in_list})""")
        order = {doc_id: n for n, doc_id in enumerate(picked["id"])}
        rows = rows.drop_duplicates("id")
        return rows.iloc[rows["id"].map(order).argsort()].reset_index(drop=True)
    if query.ids is not None:
        order_src = "(SELECT unnest(?::VARCHAR[]) AS oid, generate_subscripts(?::VARCHAR[], 1) AS pos)"
        sql = f"""
            SELECT d.id, d.source, d.label, d.n_words AS words,
                   {_snippet_sql('d.text')} AS snippet
            FROM docs d JOIN {order_src} o ON d.id = o.oid
            WHERE {where}
            ORDER BY o.pos LIMIT ? OFFSET ?
        """
        return store.df(sql, [list(query.ids), list(query.ids), *params, page_size, offset])
    # No ORDER BY: DuckDB keeps storage order, and LIMIT stops the scan at the first page.
    sql = f"""
        SELECT id, source, label, n_words AS words, {_snippet_sql('text')} AS snippet
        FROM docs WHERE {where} LIMIT ? OFFSET ?
    """
    return store.df(sql, [*params, page_size, offset])


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
