"""A workspace is one folder of plain files; this module opens it and writes into it atomically.

Every writer goes through `atomic_path`: write under a temporary name in the same folder, then
`os.replace`, so a reader (the app, another job) never sees half a file and a crash leaves the old
file in place.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from core.errors import WinnowError

SUBDIRS = (
    "docs",
    "quarantine",
    "signals",
    "embeddings",
    "maps",
    "selections",
    "exports",
    "jobs",
    "targets",
    "benchmarks",
    "filters",
    "inputs",
)
MARKER = "winnow.json"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


_DIGESTS: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> digest: a file is read once per change
WHOLE_FILE_BYTES = 4 << 20  # files up to this size are hashed whole


def content_digest(path: Path) -> str:
    """A digest of a file's content that a copy keeps. Parquet files (written once, never edited in
    place) by their size and footer, which holds every column chunk's offsets and sizes, the row
    counts and the statistics (ids, hashes): read in microseconds at any size. Other files up to
    WHOLE_FILE_BYTES whole; larger ones by size, first and last MiB."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key in _DIGESTS:
        return _DIGESTS[key]
    h = hashlib.sha1(str(st.st_size).encode())
    with open(path, "rb") as fh:
        if path.suffix == ".parquet" and st.st_size > 12:
            fh.seek(st.st_size - 8)
            tail = fh.read(8)
            footer = int.from_bytes(tail[:4], "little")
            if tail[4:] == b"PAR1" and footer + 8 <= st.st_size:
                fh.seek(st.st_size - 8 - footer)
                h.update(fh.read(footer + 8))
            else:  # not a Parquet file after all: hash it as any other
                fh.seek(0)
                h.update(fh.read(WHOLE_FILE_BYTES))
        elif st.st_size <= WHOLE_FILE_BYTES:
            h.update(fh.read())
        else:
            h.update(fh.read(1 << 20))
            fh.seek(st.st_size - (1 << 20))
            h.update(fh.read())
    digest = h.hexdigest()[:16]
    if len(_DIGESTS) > 10_000:
        _DIGESTS.clear()
    _DIGESTS[key] = digest
    return digest


def safe_name(name: str, what: str = "name") -> str:
    """Return `name` if it is a plain file name (letters, digits, `_`, `-`, `.`), else refuse it.

    Selection, export, target and filter names become file names; this keeps them inside their folder.
    """
    name = (name or "").strip()
    if not _SAFE_NAME.match(name) or ".." in name:
        raise WinnowError(
            f"invalid {what} {name!r}: use 1-100 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit (no '/', '..' or spaces)"
        )
    return name


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it over `path`, on failure delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_parquet(table: pa.Table, path: Path, **kwargs: Any) -> Path:
    """Write a Parquet file atomically (zstd-compressed)."""
    kwargs.setdefault("compression", "zstd")
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, **kwargs)
    return Path(path)


def write_json(obj: Any, path: Path) -> Path:
    """Write JSON atomically, readable by people (indented, UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return Path(path)


def read_json(path: Path, default: Any = None) -> Any:
    path = Path(path)
    if not path.exists():
        return default
    return json.loads(path.read_text(encoding="utf-8"))


class Workspace:
    """One folder holding a corpus and everything computed from it (see DESIGN.md, Storage)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().resolve()

    # -- opening -----------------------------------------------------------------------------
    @classmethod
    def create(cls, root: Path | str) -> Workspace:
        """Create (or reuse) a workspace folder with all its subfolders."""
        ws = cls(root)
        if ws.root.exists() and not ws.root.is_dir():
            raise WinnowError(f"{ws.root} exists and is not a folder")
        ws.root.mkdir(parents=True, exist_ok=True)
        for sub in SUBDIRS:
            (ws.root / sub).mkdir(exist_ok=True)
        if not (ws.root / MARKER).exists():
            from core import __version__

            write_json({"winnow_version": __version__, "format": 1}, ws.root / MARKER)
        return ws

    @classmethod
    def open(cls, root: Path | str) -> Workspace:
        """Open an existing workspace; a clear error when the folder is not one."""
        ws = cls(root)
        if not ws.root.is_dir():
            raise WinnowError(f"no workspace at {ws.root} (create one with `python -m core ingest`)")
        if not (ws.root / MARKER).exists() and not (ws.root / "docs").is_dir():
            raise WinnowError(f"{ws.root} is not a Winnow workspace (no {MARKER} or docs/ folder)")
        for sub in SUBDIRS:
            (ws.root / sub).mkdir(exist_ok=True)
        return ws

    @staticmethod
    def is_workspace(path: Path | str) -> bool:
        p = Path(path)
        return (p / MARKER).exists() or (p / "docs").is_dir()

    # -- folders -----------------------------------------------------------------------------
    def dir(self, sub: str) -> Path:
        if sub not in SUBDIRS:
            raise ValueError(f"unknown workspace folder {sub!r}")
        return self.root / sub

    @property
    def name(self) -> str:
        return self.root.name

    def doc_files(self) -> list[Path]:
        return sorted(self.dir("docs").glob("part-*.parquet"))

    def quarantine_files(self) -> list[Path]:
        return sorted(self.dir("quarantine").glob("*.parquet"))

    def signal_files(self) -> list[Path]:
        return sorted(self.dir("signals").glob("*.parquet"))

    def has_docs(self) -> bool:
        return bool(self.doc_files())

    def fingerprint(self) -> str:
        """Changes whenever the documents change: the doc parts' names and contents (`content_digest`),
        not their times, so a copied workspace (`cp -r`, a download) keeps its signals, maps and caches."""
        parts = [f"{p.name}:{content_digest(p)}" for p in self.doc_files()]
        return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]

    def same_docs(self, recorded: str | None) -> bool:
        """Whether a fingerprint recorded earlier (in a signal's sidecar, a map's info) is of the documents
        as they are now. Also accepts the fingerprint of versions before 2026-11-29 (names, sizes and
        mtimes), so that upgrading does not make every signal and map of an existing workspace stale."""
        if recorded is None:
            return False
        if recorded == self.fingerprint():
            return True
        stamps = [f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in self.doc_files()]
        return recorded == hashlib.sha1("|".join(stamps).encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"
