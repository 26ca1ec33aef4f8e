"""The queries behind Browse: search terms, phrases, facets, the map/semantic id filter and its order."""

from __future__ import annotations

from core.browse import DocQuery, count_docs, facet_values, get_doc, page_docs
from core.store import Store

RECORDS = [
    {"id": "a", "text": "Interest rates rose.\nBanks react.", "label": "business"},
    {"id": "b", "text": "The rates of interest fell", "label": "business"},
    {"id": "c", "text": "A 50% discount_code here", "label": None},
    {"id": "d", "text": "Cup final tonight", "label": "sport"},
]


def _store(make_ws):
    return Store(make_ws(RECORDS, id_field="id", label_field="label", source="s"))


def test_every_word_must_occur_and_a_quoted_phrase_must_occur_as_written(make_ws):
    store = _store(make_ws)
    assert count_docs(store, DocQuery(keywords="INTEREST rates")) == 2
    assert count_docs(store, DocQuery(keywords='"interest rates"')) == 1
    assert count_docs(store, DocQuery(keywords='"unbalanced quote')) == 0


def test_like_wildcards_in_a_query_are_literal(make_ws):
    store = _store(make_ws)
    assert count_docs(store, DocQuery(keywords="50%")) == 1
    assert count_docs(store, DocQuery(keywords="%")) == 1
    assert count_docs(store, DocQuery(keywords="t_night")) == 0


def test_labels_include_the_unlabelled_choice(make_ws):
    store = _store(make_ws)
    assert count_docs(store, DocQuery(labels=["(none)"])) == 1
    assert count_docs(store, DocQuery(labels=["(none)", "sport"])) == 2
    assert facet_values(store)["labels"][0] == "business"


def test_id_filter_keeps_the_given_order_and_snippets_are_one_line(make_ws):
    store = _store(make_ws)
    rows = page_docs(store, DocQuery(ids=["d", "a", "zz"]))
    assert rows["id"].tolist() == ["d", "a"]
    assert "\n" not in rows.loc[rows["id"] == "a", "snippet"].iloc[0]
    assert page_docs(store, DocQuery(), page=1, page_size=3)["id"].tolist() == ["d"]


def test_get_doc_returns_whole_text_and_none_for_unknown_ids(make_ws):
    store = _store(make_ws)
    assert get_doc(store, "a")["text"] == "Interest rates rose.\nBanks react."
    assert get_doc(store, "nope") is None
