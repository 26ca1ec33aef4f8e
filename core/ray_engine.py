"""Ray Data engine: the same signal and embedding functions, run as `map_batches` over the Parquet shards.

Used by `python -m core score|embed --engine ray [--address ADDR]`. Results are written exactly as the
local path writes them (signals/<key>.parquet + sidecar; embeddings/<model>.npy via the embedding
cache), so the app reads them as usual. Ray is an optional extra (requirements-ray.txt) and is only
imported here, never by the app.

On a cluster the workers read the workspace's `docs/` shards themselves, so the workspace (or at least
`docs/`) must be on storage every node sees at the same path: a shared filesystem, or an object store
URI that pyarrow understands (s3://, gs://) given as WINNOW_RAY_DOCS_URI. The driver (this process)
writes the results, so `signals/` and `embeddings/` only need to be writable here.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import numpy as np
import pandas as pd

from core.errors import WinnowError
from core.progress import Progress, no_progress
from core.workspace import Workspace

DOC_COLUMNS = ["id", "text", "source", "label", "n_words", "n_chars"]


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[object]:
    """Connect to a cluster at `address` (or start a local Ray); shut it down afterwards if we started it."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        raise WinnowError("--engine ray needs Ray Data: pip install -r requirements-ray.txt") from None
    started = False
    if not ray.is_initialized():
        kwargs = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=num_cpus or os.cpu_count(), **kwargs)
        started = True
    try:
        ray.data.DataContext.get_current().execution_options.preserve_order = True
        ray.data.DataContext.get_current().enable_progress_bars = False
        yield ray
    finally:
        if started:
            ray.shutdown()


def doc_paths(ws: Workspace) -> list[str]:
    uri = os.environ.get("WINNOW_RAY_DOCS_URI")
    if uri:
        return [uri]
    paths = [str(p) for p in ws.doc_files()]
    if not paths:
        raise WinnowError("the workspace has no documents yet: ingest some with `python -m core ingest`")
    return paths


class _SignalUDF:
    """Computes one batch signal on a pandas batch; the signal travels as (name, params)."""

    def __init__(self, name: str, params: dict) -> None:
        from core.signals import get

        self.sig = get(name)(params)

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        out = self.sig.compute(batch.reset_index(drop=True))
        return out.reset_index(drop=True)


def signal_batches(sig, ws: Workspace, progress: Progress = no_progress, address: str | None = None,
                   num_cpus: int | None = None) -> pd.DataFrame:
    """A BatchSignal's result for every document, computed by Ray Data workers."""
    with ray_session(address, num_cpus) as ray:
        ds = ray.data.read_parquet(doc_paths(ws), columns=DOC_COLUMNS)
        total = ds.count()
        out = ds.map_batches(_SignalUDF, fn_constructor_args=(sig.name, sig.params.model_dump()),
                             batch_format="pandas", batch_size=sig.batch_size, concurrency=(1, num_cpus or 2))
        frames, done = [], 0
        progress(0, total)
        for batch in out.iter_batches(batch_format="pandas", batch_size=None):
            frames.append(batch)
            done += len(batch)
            progress(done, total)
    if not frames:
        return sig.empty_result([])
    return pd.concat(frames, ignore_index=True)


class _EmbedUDF:
    """Embeds the texts of a batch whose sha1 is wanted (not cached yet); the model loads once per worker."""

    def __init__(self, model: str, batch_size: int | None, wanted: frozenset[str]) -> None:
        from core.embed import _load_model, model_spec

        self.model, self.batch_size, self.wanted = model, batch_size, wanted
        self.dim = model_spec(model).dim
        _load_model(model)

    def __call__(self, batch: pd.DataFrame) -> dict:
        from core.embed import embed_texts

        batch = batch[batch["sha1"].isin(self.wanted)]
        if batch.empty:
            return {"sha1": np.zeros(0, dtype=object), "vector": np.zeros((0, self.dim), dtype=np.float32)}
        vectors = np.asarray(embed_texts(batch["text"].fillna("").tolist(), self.model, self.batch_size), np.float32)
        return {"sha1": batch["sha1"].to_numpy(dtype=object), "vector": vectors}


def embed(ws: Workspace, model: str, batch_size: int | None = None, progress: Progress = no_progress,
          address: str | None = None, num_cpus: int | None = None):
    """Embed the documents not in the cache with Ray workers, then write the embeddings as the local path does."""
    from core.embed import EmbeddingCache, _doc_keys, cache_dir, compute_embeddings, model_spec

    spec = model_spec(model)
    _, sha1s = _doc_keys(ws)
    cache = EmbeddingCache(cache_dir(ws, model), spec.dim)
    index, _ = cache.load()
    missing = sorted(set(sha1s) - set(index))
    if missing:
        with ray_session(address, num_cpus) as ray:
            ds = ray.data.read_parquet(doc_paths(ws), columns=["sha1", "text"])
            out = ds.map_batches(_EmbedUDF, fn_constructor_args=(model, batch_size, frozenset(missing)),
                                 batch_format="pandas",
                                 batch_size=batch_size or spec.default_batch_size, concurrency=(1, num_cpus or 2))
            done = 0
            progress(0, len(sha1s))
            for batch in out.iter_batches(batch_format="numpy", batch_size=None):
                if not len(batch["sha1"]):
                    continue
                cache.save([str(s) for s in batch["sha1"]], np.asarray(batch["vector"], np.float32))  # each block: a resume point
                done += len(batch["sha1"])
                progress(done, len(sha1s))
    return compute_embeddings(ws, model, batch_size, progress=progress)  # everything cached: writes the files
