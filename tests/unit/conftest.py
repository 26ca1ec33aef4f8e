"""Fixtures shared by unit tests of the embedding-based signals."""

from __future__ import annotations

import shutil

import pytest

from core.workspace import Workspace


@pytest.fixture(scope="session")
def demo_embedded(demo_ws_readonly, tmp_path_factory) -> Workspace:
    """A copy of the small demo with static embeddings, built once per session.

    Shared: a test may add signals and targets under names of its own, never change documents or embeddings.
    """
    from core.embed import compute_embeddings

    dst = tmp_path_factory.mktemp("embedded") / "demo"
    shutil.copytree(demo_ws_readonly.root, dst)
    ws = Workspace.open(dst)
    compute_embeddings(ws, "static")
    return ws
