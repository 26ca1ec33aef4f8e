"""Shared fixtures: a workspace factory, and the small demo workspace built once per test session."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from core.ingest import ingest_paths  # noqa: E402
from core.workspace import Workspace  # noqa: E402


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec) + "\n")
    return path


@pytest.fixture
def make_ws(tmp_path):
    """make_ws(records, **ingest options) -> a new workspace holding those records."""
    counter = {"n": 0}

    def _make(records: list[dict], name: str = "docs", **kwargs) -> Workspace:
        counter["n"] += 1
        ws = Workspace.create(tmp_path / f"ws{counter['n']}")
        src = write_jsonl(tmp_path / f"in{counter['n']}" / f"{name}.jsonl", records)
        ingest_paths(ws, [src], **kwargs)
        return ws

    return _make


@pytest.fixture(scope="session")
def demo_ws_readonly(tmp_path_factory) -> Workspace:
    """The small demo workspace, built once per session. Do not write to it: use `demo_ws`."""
    from data.build_demo import build_demo

    path = tmp_path_factory.mktemp("demo") / "small"
    build_demo(path, size="small")
    return Workspace.open(path)


@pytest.fixture
def demo_ws(demo_ws_readonly, tmp_path) -> Workspace:
    """A private copy of the small demo workspace that a test may change."""
    dst = tmp_path / "demo"
    shutil.copytree(demo_ws_readonly.root, dst, ignore=shutil.ignore_patterns("jobs"))
    (dst / "jobs").mkdir(exist_ok=True)
    return Workspace.open(dst)
