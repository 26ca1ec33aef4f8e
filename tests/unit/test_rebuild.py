"""Rebuild: from a manifest alone, re-ingest, recompute the signal and the selection, export again, and get the
same sha256 for every file; a changed input, signal version or parameter is named."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from pydantic import Field

from core import manifest as manifest_mod
from core.cli import main
from core.errors import WinnowError
from core.export import export_selection
from core.ingest import ingest_paths
from core.manifest import rebuild
from core.signals import REGISTRY
from core.signals.base import BatchSignal, Column, Params, register
from core.signals.runner import run_signal
from core.workspace import Workspace

select = pytest.importorskip("core.select", reason="the selection code (core/select.py) is not installed")


class _LenParams(Params):
    scale: float = Field(1.0, description="multiply the length by this")


class _Len(BatchSignal):
    """A small, real signal for these tests: characters per word, times `scale`."""

    name = "rebuild_test_len"
    version = "1"
    description = "characters per word (test signal)"
    columns = (Column("value", "float", "characters per word", better="higher"),)
    Params = _LenParams

    def compute(self, batch: pd.DataFrame) -> pd.DataFrame:
        words = batch["text"].str.split().str.len().clip(lower=1)
        return pd.DataFrame({"id": batch["id"], "value": batch["text"].str.len() / words * self.params.scale})


if _Len.name not in REGISTRY:
    register(_Len)

RECORDS = [{"id": f"r{i:02d}", "text": ("alpha beta " * (i % 5 + 1)) + "x" * (i % 11), "label": ["a", "b"][i % 2],
            "n": i} for i in range(24)]
RECIPE = {"strategy": "top_k", "score": "rebuild_test_len__value", "size": 6, "seed": 3,
          "filters": {"labels": ["a"]}}


@pytest.fixture
def exported(tmp_path, request):
    fmt = getattr(request, "param", "parquet")
    src = tmp_path / "inputs" / "corpus.jsonl"
    src.parent.mkdir()
    src.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    ws = Workspace.create(tmp_path / "ws")
    ingest_paths(ws, [src], id_field="id", label_field="label")
    run_signal(ws, "rebuild_test_len", {"scale": 1.0})
    select.save_selection(ws, "best", RECIPE)
    res = export_selection(ws, "best", fmt, columns=["text", "label", "rebuild_test_len__value"], shard_size=4,
                           dropped=True)
    return ws, src, res


@pytest.mark.parametrize("exported", ["parquet", "jsonl", "csv", "hf"], indirect=True)
def test_rebuild_gives_identical_hashes(exported, tmp_path):
    ws, src, res = exported
    m = res.manifest
    assert [s["key"] for s in m["signals"]] == ["rebuild_test_len"]
    assert m["counts"]["dropped_by_reason"] == {"label not in a": 12, "not selected by strategy (top_k)": 6}
    report = rebuild(res.folder / "manifest.json", tmp_path / "again")
    assert report.full and report.changes == []
    assert len(report.files) == len(m["files"]) >= 3
    assert report.identical, report.lines()
    assert json.loads((tmp_path / "again" / "manifest.json").read_text())["rebuilt_from"].endswith("manifest.json")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".again")] == []  # temp workspace removed


def test_rebuild_detects_a_changed_input(exported, tmp_path):
    ws, src, res = exported
    lines = src.read_text().splitlines()
    rec = json.loads(lines[0])
    rec["text"] = "a different text entirely, much longer than before"
    lines[0] = json.dumps(rec)
    src.write_text("\n".join(lines) + "\n")
    report = rebuild(res.folder, tmp_path / "again")
    assert not report.identical
    assert any(c.startswith(f"input {src} changed") for c in report.changes), report.changes
    assert any(c.startswith("documents:") for c in report.changes)
    assert any(not f.match for f in report.files)


def test_rebuild_names_an_edited_parameter(exported, tmp_path):
    ws, src, res = exported
    path = res.folder / "manifest.json"
    m = json.loads(path.read_text())
    m["signals"][0]["params"]["scale"] = 2.0
    path.write_text(json.dumps(m))
    report = rebuild(path, tmp_path / "again")
    assert not report.identical
    assert any(c.startswith("signal rebuild_test_len: recomputed values differ") and '"scale": 2.0' in c
               for c in report.changes), report.changes


def test_rebuild_names_a_changed_signal_version_and_recipe(exported, tmp_path, monkeypatch):
    ws, src, res = exported
    monkeypatch.setattr(_Len, "version", "2")
    path = res.folder / "manifest.json"
    m = json.loads(path.read_text())
    m["selection"]["recipe"]["size"] = 5
    path.write_text(json.dumps(m))
    report = rebuild(path, tmp_path / "again")
    assert "signal rebuild_test_len: version 1 at export, 2 now" in report.changes
    assert any(c.startswith("recipe: the manifest's recipe was edited") for c in report.changes)
    assert any(c.startswith("selection 'best': the recipe now selects other documents") for c in report.changes)
    assert not report.identical


def test_rebuild_without_selection_code_copies_ids_and_says_so(exported, tmp_path, monkeypatch):
    ws, src, res = exported
    monkeypatch.setattr(manifest_mod, "_selection_runner", lambda: None)
    report = rebuild(res.folder, tmp_path / "again")
    assert not report.full
    assert any(n.startswith("PARTIAL REBUILD") for n in report.notes)
    assert report.identical


def test_rebuild_finds_moved_inputs_and_refuses_missing_ones(exported, tmp_path):
    ws, src, res = exported
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    src.rename(moved / src.name)
    with pytest.raises(WinnowError, match="corpus.jsonl is missing.*--inputs"):
        rebuild(res.folder, tmp_path / "again")
    assert rebuild(res.folder, tmp_path / "again", inputs_dir=moved).identical


def test_cli_rebuild_reports_each_file(exported, tmp_path, capsys):
    ws, src, res = exported
    code = main(["rebuild", str(res.folder / "manifest.json"), "--out", str(tmp_path / "again"), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    n = len(res.manifest["files"])
    assert f"{n}/{n} files identical" in out and "OK   best-00000-of-00002.parquet" in out
    Path(src).write_text(src.read_text().replace("alpha", "gamma", 1))
    code = main(["rebuild", str(res.folder / "manifest.json"), "--out", str(tmp_path / "again"), "--force", "--quiet"])
    out = capsys.readouterr().out
    assert code == 1 and "changed: input" in out and "DIFF" in out


def test_rebuild_recomputes_embeddings_and_the_map_for_a_cluster_balanced_selection(tmp_path):
    from core.embed import compute_embeddings
    from core.mapping import build_map

    src = tmp_path / "inputs" / "mixed.jsonl"
    src.parent.mkdir()
    topics = ["the football match ended with a late goal", "interest rates and the budget deficit rose",
              "def parse(line): return line.split()"]
    src.write_text("".join(json.dumps({"text": f"{topics[i % 3]} number {i}"}) + "\n" for i in range(45)))
    ws = Workspace.create(tmp_path / "ws")
    ingest_paths(ws, [src])
    compute_embeddings(ws)
    build_map(ws, method="pca", clusters=3, seed=4)
    select.save_selection(ws, "balanced", {"strategy": "cluster_balanced", "size": 9, "seed": 2})
    res = export_selection(ws, "balanced", "jsonl", columns=["text", "map__cluster"])
    m = res.manifest
    assert m["map"]["method"] == "pca" and m["map"]["clusters"] == 3 and m["seeds"]["map"] == 4
    assert [e["model"] for e in m["embeddings"]] == [m["map"]["model"]]
    clusters = [json.loads(line)["map__cluster"] for line in (res.folder / "balanced.jsonl").read_text().splitlines()]
    assert sorted(clusters) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    report = rebuild(res.folder, tmp_path / "again")
    assert any(n.startswith("map recomputed") for n in report.notes)
    assert report.changes == [] and report.identical, report.lines()


def test_cli_rebuild_check_compares_and_leaves_nothing(exported, capsys):
    ws, src, res = exported
    before = sorted(p.name for p in ws.dir("exports").iterdir())
    code = main(["rebuild", str(res.folder), "--check", "--quiet"])
    assert code == 0 and "files identical" in capsys.readouterr().out
    assert sorted(p.name for p in ws.dir("exports").iterdir()) == before
