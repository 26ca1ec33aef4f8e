"""Saved selections: files, names, list/delete/duplicate, and `python -m core select`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from core.errors import WinnowError
from core.select import (
    delete_selection,
    duplicate_selection,
    list_selections,
    load_selection,
    run_recipe,
    save_selection,
    selection_table,
)
from core.store import Store
from tests.unit.select_helpers import make_select_ws

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ws(make_ws, tmp_path):
    return make_select_ws(make_ws, tmp_path)


def test_save_writes_recipe_and_ids_in_order(ws):
    recipe = {"strategy": "top_k", "score": "toy__quality", "size": 5, "seed": 3}
    meta = save_selection(ws, "best5", recipe)
    assert meta["count"] == 5 and meta["pool"] == 60 and meta["recipe"]["strategy"] == "top_k"
    on_disk = json.loads((ws.dir("selections") / "best5.json").read_text())
    assert on_disk["recipe"] == {"strategy": "top_k", "score": "toy__quality", "size": 5, "seed": 3}
    table = pq.read_table(ws.dir("selections") / "best5.parquet").to_pandas()
    assert table.columns.tolist() == ["id", "rank", "epoch"]
    assert table["id"].tolist() == run_recipe(ws, recipe).rows["id"].tolist()
    # tokens = words of the selected documents (document i has i + 3 words)
    assert meta["tokens"] == sum(int(i[1:]) + 3 for i in table["id"])
    _, rows = load_selection(ws, "best5")
    assert rows["rank"].tolist() == [0, 1, 2, 3, 4]


def test_rs2_selection_keeps_an_epoch_column(ws):
    save_selection(ws, "rs2", {"strategy": "rs2", "size": 0.5, "epochs": 3})
    meta, rows = load_selection(ws, "rs2")
    assert meta["count"] == 90 and meta["unique"] == 60 and meta["epochs"] == 3
    assert rows.groupby("epoch").size().tolist() == [30, 30, 30]


@pytest.mark.parametrize("name", ["../evil", "a/b", "..", "", " ", "x" * 101, ".hidden"])
def test_path_like_names_are_refused(ws, name):
    with pytest.raises(WinnowError, match="invalid selection name"):
        save_selection(ws, name, {"strategy": "random", "size": 3})
    assert not any(ws.root.parent.glob("evil*"))


def test_list_delete_duplicate(ws):
    save_selection(ws, "a", {"strategy": "random", "size": 4})
    dup = duplicate_selection(ws, "a", "b")
    assert dup["duplicated_from"] == "a"
    assert list_selections(ws) == ["a", "b"]
    assert load_selection(ws, "a")[1].equals(load_selection(ws, "b")[1])
    table = selection_table(ws)
    assert table["name"].tolist() == ["a", "b"] and table["count"].tolist() == [4, 4]
    with pytest.raises(WinnowError, match="already exists"):
        duplicate_selection(ws, "a", "b")
    delete_selection(ws, "a")
    assert list_selections(ws) == ["b"]
    with pytest.raises(WinnowError, match="no selection named 'a'.*selections: b"):
        load_selection(ws, "a")


def test_an_empty_result_is_not_saved(ws):
    with pytest.raises(WinnowError, match="selects no documents"):
        save_selection(ws, "none", {"strategy": "all", "filters": {"labels": ["nope"]}})
    assert list_selections(ws) == []


def test_no_overwrite_refuses_an_existing_name(ws):
    save_selection(ws, "a", {"strategy": "random", "size": 4})
    with pytest.raises(WinnowError, match="already exists"):
        save_selection(ws, "a", {"strategy": "random", "size": 5}, overwrite=False)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_cli_select_makes_the_same_selection_as_the_library(ws, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("strategy: cluster_balanced\nquota: proportional\nsize: 12\nseed: 5\n")
    out = _cli("select", "--workspace", str(ws.root), "--recipe", str(recipe), "--name", "bal", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["count"] == 12
    _, rows = load_selection(ws, "bal")
    assert rows["id"].tolist() == run_recipe(ws, {"strategy": "cluster_balanced", "quota": "proportional",
                                                  "size": 12, "seed": 5}, Store(ws)).rows["id"].tolist()
    assert any(p.suffix == ".json" for p in ws.dir("jobs").iterdir())  # recorded as a job


def test_cli_errors_are_one_line(ws, tmp_path):
    recipe = tmp_path / "r.json"
    recipe.write_text('{"strategy": "top_k", "size": 3, "sise": 1}')
    out = _cli("select", "--workspace", str(ws.root), "--recipe", str(recipe), "--name", "x")
    assert out.returncode == 2
    assert "sise: unknown key" in out.stderr and "Traceback" not in out.stderr
    out = _cli("select", "--workspace", str(ws.root), "--recipe", str(recipe), "--name", "../x")
    assert out.returncode == 2 and "invalid selection name" in out.stderr
    assert list_selections(ws) == []
