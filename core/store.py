"""The query layer: one in-process DuckDB connection with views over the workspace's Parquet files.

- `docs`: all document parts (id, text, source, label, meta, n_chars, n_words, sha1).
- `scores`: one row per document id with every signal column, named `<signal key>__<column>`, plus
  the map's `map__x`, `map__y`, `map__cluster` when a map exists. It is materialised in memory
  (numbers and short strings only, never the text) so a slider query scans no Parquet and joins nothing.

`refresh()` rebuilds what changed; it is cheap when nothing did. Every query runs on its own cursor,
so several Streamlit sessions can share one Store.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from core.workspace import Workspace

EMPTY_DOCS = (
    "SELECT NULL::VARCHAR AS id, NULL::VARCHAR AS text, NULL::VARCHAR AS source, NULL::VARCHAR AS label, "
    "NULL::VARCHAR AS meta, NULL::BIGINT AS n_chars, NULL::BIGINT AS n_words, NULL::VARCHAR AS sha1 LIMIT 0"
)


def sql_str(value: str | Path) -> str:
    """A SQL string literal (for file paths, which DuckDB's table functions take as literals)."""
    return "'" + str(value).replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


class Store:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.con = duckdb.connect(":memory:", config={"threads": 2})
        self._lock = threading.Lock()
        self._signature: tuple = ()
        self.score_columns: list[str] = []
        self.refresh(force=True)

    # -- views -------------------------------------------------------------------------------
    def _files_signature(self) -> tuple:
        files = [*self.ws.doc_files(), *self.ws.signal_files(), *sorted(self.ws.dir("maps").glob("*.parquet"))]
        sig = []
        for f in files:
            try:
                st = f.stat()
            except FileNotFoundError:  # replaced between glob and stat
                continue
            sig.append((str(f), st.st_size, st.st_mtime_ns))
        return tuple(sig)

    def refresh(self, force: bool = False) -> bool:
        """Rebuild the views if any file changed; True if something was rebuilt."""
        sig = self._files_signature()
        if not force and sig == self._signature:
            return False
        with self._lock:
            docs = self.ws.doc_files()
            if docs:
                files = "[" + ", ".join(sql_str(p) for p in docs) + "]"
                self.con.execute(f"CREATE OR REPLACE VIEW docs AS SELECT * FROM read_parquet({files}, union_by_name=true)")
            else:
                self.con.execute(f"CREATE OR REPLACE VIEW docs AS {EMPTY_DOCS}")
            self._build_scores()
            self._signature = sig
        return True

    @property
    def signature(self) -> tuple:
        """The files behind the views as of the last refresh: a cache key for figures computed from them."""
        return self._signature

    def _score_sources(self) -> list[tuple[str, Path]]:
        """(key, file) for every signal file and the active map."""
        sources = [(p.stem, p) for p in self.ws.signal_files()]
        map_file = self.active_map_file()
        if map_file is not None:
            sources.append(("map", map_file))
        return sources

    def active_map_file(self) -> Path | None:
        """The newest map (`maps/<model>.parquet`; `<model>__clusters.parquet` is its cluster table)."""
        maps = [p for p in self.ws.dir("maps").glob("*.parquet") if p.stem != "clusters" and "__" not in p.stem]
        return max(maps, key=lambda p: (p.stat().st_mtime_ns, p.name)) if maps else None

    def _build_scores(self) -> None:
        selects, joins, columns = ["d.id"], [], []
        for i, (key, path) in enumerate(self._score_sources()):
            try:
                names = [r[0] for r in self.con.execute(f"DESCRIBE SELECT * FROM read_parquet({sql_str(path)})").fetchall()]
            except duckdb.Error:
                continue  # a file being replaced right now; the next refresh picks it up
            alias = f"s{i}"
            for name in names:
                if name == "id":
                    continue
                out = f"{key}__{name}"
                selects.append(f"{alias}.{ident(name)} AS {ident(out)}")
                columns.append(out)
            joins.append(f"LEFT JOIN read_parquet({sql_str(path)}) {alias} USING (id)")
        query = f"SELECT {', '.join(selects)} FROM (SELECT id FROM docs) d {' '.join(joins)}"
        self.con.execute(f"CREATE OR REPLACE TABLE scores AS {query}")
        self.score_columns = columns

    # -- queries -----------------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self.con.cursor()

    def df(self, query: str, params: Sequence[Any] | dict | None = None) -> pd.DataFrame:
        cur = self.cursor()
        try:
            return cur.execute(query, params or []).df()
        finally:
            cur.close()

    def arrow(self, query: str, params: Sequence[Any] | dict | None = None) -> pa.Table:
        cur = self.cursor()
        try:
            return cur.sql(query, params=params or None).to_arrow_table()
        finally:
            cur.close()

    def one(self, query: str, params: Sequence[Any] | dict | None = None) -> tuple | None:
        cur = self.cursor()
        try:
            return cur.execute(query, params or []).fetchone()
        finally:
            cur.close()

    def scalar(self, query: str, params: Sequence[Any] | dict | None = None) -> Any:
        row = self.one(query, params)
        return None if row is None else row[0]

    def count(self) -> int:
        return int(self.scalar("SELECT count(*) FROM docs") or 0)

    def close(self) -> None:
        self.con.close()
