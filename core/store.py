"""The query layer: one in-process DuckDB connection with views over the workspace's Parquet files.

- `docs`: all document parts (id, text, source, label, meta, n_chars, n_words, sha1).
- `scores`: one row per document id with every signal column, named `<signal key>__<column>`, plus
  the map's `map__x`, `map__y`, `map__cluster` when a map exists. It is materialised (numbers and short
  strings only, never the text) so a slider query scans no Parquet and joins nothing.

`refresh()` rebuilds what changed; it is cheap when nothing did. Every query runs on its own cursor,
so several Streamlit sessions can share one Store.

Building `scores` joins every signal file to the documents by id: seconds at a million documents. So
the built table is kept in the workspace, as a DuckDB file `.cache/scores-<key>.duckdb`, where the key
is a hash of the names, sizes and modification times of the files it was built from (the document
parts, the signal files and the active map). A Store whose files match an existing cache attaches it
read-only (instant: DuckDB reads its blocks when a query needs them), so a server restart, a second
app, or a CLI command does not rebuild it. A new or rewritten signal file changes the key: the table is
built again, written to a temporary name and renamed into place (readers never see half a file), and
older caches are removed. A cache file that cannot be read (damaged, another DuckDB version) is
deleted and rebuilt; a workspace that cannot be written, or one of fewer than CACHE_MIN_DOCS documents
(built in a fraction of a second), keeps the table in memory only. The app's Store
(`background_cache=True`) serves a table it had to join from memory at once and writes the file in a
background thread, then moves the view to it.

Figures that read every row or every text (Overview's counts and histograms, slider ranges, the Map's
sample texts) go through `memo()`: computed once per state of the files they depend on (the documents,
one score source, or everything), shared by every session, and kept in `.cache/` as JSON or Parquet.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core.workspace import Workspace, atomic_path

EMPTY_DOCS = (
    "SELECT NULL::VARCHAR AS id, NULL::VARCHAR AS text, NULL::VARCHAR AS source, NULL::VARCHAR AS label, "
    "NULL::VARCHAR AS meta, NULL::BIGINT AS n_chars, NULL::BIGINT AS n_words, NULL::VARCHAR AS sha1 LIMIT 0"
)


CACHE_DIR = ".cache"  # inside the workspace: derived files that can be deleted at any time
CACHE_FORMAT = 1  # bump when the layout of the cached scores table changes
CACHE_KEEP = 2  # cached scores tables kept per workspace (the newest; another process may still use the older)
CACHE_MIN_DOCS = 20_000  # below this the join takes a fraction of a second: kept in memory, no file written


def sql_str(value: str | Path) -> str:
    """A SQL string literal (for file paths, which DuckDB's table functions take as literals)."""
    return "'" + str(value).replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


class Store:
    def __init__(self, ws: Workspace, background_cache: bool = False) -> None:
        """`background_cache`: when the scores table must be built, serve it from memory at once and
        write the cache file in a background thread (the app: a page waits for the join only, not for
        the write; the view moves to the file when it is written). Off for a CLI command, which may
        exit before a thread finishes."""
        self.ws = ws
        self.background_cache = background_cache
        self._writer: threading.Thread | None = None
        self._builds = 0
        self.con = duckdb.connect(":memory:", config={"threads": 2})
        self.con.execute("SET enable_progress_bar = false")  # a long join printed a bar into the server log
        self._lock = threading.Lock()
        self._signature: tuple = ()
        self.score_columns: list[str] = []
        self.scores_source = "none"  # "cache" (attached from .cache/), "built" (built now and cached), "memory"
        self._attached: list[str] = []  # aliases of attached cache files, oldest first
        self.docs_key: str | None = None  # cache keys (None: a small workspace, nothing written to .cache)
        self.scores_key: str | None = None
        self.source_keys: dict[str, str] = {}  # per score source ("map", a signal key): docs + that file
        self._memo: dict[tuple[str, Any], Any] = {}
        self._memo_lock = threading.Lock()
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

    def needs_refresh(self) -> bool:
        """Whether a file behind the views changed since the last refresh (a few stat calls)."""
        return self._files_signature() != self._signature

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

    def _scores_query(self, sources: list[tuple[str, Path]]) -> tuple[str, list[str], bool]:
        """The query that builds `scores`, its columns, and whether every source could be read."""
        selects, joins, columns, complete = ["d.id"], [], [], True
        for i, (key, path) in enumerate(sources):
            try:
                names = [r[0] for r in self.con.execute(f"DESCRIBE SELECT * FROM read_parquet({sql_str(path)})").fetchall()]
            except duckdb.Error:
                complete = False
                continue  # a file being replaced right now; the next refresh picks it up
            alias = f"s{i}"
            for name in names:
                if name == "id":
                    continue
                out = f"{key}__{name}"
                selects.append(f"{alias}.{ident(name)} AS {ident(out)}")
                columns.append(out)
            joins.append(f"LEFT JOIN read_parquet({sql_str(path)}) {alias} USING (id)")
        return f"SELECT {', '.join(selects)} FROM (SELECT id FROM docs) d {' '.join(joins)}", columns, complete

    # -- the cached scores table -----------------------------------------------------------------
    @property
    def cache_dir(self) -> Path:
        return self.ws.root / CACHE_DIR

    def _cache_key(self, docs: list[Path], sources: list[tuple[str, Path]]) -> str | None:
        """A hash of what `scores` is built from; None when a file vanished meanwhile (do not cache)."""
        parts: list[Any] = [CACHE_FORMAT, duckdb.__version__]
        try:
            for key, path in [("", p) for p in docs] + sources:
                st = path.stat()
                parts.append([key, path.relative_to(self.ws.root).as_posix(), st.st_size, st.st_mtime_ns])
        except (FileNotFoundError, ValueError):
            return None
        return hashlib.sha1(json.dumps(parts).encode()).hexdigest()[:20]

    def cache_file(self, key: str) -> Path:
        return self.cache_dir / f"scores-{key}.duckdb"

    def _attach_cache(self, key: str) -> bool:
        """Point the `scores` view at the cached table for `key`, if there is a good one."""
        path = self.cache_file(key)
        try:
            if not path.is_file():
                return False
        except OSError:  # e.g. .cache is not a folder
            return False
        alias = f"scores_cache_{key}"
        try:
            if alias not in self._attached:
                self.con.execute(f"ATTACH {sql_str(path)} AS {ident(alias)} (READ_ONLY)")
                self._attached.append(alias)
            got = self.con.execute(f"SELECT key, format FROM {ident(alias)}.winnow_cache").fetchone()
            if got is None or got[0] != key or got[1] != CACHE_FORMAT:
                raise duckdb.Error("cache file for another key")
            names = [r[0] for r in self.con.execute(f"DESCRIBE {ident(alias)}.scores").fetchall()]
        except duckdb.Error:
            self._detach(alias)
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)  # damaged or foreign: rebuilt below
            return False
        self._point_scores(f"{ident(alias)}.scores")
        self.score_columns = [n for n in names if n != "id"]
        self._detach_old(keep=alias)
        return True

    def _write_cache(self, key: str, query: str, con: duckdb.DuckDBPyConnection | None = None) -> bool:
        """Build `scores` into a new cache file (temporary name, then renamed); False if it cannot be written."""
        con = con or self.con
        path = self.cache_file(key)
        alias = f"scores_build_{uuid.uuid4().hex[:8]}"
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.{alias}.tmp")
        try:
            self.cache_dir.mkdir(exist_ok=True)
            con.execute(f"ATTACH {sql_str(tmp)} AS {ident(alias)}")
            try:
                con.execute(f"CREATE TABLE {ident(alias)}.scores AS {query}")
                con.execute(f"CREATE TABLE {ident(alias)}.winnow_cache AS SELECT ? AS key, ? AS format",
                            [key, CACHE_FORMAT])
                con.execute(f"CHECKPOINT {ident(alias)}")
            finally:
                con.execute(f"DETACH {ident(alias)}")
            os.replace(tmp, path)
        except (OSError, duckdb.Error):
            return False
        finally:
            for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                with contextlib.suppress(OSError):
                    leftover.unlink(missing_ok=True)
        self._prune_cache(path)
        return True

    def _prune_cache(self, newest: Path) -> None:
        """Keep the CACHE_KEEP newest cached tables (a process that attached an older one keeps reading it),
        drop figures (store.memo) of other states of the files and temporary files of builds that died."""
        try:
            files = sorted(self.cache_dir.glob("scores-*.duckdb"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
            for old in [f for f in files if f != newest][CACHE_KEEP - 1:]:
                old.unlink(missing_ok=True)
            current = {self.docs_key, self.scores_key, *self.source_keys.values()}
            for f in self.cache_dir.iterdir():
                if f.suffix in (".json", ".parquet") and f.stem.rsplit("-", 1)[-1] not in current:
                    f.unlink(missing_ok=True)  # a process still on that state computes it again
                elif f.name.startswith(".") and time.time() - f.stat().st_mtime > 3600:
                    f.unlink(missing_ok=True)
        except OSError:
            pass

    def _point_scores(self, source: str) -> None:
        """Make `scores` a view of `source` (replacing a table or view of that name)."""
        kind = self.con.execute("SELECT table_type FROM information_schema.tables WHERE table_schema = 'main' "
                                "AND table_catalog = current_database() AND table_name = 'scores'").fetchone()
        if kind and kind[0] == "BASE TABLE":
            self.con.execute("DROP TABLE scores")
        self.con.execute(f"CREATE OR REPLACE VIEW scores AS SELECT * FROM {source}")

    def _detach(self, alias: str) -> None:
        with contextlib.suppress(duckdb.Error):
            self.con.execute(f"DETACH DATABASE IF EXISTS {ident(alias)}")
        if alias in self._attached:
            self._attached.remove(alias)

    def _detach_old(self, keep: str) -> None:
        # The previous cache stays attached until the next change: a query another session started on it
        # a moment ago can finish.
        for alias in [a for a in self._attached if a != keep][:-1]:
            self._detach(alias)

    def _build_scores(self) -> None:
        docs, sources = self.ws.doc_files(), self._score_sources()
        large = bool(docs) and self.count() >= CACHE_MIN_DOCS
        key = self._cache_key(docs, sources) if large else None
        self.docs_key = self._cache_key(docs, []) if large else None
        self.scores_key = key
        self.source_keys = {}
        if large:
            for source in sources:
                k = self._cache_key(docs, [source])
                if k is not None:
                    self.source_keys[source[0]] = k
        if key is not None and self._attach_cache(key):
            self.scores_source = "cache"
            return
        query, columns, complete = self._scores_query(sources)
        cacheable = key is not None and complete
        if cacheable and not self.background_cache and self._write_cache(key, query) and self._attach_cache(key):
            self.scores_source = "built"
            return
        self._builds += 1
        table = f"scores_memory_{self._builds}"
        self.con.execute(f"CREATE TABLE {table} AS {query}")
        self._point_scores(table)
        self.score_columns = columns
        for (old,) in self.con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
                                       "AND starts_with(table_name, 'scores_memory_') AND table_name <> ?",
                                       [table]).fetchall():
            self.con.execute(f"DROP TABLE IF EXISTS {ident(old)}")  # a writer still copying it gives up
        for alias in list(self._attached):
            self._detach(alias)
        if cacheable and self.background_cache:
            self.scores_source = "memory (writing the cache)"
            self._writer = threading.Thread(target=self._write_in_background, args=(key, table), daemon=True,
                                            name="winnow-scores-cache")
            self._writer.start()
        else:
            self.scores_source = "memory"

    def _write_in_background(self, key: str, table: str) -> None:
        cur = self.con.cursor()
        try:
            written = self._write_cache(key, f"SELECT * FROM {ident(table)}", con=cur)
        finally:
            cur.close()
        if not written:
            return
        with self._lock:  # the same rows: the signature and every figure computed from them stay valid
            if self.scores_key == key and self.scores_source.startswith("memory") and self._attach_cache(key):
                self.scores_source = "built"
                with contextlib.suppress(duckdb.Error):
                    self.con.execute(f"DROP TABLE IF EXISTS {ident(table)}")

    def wait_for_cache(self, timeout: float | None = None) -> None:
        """Wait until a cache file being written in the background is written (tests, benchmarks)."""
        if self._writer is not None:
            self._writer.join(timeout)

    # -- figures derived from the files, computed once -------------------------------------------
    def memo(self, name: str, build: Callable[[], Any], *, on: str = "scores",
             persist: Literal["json", "parquet"] | None = None) -> Any:
        """`build()` once per state of the files: the documents only (`on="docs"`), everything behind
        `scores` (`on="scores"`), or the documents and one score source (`on="map"` for the active map,
        or a signal key: what is computed from that file alone survives a new signal). Kept in memory for every session of this Store (never copied: do not modify the result)
        and, with `persist`, in the workspace's .cache folder (JSON for plain data, Parquet for a
        DataFrame) so a restarted app reads it instead of computing it. A damaged file is recomputed."""
        if on == "docs":
            key = self.docs_key
        elif on == "scores":
            key = self.scores_key
        else:
            key = self.source_keys.get(on)
        mkey = (name, key or (on, self._signature))
        with self._memo_lock:
            if mkey in self._memo:
                return self._memo[mkey]
        path = None
        if key and persist:
            path = self.cache_dir / f"{name}-{key}.{persist}"
        value, found = None, False
        if path is not None:
            try:
                if persist == "json":
                    value = json.loads(path.read_text(encoding="utf-8"))
                else:
                    value = pq.read_table(path).to_pandas()
                found = True
            except (OSError, ValueError, pa.ArrowException):
                found = False
        if not found:
            value = build()
            if path is not None:
                self._write_memo(path, value, persist)
        with self._memo_lock:
            for k in [k for k in self._memo if k[0] == name and k != mkey]:
                del self._memo[k]  # an older state of the files
            self._memo[mkey] = value
        return value

    def _write_memo(self, path: Path, value: Any, persist: str) -> None:
        try:
            self.cache_dir.mkdir(exist_ok=True)
            with atomic_path(path) as tmp:
                if persist == "json":
                    tmp.write_text(json.dumps(value), encoding="utf-8")
                else:
                    pq.write_table(pa.Table.from_pandas(value, preserve_index=False), tmp)
            stem = path.name.split("-", 1)[0]
            for old in self.cache_dir.glob(f"{stem}-*.{persist}"):
                if old != path and old.stat().st_mtime_ns < path.stat().st_mtime_ns:
                    old.unlink(missing_ok=True)
        except (OSError, TypeError, ValueError, pa.ArrowException):
            pass  # a read-only workspace: kept in memory only

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
