"""Browse: keyword search with counts, filters, paging, an empty result, and reading one document as text."""

from __future__ import annotations

import pytest

RECORDS = (
    [{"id": f"tax{i}", "text": f"The Budget raises Income Tax by {i} percent.\nSecond line.", "topic": "business"}
     for i in range(12)]
    + [{"id": f"sport{i}", "text": f"The match ended {i}-0 after a late goal.", "topic": "sport"} for i in range(60)]
    + [{"id": "evil", "text": "<script>alert('x')</script> **bold** [link](http://example.com) tax", "topic": "sport"}]
)


@pytest.fixture
def ws(make_ws):
    return make_ws(RECORDS, id_field="id", label_field="topic", source="news")


def _count_line(at) -> str:
    return next(m.value for m in at.markdown if "match" in m.value)


def test_browse_lists_all_documents_in_pages(ws, open_page):
    at = open_page(ws, "2_browse")
    assert _count_line(at) == "**73** documents match"
    table = at.dataframe[0].value
    assert len(table) == 50
    at.button(key="browse_next").click().run()
    assert len(at.dataframe[0].value) == 23
    assert "Page 2 of 2" in " ".join(c.value for c in at.caption)


def test_keyword_search_is_case_insensitive_and_counted(ws, open_page):
    at = open_page(ws, "2_browse")
    at.text_input(key="browse_query").input("income TAX").run()
    assert _count_line(at) == "**12** documents match"
    assert set(at.dataframe[0].value["id"]) == {f"tax{i}" for i in range(12)}


def test_search_with_no_result_says_so(ws, open_page):
    at = open_page(ws, "2_browse")
    at.text_input(key="browse_query").input("zeppelin").run()
    assert _count_line(at) == "**0** documents match"
    assert any("No documents match" in i.value for i in at.info)


def test_label_and_length_filters(ws, open_page):
    at = open_page(ws, "2_browse")
    at.multiselect(key="browse_labels").select("business").run()
    assert _count_line(at) == "**12** documents match"
    at.multiselect(key="browse_labels").unselect("business").run()
    at.number_input(key="browse_max_words").set_value(9).run()
    ids = set(at.dataframe[0].value["id"])
    assert ids and all(i.startswith("sport") for i in ids)


def test_open_a_document_shows_its_whole_text_as_plain_text(ws, open_page):
    at = open_page(ws, "2_browse")
    at.text_input(key="browse_query").input("script").run()
    at.selectbox(key="browse_pick").select("evil").run()
    assert not at.exception
    shown = [t.value for t in at.text]
    assert "<script>alert('x')</script> **bold** [link](http://example.com) tax" in shown
    # the document text never reaches a markdown element
    assert not any("<script>" in m.value for m in at.markdown)
    assert any(m.label == "Label" and m.value == "sport" for m in at.metric)


def test_a_frequent_word_shows_the_page_and_a_capped_count(ws, open_page, monkeypatch):
    monkeypatch.setattr("core.browse.COUNT_CAP", 55)
    at = open_page(ws, "2_browse")
    at.text_input(key="browse_query").input("the").run()  # 72 documents hold "the"
    assert _count_line(at) == "**more than 55** documents match"
    assert len(at.dataframe[0].value) == 50
    assert "Page 1 of more than 2" in " ".join(c.value for c in at.caption)
    at.button(key="browse_next").click().run()
    assert len(at.dataframe[0].value) == 22
    assert _count_line(at) == "**72** documents match"  # the last page: the count is known
    assert "Page 2 of 2" in " ".join(c.value for c in at.caption)
    assert at.button(key="browse_next").disabled
