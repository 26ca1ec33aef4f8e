"""Filters: kept counts, first and all failing reasons, histograms and dropped examples on hand-made
documents with known answers; the map selection; saving, loading and refusing bad filters."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core import filters as F
from core.errors import WinnowError
from core.ingest import ingest_paths
from core.signals.base import BatchSignal, Column, Params, register
from core.signals.runner import run_signal
from core.store import Store
from tests.conftest import write_jsonl


class TinyParams(Params):
    min_words: int = 3
    max_digit_share: float = 0.2


@register
class TinyRules(BatchSignal):
    """A small rule signal for tests: too few words, too many digits, contains an x."""

    name = "tiny_rules"
    description = "test rules"
    Params = TinyParams
    columns = (
        Column("words", "int", "words", kind="value", keep_min="min_words", rule="too_short"),
        Column("digit_share", "float", "digits per letter or digit", better="lower", kind="value",
               keep_max="max_digit_share", rule="too_many_digits"),
        Column("has_x", "bool", "contains the letter x", kind="value", rule="no_x"),
        Column("too_short_ok", "bool", "rule", kind="rule", rule="too_short"),
        Column("too_many_digits_ok", "bool", "rule", kind="rule", rule="too_many_digits"),
        Column("no_x_ok", "bool", "rule", kind="rule", rule="no_x"),
        Column("is_first", "bool", "a flag: the first of its kind", better="higher", kind="flag"),
        Column("tiny_rules_reason", "str", "first failing rule", kind="reason"),
    )

    def compute(self, batch: pd.DataFrame) -> pd.DataFrame:
        rows = []
        for doc_id, text in zip(batch["id"], batch["text"], strict=True):
            chars = [c for c in text if c.isalnum()]
            words = len(text.split())
            share = sum(c.isdigit() for c in chars) / len(chars) if chars else None
            ok = {"too_short": words >= self.params.min_words,
                  "too_many_digits": share is None or share <= self.params.max_digit_share,
                  "no_x": "x" not in text}
            reason = next((r for r, good in ok.items() if not good), None)
            rows.append({"id": doc_id, "words": words, "digit_share": share, "has_x": "x" in text,
                         "too_short_ok": ok["too_short"], "too_many_digits_ok": ok["too_many_digits"],
                         "no_x_ok": ok["no_x"], "is_first": doc_id.endswith("0"), "tiny_rules_reason": reason})
        return pd.DataFrame(rows)


DOCS = [
    {"id": "d0", "text": "alpha beta gamma delta", "src": "web", "topic": "a"},
    {"id": "d1", "text": "one two", "src": "web", "topic": "a"},  # too short
    {"id": "d2", "text": "a1 b2 c3 d4", "src": "web", "topic": "b"},  # too many digits
    {"id": "d3", "text": "x1", "src": "books", "topic": "b"},  # all three; first: too_short
    {"id": "d4", "text": "xylophone music plays loud", "src": "books", "topic": "a"},  # no_x
    {"id": "d5", "text": "the cat sat down", "src": "web", "topic": "a"},
    {"id": "d6", "text": "a dog ran off quickly", "src": "web", "topic": "b"},
    {"id": "d7", "text": "rain falls on the plain", "src": "books", "topic": "a"},
    {"id": "d8", "text": "birds sing in spring mornings", "src": "web", "topic": "b"},
    {"id": "d9", "text": "seven small stones", "src": "books", "topic": "a"},
]
W, D, X = "tiny_rules__words", "tiny_rules__digit_share", "tiny_rules__no_x_ok"


def make_scored(make_ws, tmp_path):
    """Web documents and book documents (two sources), labelled by topic, with tiny_rules computed."""
    ws = make_ws([d for d in DOCS if d["src"] == "web"], id_field="id", label_field="topic", source="web")
    books = write_jsonl(tmp_path / "books" / "books.jsonl", [d for d in DOCS if d["src"] == "books"])
    ingest_paths(ws, [books], id_field="id", label_field="topic", source="books")
    run_signal(ws, "tiny_rules")
    return ws


@pytest.fixture
def scored(make_ws, tmp_path):
    ws = make_scored(make_ws, tmp_path)
    return ws, Store(ws)


def published(store, ws):
    return F.default_spec(F.filter_controls(ws, store))


def test_published_thresholds_reproduce_the_signal_decisions(scored):
    ws, store = scored
    spec = published(store, ws)
    assert spec.thresholds == {W: F.Range(min=3), D: F.Range(max=0.2)}
    assert spec.rules == {X: True}  # has_x is not a number, so its rule is decided by the _ok column
    ev = F.evaluate(store, spec)
    assert (ev.total, ev.kept) == (10, 6)
    assert list(ev.first) == ["tiny_rules.too_short", "tiny_rules.too_many_digits", "tiny_rules.no_x"]
    assert ev.first == {"tiny_rules.too_short": 2, "tiny_rules.too_many_digits": 1, "tiny_rules.no_x": 1}
    assert ev.failing == {"tiny_rules.too_short": 2, "tiny_rules.too_many_digits": 2, "tiny_rules.no_x": 2}
    assert ev.kept == store.scalar("SELECT count(*) FROM scores WHERE tiny_rules__tiny_rules_reason IS NULL")
    assert sorted(F.kept_ids(store, spec)) == ["d0", "d5", "d6", "d7", "d8", "d9"]


def test_moving_a_threshold_changes_count_and_reasons(scored):
    ws, store = scored
    spec = published(store, ws)
    stricter = spec.model_copy(update={"thresholds": {**spec.thresholds, W: F.Range(min=5)}})
    ev = F.evaluate(store, stricter)
    # now every document under 5 words is too short: d0 d1 d2 d3 d4 d5 d9 (4 words or fewer)
    assert ev.kept == 3 and sorted(F.kept_ids(store, stricter)) == ["d6", "d7", "d8"]
    assert ev.first["tiny_rules.too_short"] == 7 and ev.first["tiny_rules.too_many_digits"] == 0
    assert ev.failing["tiny_rules.too_many_digits"] == 2
    looser = spec.model_copy(update={"thresholds": {W: F.Range(min=3), D: F.Range(max=0.6)}, "rules": {}})
    ev = F.evaluate(store, looser)
    assert ev.kept == 8 and ev.first == {"tiny_rules.too_short": 2, "tiny_rules.too_many_digits": 0}
    assert F.evaluate(store, F.FilterSpec()).kept == 10


def test_map_selection_sources_labels_and_flags(scored):
    ws, store = scored
    spec = published(store, ws)
    ev = F.evaluate(store, spec, ids=["d1", "d2", "d5", "nope"])
    assert (ev.total, ev.kept) == (3, 1)
    assert F.kept_ids(store, spec, ids=["d1", "d2", "d5"]) == ["d5"]
    books = spec.model_copy(update={"sources": ["books"]})
    ev = F.evaluate(store, books)
    assert ev.kept == 2 and ev.first["source"] == 6  # the web documents are dropped for their source first
    assert sorted(F.kept_ids(store, books)) == ["d7", "d9"]
    assert F.evaluate(store, F.FilterSpec(labels=["b"])).kept == 4
    flagged = F.FilterSpec(rules={"tiny_rules__is_first": True})
    assert F.kept_ids(store, flagged) == ["d0"]


@pytest.mark.parametrize("ids", [None, ["d1", "d2", "d3", "d4", "d5"], []])
def test_the_cached_engine_agrees_with_one_query(scored, ids):
    ws, store = scored
    base = published(store, ws)
    specs = [base, F.FilterSpec(), base.model_copy(update={"sources": ["web"], "labels": ["a"]}),
             F.FilterSpec(thresholds={D: F.Range(min=0.1, max=0.4)}, rules={"tiny_rules__is_first": False})]
    for spec in specs:
        for _ in range(2):  # the second time from the cache
            assert F.evaluate(store, spec, ids) == F.evaluate_sql(store, spec, ids)
            assert F.kept_ids(store, spec, ids) == F.kept_ids_sql(store, spec, ids)
    # new documents and a recomputed signal invalidate the cache
    extra = write_jsonl(ws.root.parent / "more" / "more.jsonl", [{"id": "z1", "text": "one"}])
    ingest_paths(ws, [extra], id_field="id", source="web")
    run_signal(ws, "tiny_rules")
    store.refresh()
    assert F.evaluate(store, base, ids) == F.evaluate_sql(store, base, ids)
    assert F.evaluate(store, base).total == 11


def test_null_values_pass_their_threshold(make_ws):
    ws = make_ws([{"id": "e", "text": "... !!!"}, {"id": "f", "text": "12 34 56"}], id_field="id")
    run_signal(ws, "tiny_rules")
    store = Store(ws)
    ev = F.evaluate(store, F.FilterSpec(thresholds={D: F.Range(max=0.5)}))
    assert ev.kept == 1 and ev.failing == {"tiny_rules.too_many_digits": 1}  # e has no letters or digits: no share
    low = F.FilterSpec(thresholds={D: F.Range(min=0.1)})
    assert F.evaluate(store, low).kept == 2 == F.evaluate_sql(store, low).kept  # a null passes a minimum too
    assert F.kept_ids(store, low) == F.kept_ids_sql(store, low)


def test_histograms_count_all_and_kept(scored):
    ws, store = scored
    spec = published(store, ws)
    hist = F.histograms(store, spec, [W, D])
    words = hist[W]
    # whole-number bins from 1 to 5 words
    assert words["start"].tolist() == [0.5, 1.5, 2.5, 3.5, 4.5]
    assert words["all"].tolist() == [1, 1, 1, 4, 3]
    assert words["kept"].tolist() == [0, 0, 1, 2, 3]
    assert hist[D]["all"].sum() == 10 and hist[D]["kept"].sum() == 6
    only = F.histograms(store, spec, [W], ids=["d0", "d1"])
    assert only[W]["all"].sum() == 2 and only[W]["kept"].sum() == 1


def test_dropped_samples_per_reason_show_the_failing_value(scored):
    ws, store = scored
    spec = published(store, ws)
    first = F.dropped_samples(store, spec, per_reason=5)
    assert first.groupby("reason")["id"].apply(sorted).to_dict() == {
        "tiny_rules.too_short": ["d1", "d3"], "tiny_rules.too_many_digits": ["d2"], "tiny_rules.no_x": ["d4"]}
    assert first.loc[first["id"] == "d1", "value"].item() == "words=2"
    assert first.loc[first["id"] == "d1", "text"].item() == "one two"
    every = F.dropped_samples(store, spec, per_reason=5, by="failing")
    assert sorted(every.loc[every["reason"] == "tiny_rules.no_x", "id"]) == ["d3", "d4"]
    assert len(F.dropped_samples(store, spec, per_reason=1)) == 3
    assert F.dropped_samples(store, spec, per_reason=1).equals(F.dropped_samples(store, spec, per_reason=1))
    by_source = F.dropped_samples(store, spec.model_copy(update={"sources": ["books"]}), per_reason=9)
    assert sorted(by_source.loc[by_source["reason"] == "source", "value"]) == ["web"] * 6
    within = F.dropped_samples(store, spec, ids=["d2", "d3", "d5"], per_reason=9)
    assert sorted(within["id"]) == ["d2", "d3"]


def test_save_load_list_delete(scored):
    ws, store = scored
    spec = published(store, ws).model_copy(update={"description": "strict", "sources": ["web"]})
    path = F.save_filter(ws, "strict-web", spec)
    assert path == ws.dir("filters") / "strict-web.json"
    saved = json.loads(path.read_text())
    assert saved["name"] == "strict-web" and saved["thresholds"][W] == {"min": 3.0, "max": None}
    back = F.load_filter(ws, "strict-web")
    assert back == spec
    assert F.apply_saved(ws, store, "strict-web") == F.kept_ids(store, spec)
    with pytest.raises(WinnowError, match="exists already"):
        F.save_filter(ws, "strict-web", spec, overwrite=False)
    assert [f["name"] for f in F.list_filters(ws)] == ["strict-web"]
    F.delete_filter(ws, "strict-web")
    assert F.list_filters(ws) == []
    with pytest.raises(WinnowError, match="no saved filter named 'strict-web'"):
        F.load_filter(ws, "strict-web")


@pytest.mark.parametrize("name", ["../evil", "a/b", "", " ", "..", "has space", ".hidden"])
def test_bad_filter_names_are_refused(scored, name):
    ws, _ = scored
    with pytest.raises(WinnowError, match="invalid filter name"):
        F.save_filter(ws, name, F.FilterSpec(labels=["a"]))
    assert not list(ws.root.parent.glob("*.json"))


def test_broken_or_wrong_filters_give_clear_errors(scored):
    ws, store = scored
    (ws.dir("filters") / "broken.json").write_text("{not json")
    with pytest.raises(WinnowError, match="not valid JSON"):
        F.load_filter(ws, "broken")
    (ws.dir("filters") / "typo.json").write_text(json.dumps({"thresholds": {W: {"minn": 3}}}))
    with pytest.raises(WinnowError, match="not a valid filter"):
        F.load_filter(ws, "typo")
    (ws.dir("filters") / "upside.json").write_text(json.dumps({"thresholds": {W: {"min": 5, "max": 1}}}))
    with pytest.raises(WinnowError, match="above max"):
        F.load_filter(ws, "upside")
    problems = {f["name"]: f["problem"] for f in F.list_filters(ws)}
    assert all(problems[n] for n in ("broken", "typo", "upside"))
    with pytest.raises(WinnowError, match="has not computed.*python -m core score"):
        F.evaluate(store, F.FilterSpec(thresholds={"fineweb__line_punct_ratio": F.Range(min=0.1)}))
    with pytest.raises(WinnowError, match="not a number"):
        F.evaluate(store, F.FilterSpec(thresholds={"tiny_rules__tiny_rules_reason": F.Range(min=0.1)}))
    with pytest.raises(WinnowError, match="nothing to save"):
        F.save_filter(ws, "empty", F.FilterSpec())


def test_controls_follow_the_declarations(scored):
    ws, store = scored
    (sc,) = F.filter_controls(ws, store)
    assert sc.key == "tiny_rules" and sc.known and not sc.stale
    assert [(s.column, s.mode, s.default) for s in sc.sliders] == [(W, "min", (3, None)), (D, "max", (None, 0.2))]
    assert [(t.column, t.default) for t in sc.toggles] == [(X, True), ("tiny_rules__is_first", False)]
    assert sc.rules == ["too_short", "too_many_digits", "no_x"]
    stats = F.column_stats(store, [W])[W]
    assert (stats.min, stats.max, stats.is_int) == (1, 5, True) and stats.grid == [1, 2, 3, 4, 5]


def test_cli_lists_shows_and_prints_ids(scored, capsys):
    from core.cli import main

    ws, store = scored
    F.save_filter(ws, "published", published(store, ws).model_copy(update={"description": "the defaults"}))
    assert main(["filter", "list", "--workspace", str(ws.root)]) == 0
    assert "keeps 6 of 10" in capsys.readouterr().out
    assert main(["filter", "show", "published", "--workspace", str(ws.root)]) == 0
    out = capsys.readouterr().out
    assert "keeps 6 of 10 documents (60.0%)" in out and "3 <= tiny_rules__words" in out
    assert main(["filter", "ids", "published", "--workspace", str(ws.root)]) == 0
    assert sorted(capsys.readouterr().out.split()) == ["d0", "d5", "d6", "d7", "d8", "d9"]
    assert main(["filter", "show", "missing", "--workspace", str(ws.root)]) == 2
    assert "no saved filter named 'missing'" in capsys.readouterr().err


HEURISTIC_DOCS = [
    "The committee met on Tuesday to discuss the budget. It agreed that the plan should be reviewed by the board "
    "and that the members of the group have to report back with a summary of the costs. " * 3,
    "Too short to keep.",
    "- item one\n- item two\n- item three\n- item four\n- item five\n- item six\n- item seven\n- item eight",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit. The rest of the page is filler text that the "
    "site left in place of the article. It was never replaced with the real words of the story.",
    "def f(x):\n    return {x: 1}\n\nclass A:\n    pass\n",
    "Buy now!\nBuy now!\nBuy now!\nBuy now!\nBuy now!\nBuy now!\nBuy now!\nBuy now!",
    "#tag #tag #tag #tag #tag #tag #tag #tag #tag #tag #tag #tag with some words and the of to and that",
    "It was the best of times... it was the worst of times...\nthe age of wisdom...\nthe age of foolishness...",
]


def test_the_published_filter_reproduces_the_real_heuristic_signals(make_ws):
    """At the published thresholds, each rule signal's kept set and first failing reasons are its own."""
    ws = make_ws([{"id": f"h{i}", "text": t} for i, t in enumerate(HEURISTIC_DOCS)], id_field="id")
    names = ["gopher_quality", "gopher_repetition", "c4", "fineweb"]
    for name in names:
        run_signal(ws, name)
    store = Store(ws)
    spec = published(store, ws)
    together = set(store.df("SELECT id FROM scores")["id"])
    for name in names:
        own = F.FilterSpec(thresholds={c: r for c, r in spec.thresholds.items() if c.startswith(name + "__")},
                           rules={c: r for c, r in spec.rules.items() if c.startswith(name + "__")})
        reasons = store.df(f"SELECT id, {name}__{name}_reason AS r FROM scores")
        assert sorted(F.kept_ids(store, own)) == sorted(reasons.loc[reasons["r"].isna(), "id"]), name
        together &= set(F.kept_ids(store, own))
        counted = reasons["r"].dropna().value_counts().to_dict()
        ev = F.evaluate(store, own)
        assert {r.split(".", 1)[1]: n for r, n in ev.first.items() if n} == counted, name
    assert set(F.kept_ids(store, spec)) == together  # all four together keep what each keeps
    assert F.evaluate(store, spec).dropped >= 6
