"""What a signal may read: documents in batches, labels, embeddings, a target or benchmark.

Each accessor raises a WinnowError that says what to do when the prerequisite is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from core.errors import WinnowError
from core.workspace import Workspace


@dataclass
class SignalContext:
    ws: Workspace
    signal_name: str
    target: str | None = None
    benchmark: str | None = None
    scratch: Path | None = None  # a folder for this run's own checkpoints (kept until it succeeds)
    _ids: list[str] | None = field(default=None, repr=False)

    def doc_count(self) -> int:
        return sum(pq.ParquetFile(p).metadata.num_rows for p in self.ws.doc_files())

    def docs(self, columns: tuple[str, ...] = ("id", "text"), batch_size: int = 10_000) -> Iterator[pd.DataFrame]:
        """All documents in workspace order, as DataFrames of `batch_size` rows or fewer."""
        for part in self.ws.doc_files():
            pf = pq.ParquetFile(part)
            for batch in pf.iter_batches(batch_size=batch_size, columns=list(columns)):
                yield batch.to_pandas()

    def all_docs(self, columns: tuple[str, ...] = ("id", "text")) -> pd.DataFrame:
        frames = list(self.docs(columns, batch_size=100_000))
        if not frames:
            return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
        return pd.concat(frames, ignore_index=True)

    def ids(self) -> list[str]:
        if self._ids is None:
            self._ids = self.all_docs(("id",))["id"].astype(str).tolist()
        return self._ids

    def labels(self) -> pd.DataFrame:
        """id, label for every document; an error when no document has a label."""
        df = self.all_docs(("id", "label"))
        if df["label"].notna().sum() == 0:
            raise WinnowError(
                f"{self.signal_name} needs labelled documents, and this workspace has none: "
                "ingest with --label-field FIELD"
            )
        return df

    def embeddings(self, model: str | None = None) -> tuple[list[str], np.ndarray]:
        """(ids, matrix) of the stored embeddings; an error that says how to compute them if missing."""
        try:
            from core.embed import load_embeddings
        except ImportError as exc:  # pragma: no cover - embed.py is part of core
            raise WinnowError("embeddings are not available in this build") from exc
        return load_embeddings(self.ws, model)

    def embeddings_for(self, ids, model: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(has, vectors): which of `ids` have a stored embedding, and the vectors of those, in `ids` order."""
        emb_ids, matrix = self.embeddings(model)
        row = pd.Series(np.arange(len(emb_ids)), index=pd.Index(emb_ids, dtype=object))
        pos = row.reindex(pd.Index([str(i) for i in ids], dtype=object))
        has = pos.notna().to_numpy()
        return has, matrix[pos[has].to_numpy(dtype=np.int64)]

    def target_docs(self) -> pd.DataFrame:
        from core.targets import list_references, load_reference

        if not self.target:
            known = ", ".join(list_references(self.ws, "targets")) or "none yet"
            raise WinnowError(f"{self.signal_name} needs a target: pass --target NAME (targets: {known})")
        return load_reference(self.ws, self.target, "targets")

    def benchmark_docs(self) -> pd.DataFrame:
        from core.targets import list_references, load_reference

        if not self.benchmark:
            known = ", ".join(list_references(self.ws, "benchmarks")) or "none yet"
            raise WinnowError(f"{self.signal_name} needs a benchmark: pass --benchmark NAME (benchmarks: {known})")
        return load_reference(self.ws, self.benchmark, "benchmarks")
