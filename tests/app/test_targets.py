"""Targets page: make a target by pasting, from workspace labels, see it listed with its examples, clear errors."""

from __future__ import annotations

import pytest

from core.targets import list_references, load_reference

RECORDS = [{"id": f"t{i}", "text": f"New phones and chips number {i}", "topic": "tech"} for i in range(6)] + \
          [{"id": f"s{i}", "text": f"The match ended {i}-0", "topic": "sport"} for i in range(6)]


@pytest.fixture
def ws(make_ws):
    return make_ws(RECORDS, id_field="id", label_field="topic", source="news")


def test_paste_examples_then_pick_and_see_them(ws, open_page):
    at = open_page(ws, "9_targets")
    assert any("No targets or benchmarks yet" in i.value for i in at.info)
    at.text_input(key="targets_name").input("mine").run()
    at.text_area(key="targets_text").input("first example\n\nsecond example\nstill second").run()
    at.button(key="targets_add_text").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert load_reference(ws, "mine")["text"].tolist() == ["first example", "second example\nstill second"]
    at.run()
    assert at.dataframe[0].value["name"].tolist() == ["mine"]
    assert at.selectbox(key="targets_signal").options == ["dsir", "rds", "quality_classifier"]
    assert "second example" in " ".join(at.dataframe[1].value["text"])


def test_from_workspace_labels_and_bad_names_say_what_to_do(ws, open_page):
    at = open_page(ws, "9_targets")
    at.radio(key="targets_how").set_value("workspace documents").run()
    at.text_input(key="targets_name").input("bad name").run()
    at.multiselect(key="targets_labels").select("tech").run()
    at.button(key="targets_add_filter").click().run()
    assert "invalid target name" in at.error[0].value
    at.text_input(key="targets_name").input("tech").run()
    at.radio(key="targets_kind").set_value("benchmark").run()
    at.button(key="targets_add_filter").click().run()
    assert not at.error, [e.value for e in at.error]
    assert list_references(ws, "benchmarks") == ["tech"] and len(load_reference(ws, "tech", "benchmarks")) == 6
    at.run()
    assert at.selectbox(key="targets_signal").options == ["contamination"]
