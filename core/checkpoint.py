"""Batch checkpoints: finished batches are files, so a killed job resumes from its last finished batch.

The folder is keyed by *what* is computed (signal key + parameter hash + docs fingerprint), not by
which job computes it, so rerunning the same command after a crash resumes it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from core.workspace import write_parquet


def work_key(*parts: Any) -> str:
    """A short stable hash of the parameters that define a piece of work."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha1(blob).hexdigest()[:12]


class BatchCheckpoint:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, index: int) -> Path:
        return self.folder / f"batch-{index:06d}.parquet"

    def has(self, index: int) -> bool:
        return self._path(index).exists()

    def save(self, index: int, table: pa.Table) -> None:
        write_parquet(table, self._path(index), compression="zstd")

    def load(self, index: int) -> pa.Table:
        return pq.read_table(self._path(index))

    def done(self) -> list[int]:
        return sorted(int(p.stem.split("-")[1]) for p in self.folder.glob("batch-*.parquet"))

    def load_all(self, count: int) -> pa.Table:
        return pa.concat_tables([self.load(i) for i in range(count)], promote_options="default")

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
