"""Select page: live preview of a recipe, saving, the saved list (duplicate, delete), and clear errors."""

from __future__ import annotations

import pytest

from core.select import list_selections, load_selection, run_recipe
from tests.unit.select_helpers import make_select_ws


@pytest.fixture
def ws(make_ws, tmp_path):
    return make_select_ws(make_ws, tmp_path)


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_preview_follows_the_widgets(ws, open_page):
    at = open_page(ws, "5_select")
    assert metrics(at)["Documents"] == "12" and metrics(at)["Pool"] == "60"  # random, 20% of the pool
    at.multiselect(key="sel_sources").set_value(["b"]).run()
    assert metrics(at)["Pool"] == "20" and metrics(at)["Documents"] == "4"
    at.slider(key="sel_size_pct").set_value(50).run()
    assert metrics(at)["Documents"] == "10"
    at.radio(key="sel_size_mode").set_value("count").run()
    at.number_input(key="sel_size_count").set_value(4).run()
    assert metrics(at)["Documents"] == "4"
    sample = at.dataframe[0].value
    assert len(sample) == 4 and set(sample["source"]) == {"b"}


def test_top_k_preview_and_save(ws, open_page):
    at = open_page(ws, "5_select")
    at.selectbox(key="sel_strategy").set_value("top_k").run()
    at.selectbox(key="sel_main_score").set_value("toy__quality").run()
    at.radio(key="sel_size_mode").set_value("count").run()
    at.number_input(key="sel_size_count").set_value(5).run()
    assert not at.error, [e.value for e in at.error]
    at.text_input(key="sel_name").input("best5").run()
    at.button(key="sel_save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Saved **best5**: 5 documents" in at.success[0].value
    meta, rows = load_selection(ws, "best5")
    assert meta["recipe"] == {"strategy": "top_k", "score": "toy__quality", "size": 5}
    assert rows["id"].tolist() == run_recipe(ws, meta["recipe"]).rows["id"].tolist()
    saved = at.dataframe[-1].value
    assert saved["name"].tolist() == ["best5"] and saved["count"].tolist() == [5]


def test_a_bad_name_is_refused_with_a_message(ws, open_page):
    at = open_page(ws, "5_select")
    at.text_input(key="sel_name").input("../escape").run()
    at.button(key="sel_save").click().run()
    assert "invalid selection name" in at.error[0].value
    assert list_selections(ws) == []


def test_missing_prerequisite_is_an_error_not_a_crash(ws, open_page):
    at = open_page(ws, "5_select")
    at.selectbox(key="sel_strategy").set_value("k_center").run()
    assert not at.exception
    assert any("needs embeddings" in w.value for w in at.warning)
    assert "python -m core embed" in at.error[0].value  # the preview says what to run
    assert "sel_save" not in [b.key for b in at.button]  # nothing to save


def test_without_a_map_balancing_is_by_label(ws, open_page):
    (ws.dir("maps") / "static.parquet").unlink()
    at = open_page(ws, "5_select")
    at.selectbox(key="sel_strategy").set_value("cluster_balanced").run()
    assert not at.exception and not at.error
    assert at.radio(key="sel_main_by").options == ["label"]
    assert metrics(at)["Documents"] == "12"


def test_duplicate_and_delete_saved_selections(ws, open_page):
    from core.select import save_selection

    save_selection(ws, "first", {"strategy": "random", "size": 7})
    at = open_page(ws, "5_select")
    at.text_input(key="sel_dup_name").input("second").run()
    at.button(key="sel_dup").click().run()
    assert list_selections(ws) == ["first", "second"]
    at.selectbox(key="sel_pick").set_value("first").run()
    assert at.button(key="sel_delete").disabled
    at.checkbox(key="sel_del_confirm").check().run()
    at.button(key="sel_delete").click().run()
    assert list_selections(ws) == ["second"]
    assert not at.exception


def test_curriculum_shows_its_order(ws, open_page):
    at = open_page(ws, "5_select")
    at.selectbox(key="sel_strategy").set_value("curriculum").run()
    at.selectbox(key="sel_order_by").set_value("toy__quality").run()
    assert not at.error, [e.value for e in at.error]
    ranks = at.dataframe[0].value["id"].tolist()
    quality = {f"d{i:02d}": i * 7 % 60 for i in range(60)}
    vals = [quality[i] for i in ranks]
    assert vals == sorted(vals)


def test_a_recipe_written_by_hand_is_previewed_and_checked(ws, open_page):
    at = open_page(ws, "5_select")
    at.text_area(key="sel_recipe_text").input(
        "strategy: top_k\nscore: toy__quality\nsize: 3\nfilters:\n  sources: b\n").run()
    at.toggle(key="sel_use_text").set_value(True).run()
    assert metrics(at)["Documents"] == "3" and metrics(at)["Pool"] == "20"
    at.text_area(key="sel_recipe_text").input("strategy: top_k\nsise: 3\n").run()
    assert "sise: unknown key" in at.error[0].value


def test_the_map_selection_is_the_pool_and_is_saved_with_the_recipe(ws, open_page):
    at = open_page(ws, "5_select")
    at.session_state["map_filter"] = {"ids": [f"d{i:02d}" for i in range(55, 60)], "label": "cluster 3"}
    at.run()
    assert metrics(at)["Pool"] == "5"
    at.radio(key="sel_size_mode").set_value("count").run()
    at.number_input(key="sel_size_count").set_value(3).run()
    at.text_input(key="sel_name").input("from_map").run()
    at.button(key="sel_save").click().run()
    meta, rows = load_selection(ws, "from_map")
    assert meta["recipe"]["filters"]["map_label"] == "cluster 3"
    assert len(rows) == 3 and set(rows["id"]) <= {f"d{i:02d}" for i in range(55, 60)}
