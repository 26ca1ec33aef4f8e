"""Compare page: sizes, the overlap heatmap and the KL figures of two hand-written selections on the demo,
the empty state, and the proxy job's learning curves on a tiny workspace."""

from __future__ import annotations

import base64
import json
import time

import numpy as np
import pyarrow as pa
import pytest

from core import compare as cmp
from core import compare_view as cv
from core.jobs import list_jobs
from core.store import Store
from core.workspace import Workspace, write_json, write_parquet


def write_selection(ws: Workspace, name: str, ids: list[str], recipe: dict) -> None:
    """selections/<name>.json + .parquet, in the format core/select.py writes."""
    store = Store(ws)
    words = store.df("SELECT id, n_words FROM docs").set_index("id")["n_words"]
    write_parquet(pa.table({"id": pa.array(ids, pa.string()),
                            "rank": pa.array(np.arange(len(ids)), pa.int64()),
                            "epoch": pa.array(np.zeros(len(ids)), pa.int64())}),
                  ws.dir("selections") / f"{name}.parquet")
    write_json({"name": name, "recipe": recipe, "created": "2026-11-28T12:00:00+0000", "count": len(ids),
                "unique": len(ids), "tokens": int(words.reindex(ids).sum()), "epochs": 1, "pool": store.count(),
                "documents": store.count()}, ws.dir("selections") / f"{name}.json")


def plotly_spec(at, key: str) -> dict:
    """The figure JSON of the Plotly chart with this key."""
    for el in at.get("plotly_chart"):
        if el.proto.id and key in el.proto.id:
            return json.loads(el.proto.spec)
    raise AssertionError(f"no Plotly chart {key!r}: {[el.proto.id for el in at.get('plotly_chart')]}")


def values(v) -> np.ndarray:
    """A Plotly data array as numpy (Plotly writes numpy arrays as base64 `bdata`)."""
    if isinstance(v, dict) and "bdata" in v:
        arr = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        shape = v.get("shape")
        if isinstance(shape, str):
            shape = [int(x) for x in shape.split(",")]
        return arr.reshape(shape) if shape else arr
    return np.asarray(v)


def frame_with(at, column: str):
    """The first table on the page that has this column."""
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with a {column!r} column")


def metric_values(at) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for m in at.metric:
        out.setdefault(m.label, []).append(m.value)
    return out


@pytest.fixture
def two_selections(demo_ws):
    """tech: 100 BBC tech articles; mixed: 50 of them + 50 Python functions (Jaccard 50/150 = 1/3)."""
    store = Store(demo_ws)
    tech = store.df("SELECT id FROM docs WHERE label = 'tech' ORDER BY id LIMIT 100")["id"].tolist()
    code = store.df("SELECT id FROM docs WHERE source = 'code' ORDER BY id LIMIT 50")["id"].tolist()
    write_selection(demo_ws, "tech", tech, {"strategy": "all", "filters": {"labels": ["tech"]}, "size": 100,
                                            "target": "bbc_tech"})
    write_selection(demo_ws, "mixed", tech[50:] + code, {"strategy": "random", "size": 100})
    return demo_ws


def test_two_selections_side_by_side(two_selections, open_page):
    ws = two_selections
    at = open_page(ws, "7_compare")
    assert not at.error, [e.value for e in at.error]
    assert at.multiselect(key="cmp_names").value == ["mixed", "tech"]
    # sizes: both selections and the random baseline of the first one's size
    m = metric_values(at)
    assert m["mixed"][0] == "100 docs" and m["tech"][0] == "100 docs" and m[cmp.BASELINE][0] == "100 docs"
    sizes = frame_with(at, "source: bbc").set_index("selection")
    assert sizes.loc["tech", "source: bbc"] == 100 and sizes.loc["mixed", "source: code"] == 50
    # the overlap heatmap: Jaccard of mixed and tech is 50 / 150
    heat = plotly_spec(at, "cmp_overlap")["data"][0]
    assert heat["type"] == "heatmap" and heat["x"] == ["mixed", "tech", cmp.BASELINE]
    z = values(heat["z"]).astype(float)
    assert z[0, 1] == pytest.approx(1 / 3) and z[1, 0] == pytest.approx(1 / 3) and np.allclose(np.diag(z), 1)
    assert any("50 shared documents" in c.value for c in at.caption)
    # closeness to the recipe's target (bbc_tech): the tech articles are closer than random, the mix is not as close
    assert at.selectbox(key="cmp_target").value == "bbc_tech"
    store = Store(ws)
    subsets = cmp.load_subsets(ws, store, ["mixed", "tech"])
    kl = cmp.kl_to_target(ws, store, subsets, "bbc_tech").set_index("selection")
    assert m["tech"][1] == f"KL {kl.loc['tech', 'kl']:.3f}" and m["mixed"][1] == f"KL {kl.loc['mixed', 'kl']:.3f}"
    assert kl.loc["tech", "kl"] < kl.loc["mixed", "kl"] and kl.loc["tech", "kl_reduction"] > 0
    deltas = {x.label: x.delta for x in at.metric if x.value.startswith("KL")}
    assert deltas["tech"] == f"{kl.loc['tech', 'kl_reduction']:+.3f} vs random"
    # no map in the demo: coverage falls back to the labels and says how to build a map
    assert any("no map yet" in i.value.lower() and "python -m core map" in i.value for i in at.info)
    cov = frame_with(at, "covered").set_index("selection")
    assert cov.loc["tech", "covered"] == "1 / 5"  # one label (tech) of the five topics
    # no proxy run yet, and the classifier proxy cannot run before there are embeddings: it says so
    assert any("Not run yet" in c.value for c in at.caption)
    assert at.button(key="start_cmp_proxy").disabled
    assert any("python -m core embed" in w.value for w in at.warning)


def test_without_the_baseline_there_is_no_kl_reduction(two_selections, open_page):
    at = open_page(two_selections, "7_compare")
    at.toggle(key="cmp_baseline").set_value(False).run()
    assert not at.exception and not at.error
    assert cmp.BASELINE not in metric_values(at)
    assert all(not x.delta for x in at.metric)
    assert any("Turn the random baseline on" in c.value for c in at.caption)


def test_no_selections_says_how_to_make_one(demo_ws, open_page):
    at = open_page(demo_ws, "7_compare")
    assert not at.exception
    text = at.info[0].value
    assert "No saved selections yet" in text and "Select" in text and "python -m core select" in text
    assert not at.get("plotly_chart")


def test_proxy_job_draws_learning_curves(make_ws, tmp_path, open_page):
    """A tiny workspace with a map and a text target: the proxy runs as a job, then the curves and table show."""
    from tests.unit.select_helpers import make_select_ws

    ws = make_select_ws(make_ws, tmp_path)
    late_like = [" ".join(["word"] * 50) + " doc 55", " ".join(["word"] * 52) + " doc 57"]
    write_parquet(pa.table({"id": ["t0", "t1"], "text": late_like}),
                  ws.dir("targets") / "late.parquet")
    write_selection(ws, "early", [f"d{i:02d}" for i in range(20)], {"strategy": "all"})
    write_selection(ws, "late", [f"d{i:02d}" for i in range(40, 60)], {"strategy": "all"})
    at = open_page(ws, "7_compare")
    assert not at.error, [e.value for e in at.error]
    # with a map, coverage is by map cluster (4 clusters of 30, 15, 10, 5 documents)
    assert not any("no map yet" in i.value.lower() for i in at.info)
    cov = frame_with(at, "covered").set_index("selection")
    assert cov.loc["early", "covered"] == "1 / 4" and cov.loc["late", "covered"] == "3 / 4"
    assert len(plotly_spec(at, "cmp_map")["data"]) == 2 * 3  # grey background + points, per panel
    at.button(key="start_cmp_proxy").click().run()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        jobs = list_jobs(ws, kind="compare")
        if jobs and jobs[0]["status"] not in ("queued", "running"):
            break
        time.sleep(0.5)
    assert jobs[0]["status"] == "done", jobs[0].get("error")
    # the job records the arguments the page asked for (how the page knows a running job is for these settings)
    assert jobs[0]["argv"] == cv.proxy_request(["early", "late"], baseline=True, baseline_seed=0, heldout=None,
                                               target="late", fractions=[0.1, 0.25, 0.5, 1.0], seeds=[0, 1, 2])
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    curves = plotly_spec(at, "cmp_proxy_curves")["data"]
    assert {c["name"] for c in curves} == {"early", "late", cmp.BASELINE}
    assert all(len(values(c["x"])) == 4 and c["error_y"]["visible"] for c in curves)  # 10/25/50/100% with error bars
    final = frame_with(at, "perplexity").set_index("selection")
    # the target's texts are like d55/d57: the language model trained on the late documents is the better one
    assert final.loc["late", "perplexity"] < final.loc["early", "perplexity"]
    assert final.loc[cmp.BASELINE, "perplexity vs random"] == 0


def test_the_map_selection_limits_the_figures(make_ws, tmp_path, open_page):
    from tests.unit.select_helpers import make_select_ws

    ws = make_select_ws(make_ws, tmp_path)
    write_selection(ws, "early", [f"d{i:02d}" for i in range(20)], {"strategy": "all"})
    write_selection(ws, "late", [f"d{i:02d}" for i in range(40, 60)], {"strategy": "all"})
    at = open_page(ws, "7_compare")
    at.toggle(key="cmp_baseline").set_value(False).run()
    assert metric_values(at)["early"][0] == "20 docs"
    at.session_state["map_filter"] = {"ids": [f"d{i:02d}" for i in range(10, 50)], "label": "cluster 1"}
    at.run()
    assert not at.exception and not at.error
    m = metric_values(at)
    assert m["early"][0] == "10 docs" and m["late"][0] == "10 docs"
    assert any("inside the map selection (cluster 1)" in c.value for c in at.caption)
