"""The Ray Data path (local 2-CPU Ray) writes the same signals and embeddings as the local path."""

from __future__ import annotations

import os
import shutil

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


@pytest.mark.parametrize("signal", ["length", "gopher_quality"])
def test_a_batch_signal_on_ray_equals_the_local_path(local_ray, two_copies, signal):
    from core.signals.runner import read_sidecar, run_signal

    local_ws, ray_ws = two_copies
    local = run_signal(local_ws, signal, workers=1)
    remote = run_signal(ray_ws, signal, engine="ray")
    a, b = pd.read_parquet(local.path), pd.read_parquet(remote.path)
    assert len(b) == len(a) > 0
    pd.testing.assert_frame_equal(a, b)
    assert read_sidecar(ray_ws, signal)["summary"] == read_sidecar(local_ws, signal)["summary"]


def test_embeddings_on_ray_equal_the_local_path(local_ray, two_copies):
    from core import ray_engine
    from core.embed import compute_embeddings, load_embeddings

    local_ws, ray_ws = two_copies
    compute_embeddings(local_ws, "static")
    ray_engine.embed(ray_ws, "static")
    ids_a, a = load_embeddings(local_ws, "static")
    ids_b, b = load_embeddings(ray_ws, "static")
    assert ids_a == ids_b
    np.testing.assert_allclose(a, b, atol=1e-6)


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
    assert ray_engine.doc_paths(ray_ws) == [elsewhere.as_uri()]
    local = run_signal(local_ws, "length", workers=1)
    remote = run_signal(ray_ws, "length", engine="ray")
    pd.testing.assert_frame_equal(pd.read_parquet(local.path), pd.read_parquet(remote.path))
