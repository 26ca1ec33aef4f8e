"""Ray Data engine: the same signal and embedding functions, run as `map_batches` over the Parquet shards.

Used by `python -m core score|embed --engine ray [--address ADDR]`. Results are written exactly as the
local path writes them (signals/<key>.parquet + sidecar; embeddings/<model>.npy via the embedding
cache), so the app reads them as usual. Ray is an optional extra (requirements-ray.txt) and is only
imported here, never by the app.

On a cluster the workers read the workspace's `docs/` shards themselves, so the workspace (or at least
`docs/`) must be on storage every node sees at the same path: a shared filesystem, or an object store
URI that pyarrow understands (s3://, gs://, file://) given as WINNOW_RAY_DOCS_URI. The driver (this
process) writes the results, so `signals/` and `embeddings/` only need to be writable here.

WINNOW_RAY_DOCS_URI: the driver lists the `*.parquet` shards there (in name order, like the workspace's
`docs/part-*.parquet`) and reads the first one's schema before Ray starts, so a wrong location, an
empty prefix or an unreachable endpoint is a WinnowError at once. For s3:// URIs the driver builds a
`pyarrow.fs.S3FileSystem` from the standard AWS environment variables and hands it to
`ray.data.read_parquet(filesystem=...)`, so the workers get the same settings:
  AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL)   an S3-compatible endpoint (MinIO, Ceph, moto...), http:// or https://
  AWS_REGION (or AWS_DEFAULT_REGION)          else the bucket's region is asked of AWS (no endpoint set)
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
Credentials given in the environment travel to the workers inside the read tasks (Ray's `filesystem=`
route, visible to whoever can inspect the cluster's tasks); without them, driver and workers each use
their own AWS credential chain (~/.aws, instance role). Other schemes go through
`pyarrow.fs.FileSystem.from_uri` and that filesystem's own configuration. A signal computed from such
shards is refused unless they hold the workspace's documents in its order (a stale copy); `embed`
computes locally whatever document the shards did not provide.
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
DOCS_URI_ENV = "WINNOW_RAY_DOCS_URI"


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


def docs_source(ws: Workspace) -> tuple[list[str], object | None]:
    """The docs shards the workers read and the pyarrow filesystem they are on (None: the workspace's own
    `docs/`, by local path). With WINNOW_RAY_DOCS_URI set the shards are listed and checked here, on the
    driver, before any Ray work starts."""
    uri = os.environ.get(DOCS_URI_ENV, "").strip()
    if not uri:
        paths = [str(p) for p in ws.doc_files()]
        if not paths:
            raise WinnowError("the workspace has no documents yet: ingest some with `python -m core ingest`")
        return paths, None
    import pyarrow.parquet as pq
    from pyarrow import fs as pafs

    filesystem, base = _filesystem(uri)
    try:
        info = filesystem.get_file_info(base)
        if info.type == pafs.FileType.File:
            infos = [info]
        else:
            infos = filesystem.get_file_info(pafs.FileSelector(base, allow_not_found=True))
    except OSError as exc:  # unreachable endpoint, no such bucket, access denied
        raise WinnowError(f"cannot list {uri} ({DOCS_URI_ENV}): {_first_line(exc)}") from None
    shards = sorted(i.path for i in infos if i.type == pafs.FileType.File and i.base_name.endswith(".parquet"))
    if not shards and filesystem.type_name == "s3":
        bucket = base.split("/")[0]
        try:
            found = filesystem.get_file_info(bucket).type != pafs.FileType.NotFound
        except OSError as exc:
            raise WinnowError(f"cannot look up bucket {bucket} ({DOCS_URI_ENV}): {_first_line(exc)}") from None
        if not found:
            endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or "AWS S3"
            raise WinnowError(f"no bucket {bucket} at {endpoint} ({DOCS_URI_ENV}={uri}): check the bucket name, "
                              "AWS_ENDPOINT_URL_S3 and the credentials")
    if not shards:
        raise WinnowError(f"no Parquet shards at {uri} ({DOCS_URI_ENV}): copy the workspace's docs/*.parquet "
                          f"there, or unset {DOCS_URI_ENV} to read the workspace's own docs/")
    try:
        names = pq.read_schema(shards[0], filesystem=filesystem).names
    except (OSError, ValueError) as exc:  # ArrowInvalid (not Parquet) is a ValueError
        raise WinnowError(f"cannot read {shards[0]} at {uri} ({DOCS_URI_ENV}): {_first_line(exc)}") from None
    missing = [c for c in [*DOC_COLUMNS, "sha1"] if c not in names]
    if missing:
        raise WinnowError(f"{shards[0]} at {uri} is not a Winnow docs shard (no column(s) {', '.join(missing)}): "
                          f"{DOCS_URI_ENV} must point at a copy of the workspace's docs/")
    return shards, filesystem


def _filesystem(uri: str) -> tuple[object, str]:
    """(pyarrow filesystem, path inside it) for WINNOW_RAY_DOCS_URI."""
    from pyarrow import fs as pafs

    if uri.startswith("s3://"):
        return _s3_filesystem(uri)
    try:
        return pafs.FileSystem.from_uri(uri)
    except (OSError, ValueError) as exc:
        raise WinnowError(f"{DOCS_URI_ENV}={uri} is not a location pyarrow can read: {_first_line(exc)}") from None


def _s3_filesystem(uri: str) -> tuple[object, str]:
    """An S3FileSystem configured from the standard AWS environment variables (see the module docstring)."""
    from urllib.parse import urlsplit

    from pyarrow import fs as pafs

    parts = urlsplit(uri)
    if parts.query or not parts.netloc:
        raise WinnowError(f"{DOCS_URI_ENV}={uri}: give s3://bucket/prefix/docs/ and set the endpoint and region "
                          "with AWS_ENDPOINT_URL_S3 and AWS_REGION")
    env = os.environ.get
    kwargs: dict = {}
    endpoint = env("AWS_ENDPOINT_URL_S3") or env("AWS_ENDPOINT_URL")
    if endpoint:
        kwargs["endpoint_override"] = endpoint
    region = env("AWS_REGION") or env("AWS_DEFAULT_REGION")
    if not region and not endpoint:
        try:
            region = pafs.resolve_s3_region(parts.netloc)
        except OSError as exc:
            raise WinnowError(f"cannot find the region of bucket {parts.netloc} ({DOCS_URI_ENV}): "
                              f"{_first_line(exc)}; set AWS_REGION") from None
    if region:
        kwargs["region"] = region
    if env("AWS_ACCESS_KEY_ID") and env("AWS_SECRET_ACCESS_KEY"):
        kwargs.update(access_key=env("AWS_ACCESS_KEY_ID"), secret_key=env("AWS_SECRET_ACCESS_KEY"),
                      session_token=env("AWS_SESSION_TOKEN"))
    try:
        filesystem = pafs.S3FileSystem(**kwargs)
    except (OSError, ValueError) as exc:
        raise WinnowError(f"cannot configure S3 for {uri}: {_first_line(exc)}") from None
    return filesystem, f"{parts.netloc}/{parts.path.strip('/')}".rstrip("/")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextlib.contextmanager
def _worker_reads(where: str) -> Iterator[None]:
    """An I/O or Arrow error on a worker (a shard it cannot read, a file that is not Parquet) becomes a
    WinnowError naming the location; Ray wraps the worker's exception, so its causes are searched."""
    import pyarrow as pa

    try:
        yield
    except WinnowError:
        raise
    except Exception as exc:
        seen, cause, found = set(), exc, None
        while cause is not None and id(cause) not in seen:  # down to the worker's own exception
            seen.add(id(cause))
            if isinstance(cause, (OSError, pa.ArrowException)):
                found = cause
            ray_cause = getattr(cause, "cause", None)  # ray.exceptions.RayTaskError keeps the worker's exception here
            cause = (ray_cause if isinstance(ray_cause, BaseException) else None) or cause.__cause__ or cause.__context__
        if found is None:
            raise
        raise WinnowError(f"a Ray worker failed on the shards at {where}: {_first_line(found)}") from exc


def _read_docs(ray, columns: list[str], shards: list[str], filesystem) -> object:
    kwargs = {"filesystem": filesystem} if filesystem is not None else {}
    return ray.data.read_parquet(shards, columns=columns, **kwargs)


def _where(ws: Workspace) -> str:
    return os.environ.get(DOCS_URI_ENV, "").strip() or str(ws.dir("docs"))


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
    shards, filesystem = docs_source(ws)
    with ray_session(address, num_cpus) as ray, _worker_reads(_where(ws)):
        ds = _read_docs(ray, DOC_COLUMNS, shards, filesystem)
        total = ds.count()
        out = ds.map_batches(_SignalUDF, fn_constructor_args=(sig.name, sig.params.model_dump()),
                             batch_format="pandas", batch_size=sig.batch_size, concurrency=(1, num_cpus or 2))
        frames, done = [], 0
        progress(0, total)
        for batch in out.iter_batches(batch_format="pandas", batch_size=None):
            frames.append(batch)
            done += len(batch)
            progress(done, total)
    result = pd.concat(frames, ignore_index=True) if frames else sig.empty_result([])
    if filesystem is not None:
        _same_documents(ws, result["id"])
    return result


def _same_documents(ws: Workspace, ids: pd.Series) -> None:
    """The shards at WINNOW_RAY_DOCS_URI must be the workspace's documents, in the same order."""
    import pyarrow.parquet as pq

    local = [i for part in ws.doc_files() for i in pq.read_table(part, columns=["id"]).column("id").cast("string").to_pylist()]
    if ids.astype(str).tolist() != local:
        raise WinnowError(f"the shards at {os.environ.get(DOCS_URI_ENV)} hold {len(ids)} documents that are not the "
                          f"workspace's {len(local)} (in order): copy its current docs/ there again")


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
        shards, filesystem = docs_source(ws)
        with ray_session(address, num_cpus) as ray, _worker_reads(_where(ws)):
            ds = _read_docs(ray, ["sha1", "text"], shards, filesystem)
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
