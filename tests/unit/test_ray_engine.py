"""The Ray Data path (local 2-CPU Ray) writes the same signals and embeddings as the local path."""

from __future__ import annotations

import os
import re
import shutil
import socket
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from core.workspace import Workspace

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture
def two_copies(demo_ws_readonly, tmp_path):
    out = []
    for name in ("local", "ray"):
        shutil.copytree(demo_ws_readonly.root, tmp_path / name, ignore=shutil.ignore_patterns("jobs"))
        out.append(Workspace.open(tmp_path / name))
    return out


def _signal_on_ray_equals_local(local_ws, ray_ws, signal: str) -> None:
    from core.signals.runner import read_sidecar, run_signal

    local = run_signal(local_ws, signal, workers=1)
    remote = run_signal(ray_ws, signal, engine="ray")
    a, b = pd.read_parquet(local.path), pd.read_parquet(remote.path)
    assert len(b) == len(a) > 0
    pd.testing.assert_frame_equal(a, b)
    assert read_sidecar(ray_ws, signal)["summary"] == read_sidecar(local_ws, signal)["summary"]


def _embeddings_on_ray_equal_local(local_ws, ray_ws) -> None:
    from core import ray_engine
    from core.embed import compute_embeddings, load_embeddings

    compute_embeddings(local_ws, "static")
    ray_engine.embed(ray_ws, "static")
    ids_a, a = load_embeddings(local_ws, "static")
    ids_b, b = load_embeddings(ray_ws, "static")
    assert ids_a == ids_b
    np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("signal", ["length", "gopher_quality"])
def test_a_batch_signal_on_ray_equals_the_local_path(local_ray, two_copies, signal):
    _signal_on_ray_equals_local(*two_copies, signal)


def test_embeddings_on_ray_equal_the_local_path(local_ray, two_copies):
    _embeddings_on_ray_equal_local(*two_copies)


def test_a_corpus_signal_is_refused_on_ray(two_copies):
    from core.errors import WinnowError
    from core.signals.runner import run_signal

    with pytest.raises(WinnowError, match="runs on one machine"):
        run_signal(two_copies[1], "exact_dup", engine="ray")


def test_embed_command_with_engine_ray(local_ray, make_ws):
    from core.cli import main
    from core.embed import embed_texts, load_embeddings

    texts = [f"document number {i} about {'cats' if i % 2 else 'the stock market'}" for i in range(30)]
    ws = make_ws([{"id": f"d{i}", "text": t} for i, t in enumerate(texts)])
    assert main(["embed", "--workspace", str(ws.root), "--engine", "ray", "--quiet"]) == 0
    ids, matrix = load_embeddings(ws, "static")
    assert len(ids) == 30  # in file order
    expected = embed_texts(texts, "static")
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(matrix, expected, atol=1e-5)


def test_score_command_with_engine_ray(local_ray, two_copies):
    from core.cli import main
    from core.signals.runner import run_signal

    local_ws, ray_ws = two_copies
    assert main(["score", "length", "--workspace", str(ray_ws.root), "--engine", "ray", "--quiet"]) == 0
    expected = pd.read_parquet(run_signal(local_ws, "length", workers=1).path)
    pd.testing.assert_frame_equal(pd.read_parquet(ray_ws.dir("signals") / "length.parquet"), expected)
    assert main(["score", "exact_dup", "--workspace", str(ray_ws.root), "--engine", "ray", "--quiet"]) == 2


def test_shards_given_as_a_pyarrow_uri_elsewhere(local_ray, two_copies, tmp_path, monkeypatch):
    """WINNOW_RAY_DOCS_URI: the workers read the shards from a URI that pyarrow resolves (here file://,
    the route s3:// and gs:// take too; no object store can be reached from this machine), not from the
    workspace's own folder: the result equals the local path's."""
    from core import ray_engine
    from core.signals.runner import run_signal

    local_ws, ray_ws = two_copies
    elsewhere = shutil.copytree(ray_ws.dir("docs"), tmp_path / "bucket" / "docs")
    monkeypatch.setenv("WINNOW_RAY_DOCS_URI", elsewhere.as_uri())
    shards, filesystem = ray_engine.docs_source(ray_ws)
    assert shards == [str(elsewhere / p.name) for p in ray_ws.doc_files()]
    assert filesystem.type_name == "local"
    local = run_signal(local_ws, "length", workers=1)
    remote = run_signal(ray_ws, "length", engine="ray")
    pd.testing.assert_frame_equal(pd.read_parquet(local.path), pd.read_parquet(remote.path))


# --- the shards on a real S3 endpoint: moto's S3 server on localhost, configured as a user would -----

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3(two_copies, monkeypatch):
    """A moto S3 server on a free localhost port holding the demo's docs shards under
    s3://winnow-test/prefix/docs/, and Winnow pointed at them by the environment only
    (WINNOW_RAY_DOCS_URI, AWS_ENDPOINT_URL_S3, AWS_REGION, dummy keys). The Ray workers were started
    before this environment existed (the module's `local_ray`), as on a cluster."""
    moto_server = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for name in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    env = {"AWS_ENDPOINT_URL_S3": endpoint, "AWS_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "winnow-test-key", "AWS_SECRET_ACCESS_KEY": "winnow-test-secret"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="winnow-test")
    for shard in two_copies[1].doc_files():
        client.upload_file(str(shard), "winnow-test", f"prefix/docs/{shard.name}")
    monkeypatch.setenv("WINNOW_RAY_DOCS_URI", "s3://winnow-test/prefix/docs/")
    yield SimpleNamespace(client=client, endpoint=endpoint, bucket="winnow-test")
    server.stop()


def test_signals_and_embeddings_from_shards_on_s3_equal_the_local_path(local_ray, two_copies, s3):
    from pyarrow import fs as pafs

    from core import ray_engine

    local_ws, ray_ws = two_copies
    shards, filesystem = ray_engine.docs_source(ray_ws)
    assert shards == [f"winnow-test/prefix/docs/{p.name}" for p in ray_ws.doc_files()]
    assert isinstance(filesystem, pafs.S3FileSystem)
    for signal in ("length", "gopher_quality"):
        _signal_on_ray_equals_local(local_ws, ray_ws, signal)
    _embeddings_on_ray_equal_local(local_ws, ray_ws)


def test_the_workers_really_read_s3(local_ray, two_copies, s3):
    """Shards on S3 that are not the workspace's (one document dropped) are refused, not silently
    replaced by the local docs/: the workers read the bucket."""
    import pyarrow.parquet as pq

    from core.errors import WinnowError
    from core.signals.runner import run_signal

    ray_ws = two_copies[1]
    first = ray_ws.doc_files()[0]
    table = pq.read_table(first)
    pq.write_table(table.slice(1), first.parent.parent / "short.parquet")
    s3.client.upload_file(str(first.parent.parent / "short.parquet"), s3.bucket, f"prefix/docs/{first.name}")
    with pytest.raises(WinnowError, match="not the workspace's"):
        run_signal(ray_ws, "length", engine="ray")


@pytest.mark.parametrize(("uri", "message"), [
    ("s3://winnow-test/empty/docs/", "no Parquet shards at s3://winnow-test/empty/docs/"),  # only a README there
    ("s3://winnow-test/nothing/here/", "no Parquet shards at s3://winnow-test/nothing/here/"),
    ("s3://no-such-bucket/docs/", "no bucket no-such-bucket at http://127.0.0.1:"),
    ("s3://winnow-test/other/docs/", "not a Winnow docs shard"),  # Parquet, but not a docs shard
    ("s3://winnow-test/prefix/docs/?region=us-east-1", "set the endpoint and region with AWS_ENDPOINT_URL_S3"),
], ids=["empty-prefix", "no-such-prefix", "no-such-bucket", "not-docs-shards", "query-in-uri"])
def test_a_location_without_docs_shards_is_a_clear_error(two_copies, s3, monkeypatch, tmp_path, uri, message):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from core.cli import main
    from core.errors import WinnowError
    from core.signals.runner import run_signal

    s3.client.put_object(Bucket=s3.bucket, Key="empty/docs/README.txt", Body=b"not a shard")
    pq.write_table(pa.table({"id": ["a", "b"], "score": [1.0, 2.0]}), tmp_path / "other.parquet")
    s3.client.upload_file(str(tmp_path / "other.parquet"), s3.bucket, "other/docs/part-00000.parquet")
    monkeypatch.setenv("WINNOW_RAY_DOCS_URI", uri)
    with pytest.raises(WinnowError, match=re.escape(message)):
        run_signal(two_copies[1], "length", engine="ray")
    assert main(["score", "length", "--workspace", str(two_copies[1].root), "--engine", "ray", "--quiet"]) == 2


def test_an_unreachable_endpoint_is_a_clear_error_at_once(two_copies, s3, monkeypatch):
    from core.cli import main
    from core.errors import WinnowError
    from core.signals.runner import run_signal

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{_free_port()}")  # nothing listens there
    started = time.monotonic()
    with pytest.raises(WinnowError, match="cannot list s3://winnow-test/prefix/docs/"):
        run_signal(two_copies[1], "length", engine="ray")
    assert main(["embed", "--workspace", str(two_copies[1].root), "--engine", "ray", "--quiet"]) == 2
    assert time.monotonic() - started < 20


def test_a_shard_the_workers_cannot_parse_is_a_clear_error(local_ray, two_copies, s3, monkeypatch):
    from core.errors import WinnowError
    from core.signals.runner import run_signal

    ray_ws = two_copies[1]
    good = ray_ws.doc_files()[0]
    s3.client.upload_file(str(good), s3.bucket, f"broken/docs/{good.name}")
    s3.client.put_object(Bucket=s3.bucket, Key="broken/docs/part-99999.parquet", Body=b"PAR1 this is not parquet")
    monkeypatch.setenv("WINNOW_RAY_DOCS_URI", f"s3://{s3.bucket}/broken/docs/")
    with pytest.raises(WinnowError, match="shards at s3://winnow-test/broken/docs/"):
        run_signal(ray_ws, "length", engine="ray")
