"""Scores page: the published thresholds, a slider move that changes the kept count and the reasons, a rule
switched off, the map selection, dropped documents shown as plain text, and saving/loading a filter."""

from __future__ import annotations

import json

import pytest

from core import filters as F
from core.store import Store
from tests.unit.test_filters import DOCS, make_scored  # noqa: F401 - registers the tiny_rules test signal

W, D = "tiny_rules__words", "tiny_rules__digit_share"


@pytest.fixture
def ws(make_ws, tmp_path):
    return make_scored(make_ws, tmp_path)


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def frame_with(at, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def reasons(at) -> dict[str, tuple[int, int]]:
    df = frame_with(at, "first failing")
    return {r: (int(a), int(b)) for r, a, b in zip(df["reason"], df["first failing"], df["failing (any)"], strict=True)}


def test_published_thresholds_then_a_slider_move(ws, open_page):
    at = open_page(ws, "4_scores")
    assert metric(at, "Kept") == "6" and metric(at, "Kept %") == "60.0%" and metric(at, "Dropped") == "4"
    assert reasons(at) == {"tiny_rules.too_short": (2, 2), "tiny_rules.too_many_digits": (1, 2),
                           "tiny_rules.no_x": (1, 2)}
    at.select_slider(key=f"thr_{W}").set_value(5.0).run()
    assert not at.exception
    assert metric(at, "Kept") == "3"
    assert reasons(at)["tiny_rules.too_short"] == (7, 7)
    # a histogram per numeric column, plus the reasons chart
    assert len(at.get("plotly_chart")) == 3
    assert at.select_slider(key=f"thr_{D}").value == 0.2


def test_switching_a_rule_off_and_the_map_selection(ws, open_page):
    at = open_page(ws, "4_scores")
    at.toggle(key=f"use_{W}").set_value(False).run()
    assert metric(at, "Kept") == "7"  # d1 (too short only) comes back
    assert "tiny_rules.too_short" not in reasons(at)
    at.toggle(key="rule_tiny_rules__no_x_ok").set_value(False).run()
    assert metric(at, "Kept") == "8"
    at.session_state["map_filter"] = {"ids": ["d0", "d2", "d4"], "label": "three"}
    at.run()
    assert metric(at, "Considered") == "3" and metric(at, "Kept") == "2"


def test_dropped_documents_are_plain_text(ws, open_page):
    at = open_page(ws, "4_scores")
    samples = frame_with(at, "value")
    assert set(samples["id"]) == {"d1", "d2", "d3", "d4"}
    at.selectbox(key="scores_read").select("d4").run()
    assert "xylophone music plays loud" in [t.value for t in at.text]


def test_save_load_and_delete_a_filter(ws, open_page):
    at = open_page(ws, "4_scores")
    at.select_slider(key=f"thr_{W}").set_value(5.0).run()
    at.text_input(key="scores_save_name").input("five-words").run()
    at.text_input(key="scores_save_desc").input("at least five words").run()
    at.button(key="scores_save").click().run()
    assert not at.exception
    saved = json.loads((ws.dir("filters") / "five-words.json").read_text())
    assert saved["thresholds"][W] == {"min": 5.0, "max": None} and saved["description"] == "at least five words"
    assert sorted(F.apply_saved(ws, Store(ws), "five-words")) == ["d6", "d7", "d8"]
    # back to the published thresholds, then load the saved filter
    at.button(key="scores_reset").click().run()
    assert metric(at, "Kept") == "6"
    at.selectbox(key="scores_pick_saved").select("five-words").run()
    at.button(key="scores_load").click().run()
    assert metric(at, "Kept") == "3"
    assert at.select_slider(key=f"thr_{W}").value == 5.0
    # a bad name is refused with a message, nothing written
    at.text_input(key="scores_save_name").input("../evil").run()
    at.button(key="scores_save").click().run()
    assert any("invalid filter name" in e.value for e in at.error)
    at.button(key="scores_delete").click().run()
    assert not (ws.dir("filters") / "five-words.json").exists()


def test_no_signals_offers_to_compute(make_ws, open_page):
    bare = make_ws([{"text": "just one document here"}])
    at = open_page(bare, "4_scores")
    assert not at.exception
    assert any("No signals computed yet" in i.value for i in at.info)
    # the cheap heuristics are offered, to run as a background job
    picked = at.multiselect(key="scores_compute_pick").value
    assert "tiny_rules" in picked and "gopher_quality" in picked
    assert at.button(key="start_scores_compute").label == "Compute"


def test_thresholds_of_a_signal_off_screen_still_apply_and_are_kept(ws, open_page):
    # a second signal file (not registered: its numbers get range sliders)
    import pyarrow as pa

    from core.workspace import write_parquet

    ids = [d["id"] for d in DOCS]
    write_parquet(pa.table({"id": ids, "score": [float(i) for i in range(10)]}), ws.dir("signals") / "extra.parquet")
    at = open_page(ws, "4_scores")
    assert at.segmented_control(key="scores_view").value == "extra"  # signals in name order
    at.segmented_control(key="scores_view").set_value("tiny_rules").run()
    at.select_slider(key=f"thr_{W}").set_value(5.0).run()
    assert metric(at, "Kept") == "3"
    at.segmented_control(key="scores_view").set_value("extra").run()
    assert metric(at, "Kept") == "3"  # the words threshold still applies while off screen
    at.select_slider(key="thr_extra__score").set_range(0.0, 7.0).run()
    assert metric(at, "Kept") == "2"  # d8 (score 8) goes too
    at.segmented_control(key="scores_view").set_value("tiny_rules").run()
    assert at.select_slider(key=f"thr_{W}").value == 5.0 and metric(at, "Kept") == "2"


def test_the_page_opens_at_the_published_filter(ws, open_page):
    at = open_page(ws, "4_scores")
    at.text_input(key="scores_save_name").input("as-opened").run()
    at.button(key="scores_save").click().run()
    store = Store(ws)
    expected = F.default_spec(F.filter_controls(ws, store))
    got = F.load_filter(ws, "as-opened")
    assert (got.thresholds, got.rules) == (expected.thresholds, expected.rules)
