"""Browse, search by meaning: nearest documents first with their similarity; a button to embed when there are none."""

from __future__ import annotations

import pytest

from core.embed import compute_embeddings

TOPICS = {
    "bank": "The central bank raised interest rates by half a point to curb inflation and the pound rose.",
    "match": "The striker scored twice in the second half and the home side won the cup final.",
    "film": "The film won three awards at the festival, including best director and best actress.",
    "code": "def read_lines(path):\n    with open(path) as fh:\n        return fh.read().splitlines()",
}
RECORDS = [{"id": f"{k}{i}", "text": f"{t} Report {i}.", "topic": k} for k, t in TOPICS.items() for i in range(5)]


@pytest.fixture
def ws(make_ws):
    ws = make_ws(RECORDS, id_field="id", label_field="topic")
    compute_embeddings(ws)
    return ws


def test_meaning_search_ranks_the_nearest_documents_first(ws, open_page):
    at = open_page(ws, "2_browse")
    at.radio(key="browse_mode").set_value("Meaning").run()
    at.text_input(key="browse_query").input("movie prize at a festival").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.columns[:2]) == ["id", "similarity"]
    assert set(table["id"].head(5)) == {f"film{i}" for i in range(5)}
    assert table["similarity"].is_monotonic_decreasing
    assert any("nearest documents" in m.value for m in at.markdown)


def test_meaning_search_respects_the_filters(ws, open_page):
    at = open_page(ws, "2_browse")
    at.radio(key="browse_mode").set_value("Meaning").run()
    at.text_input(key="browse_query").input("movie prize at a festival").run()
    at.multiselect(key="browse_labels").select("bank").run()
    table = at.dataframe[0].value
    assert set(table["id"]) == {f"bank{i}" for i in range(5)}


def test_a_documents_own_text_is_its_first_hit(ws, open_page):
    at = open_page(ws, "2_browse")
    at.radio(key="browse_mode").set_value("Meaning").run()
    at.text_input(key="browse_query").input(TOPICS["code"] + " Report 3.").run()
    table = at.dataframe[0].value
    assert table["id"].iloc[0] == "code3"
    assert table["similarity"].iloc[0] == pytest.approx(1.0, abs=1e-4)


def test_without_embeddings_offer_to_compute_them(make_ws, open_page):
    at = open_page(make_ws(RECORDS, id_field="id"), "2_browse")
    assert [o for o in at.radio(key="browse_mode").options] == ["Keywords"]
    assert at.button(key="start_browse_embed").label == "Compute embeddings"
