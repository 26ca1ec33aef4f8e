"""The queries behind Browse: search terms, phrases, facets, the map/semantic id filter and its order."""

from __future__ import annotations

from core.browse import DocQuery, count_docs, count_matches, facet_values, get_doc, page_docs
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


def test_regular_expression_characters_in_a_query_are_literal(make_ws):
    text = "C++ (and C#) cost $5.00? [sic] a|b {x} ^ NAÏVE back\\slash"
    store = Store(make_ws([*RECORDS, {"id": "e", "text": text, "label": "tech"}], id_field="id", label_field="label"))
    for term in ["c++", "(and", "$5.00?", "[sic]", "a|b", "{x}", "^", "naïve", "back\\\\slash", "c#)"]:
        assert count_docs(store, DocQuery(keywords=term)) == 1, term
    for term in ["c+++", "$5,00", "a.b", "n.ive"]:
        assert count_docs(store, DocQuery(keywords=term)) == 0, term


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


def test_a_capped_count_stops_at_the_cap_and_says_so(make_ws):
    store = _store(make_ws)
    assert count_docs(store, DocQuery(keywords="t"), cap=2) == 3  # cap + 1: "more than 2"
    assert count_docs(store, DocQuery(keywords="t"), cap=10) == 4
    assert count_matches(store, DocQuery(keywords="t"), page=0, rows_on_page=2, page_size=2, cap=2) == (2, False)
    assert count_matches(store, DocQuery(keywords="t"), page=0, rows_on_page=2, page_size=2, cap=3) == (3, False)
    assert count_matches(store, DocQuery(keywords="t"), page=1, rows_on_page=2, page_size=2, cap=4) == (4, True)
    # without keywords no text is read: the count is exact whatever the cap
    assert count_matches(store, DocQuery(labels=["business", "sport"]), page=0, rows_on_page=2, page_size=2,
                         cap=1) == (3, True)


def test_a_first_page_that_is_not_full_is_counted_without_a_second_query(make_ws, monkeypatch):
    store = _store(make_ws)
    rows = page_docs(store, DocQuery(keywords="zeppelin"), page_size=50, extra=1)
    assert rows.empty

    def no_count(*a, **k):
        raise AssertionError("counted again")

    monkeypatch.setattr("core.browse.count_docs", no_count)
    assert count_matches(store, DocQuery(keywords="zeppelin"), 0, len(rows), 50) == (0, True)
    assert count_matches(store, DocQuery(keywords="rates"), 0, 2, 50) == (2, True)


def test_page_docs_reads_extra_rows_past_the_page(make_ws):
    store = _store(make_ws)
    assert page_docs(store, DocQuery(), page=0, page_size=2, extra=1)["id"].tolist() == ["a", "b", "c"]
    assert page_docs(store, DocQuery(), page=1, page_size=2, extra=1)["id"].tolist() == ["c", "d"]


def test_a_map_selection_pages_in_its_order_with_filters_and_quotes_in_ids(make_ws):
    records = [{"id": f"n{i:02d}", "text": f"note {i} " * (1 + i % 5), "label": "odd" if i % 2 else "even"}
               for i in range(40)] + [{"id": "it's", "text": "an id with a quote", "label": "odd"}]
    store = Store(make_ws(records, id_field="id", label_field="label", source="s"))
    order = ["it's", *[f"n{i:02d}" for i in range(39, -1, -1)], "missing"]
    pages = [page_docs(store, DocQuery(ids=order), p, 15) for p in range(3)]
    assert [r for p in pages for r in p["id"]] == order[:-1]  # the selection's order, across pages
    assert pages[0].columns.tolist() == ["id", "source", "label", "words", "snippet"]
    assert pages[0].iloc[0]["snippet"] == "an id with a quote"
    odd = page_docs(store, DocQuery(ids=order, labels=["odd"], min_words=3), 0, 50)
    assert odd["id"].tolist() == [i for i in order[:-1] if i == "it's" or (int(i[1:]) % 2 and 2 * (1 + int(i[1:]) % 5) >= 3)]
    assert page_docs(store, DocQuery(ids=["missing"]), 0, 10).empty
    # with keywords (every word must occur in the text) the same order holds
    assert page_docs(store, DocQuery(ids=order, keywords="note 3"), 0, 50)["id"].tolist() == \
        [i for i in order if i.startswith("n") and "3" in i]
