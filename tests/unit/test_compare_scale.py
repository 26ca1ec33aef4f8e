"""Compare at scale: the figures computed in DuckDB and the streamed, kept KL n-gram counts give the same
numbers as the straightforward pandas / all-texts-at-once computations they replaced."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core import compare as cmp
from core import compare_view as cv
from core.jobs import list_jobs
from core.select import save_selection
from core.store import Store


@pytest.fixture
def demo(demo_ws):
    """The small demo with two selections: 120 random documents and every 'tech' document."""
    save_selection(demo_ws, "rand", {"strategy": "random", "size": 120, "seed": 3})
    save_selection(demo_ws, "tech", {"strategy": "all", "filters": {"labels": ["tech"]}})
    return demo_ws


def _reference_sizes(store: Store, subsets) -> pd.DataFrame:
    """The pandas computation sizes() used before (a document table reindexed by each selection's ids)."""
    docs = store.df("SELECT id, n_words, source FROM docs").set_index("id")
    rows = []
    for s in subsets:
        sub = docs.reindex(s.ids)
        row = {"selection": s.name, "documents": len(s.ids),
               "tokens": int(pd.to_numeric(sub["n_words"], errors="coerce").fillna(0).sum())}
        for src, n in sub["source"].value_counts().items():
            row[f"source: {src}"] = int(n)
        rows.append(row)
    return pd.DataFrame(rows).fillna(0)


def _reference_coverage(store: Store, subsets):
    """The pandas computation coverage() used before (an id -> group series of every document reindexed by
    each selection's ids): labels here, the demo having no map."""
    df = store.df("SELECT id, label AS g FROM docs")
    groups = pd.Series(df["g"].to_numpy(), index=df["id"].astype(str)).dropna().astype(str)
    counts = [groups.reindex(s.ids).dropna().value_counts() for s in subsets]
    return *cmp.coverage_tables(list(groups.unique()), counts, subsets), "label"


def test_duckdb_figures_equal_the_pandas_ones(demo):
    store = Store(demo)
    subsets = cmp.load_subsets(demo, store, ["rand", "tech"])
    # an id that is not in the workspace counts as a document without words or source, as before
    subsets[0] = cmp.Subset("rand", [*subsets[0].ids, "no-such-id"])
    got, want = cmp.sizes(store, subsets), _reference_sizes(store, subsets)
    assert sorted(got.columns) == sorted(want.columns)
    pd.testing.assert_frame_equal(got[sorted(got.columns)], want[sorted(want.columns)])
    assert got.loc[0, "documents"] == 121
    # coverage counted in DuckDB == coverage from the id -> group series
    per_cluster, summary, what = _reference_coverage(store, subsets)
    per_cluster2, summary2, what2 = cmp.coverage(store, subsets)
    assert what == what2 == "label"
    pd.testing.assert_frame_equal(per_cluster, per_cluster2)
    pd.testing.assert_frame_equal(summary, summary2)
    assert summary2.set_index("selection").loc["tech", "clusters_covered"] == 1


def test_score_values_and_map_points_keep_each_selections_order(make_ws, tmp_path):
    from tests.unit.select_helpers import make_select_ws

    ws = make_select_ws(make_ws, tmp_path)
    store = Store(ws)
    subsets = [cmp.Subset("late", ["d59", "d03", "d31"]), cmp.Subset("early", ["d01", "nope", "d00"])]
    vals = cmp.score_values(store, subsets, "toy__quality")
    assert vals["selection"].tolist() == ["late", "late", "late", "early", "early"]
    assert vals["value"].tolist() == [float(i * 7 % 60) for i in (59, 3, 31, 1, 0)]
    pts = cmp.map_points(store, subsets)
    assert pts["id"].tolist() == ["d59", "d03", "d31", "d01", "d00"]
    assert pts["cluster"].tolist() == [3, 0, 1, 0, 0] and pts["x"].tolist() == [59.0, 3.0, 31.0, 1.0, 0.0]
    per_cluster, _, what = cmp.coverage(store, subsets)
    assert what == "map cluster" and per_cluster.index.tolist() == ["0", "1", "2", "3"]
    assert per_cluster["late"].tolist() == [1, 1, 0, 1] and per_cluster["early"].tolist() == [2, 0, 0, 0]


def test_overlap_counts_equal_set_intersections():
    rng = np.random.default_rng(0)
    pool = [f"doc{i}" for i in range(500)]
    subsets = [cmp.Subset(f"s{k}", list(dict.fromkeys(rng.choice(pool, n).tolist())))
               for k, n in enumerate((200, 300, 50))] + [cmp.Subset("empty", [])]
    sets = [set(s.ids) for s in subsets]
    shared = cmp.intersection_counts(subsets)
    assert shared.tolist() == [[len(a & b) for b in sets] for a in sets]
    jac = cmp.jaccard_matrix(subsets)
    assert jac.to_numpy().tolist() == [[cmp.jaccard(a, b) for b in sets] for a in sets]  # exactly, not approx
    assert jac.loc["empty", "empty"] == 1.0 and jac.loc["s0", "empty"] == 0.0
    assert cv.overlap_counts(subsets).loc["s0", "s1"] == len(sets[0] & sets[1])


def test_streamed_ngram_counts_equal_all_texts_at_once_and_are_kept(demo, monkeypatch):
    store = Store(demo)
    ids = cmp.load_subsets(demo, store, ["rand"], baseline=False)[0].ids
    want = cmp.bucket_counts(cmp.texts_for(store, ids))
    seen: list[int] = []
    got = cmp.bucket_counts_for_ids(demo, store, ids, progress=lambda d, t: seen.append(d), batch_rows=7)
    assert np.array_equal(got, want) and got.sum() > 1000
    assert seen[-1] == len(ids) and len(seen) >= len(ids) // 7  # progress after every batch of 7 texts
    assert cmp.cached_bucket_counts(demo, ids) is not None
    # kept: the next call reads no text at all
    monkeypatch.setattr("core.dsir.featurize", lambda *a, **k: pytest.fail("featurised again"))
    assert np.array_equal(cmp.bucket_counts_for_ids(demo, store, ids), want)
    # another id list (or the same ids in another workspace state) is not answered from the kept counts
    assert cmp.cached_bucket_counts(demo, ids[:-1]) is None


def test_kl_equals_the_all_texts_computation(demo):
    store = Store(demo)
    subsets = cmp.load_subsets(demo, store, ["rand", "tech"])
    target = "bbc_tech"
    from core.targets import load_reference

    tgt = cmp.bucket_counts(load_reference(demo, target, "targets")["text"].fillna("").tolist())
    want = {s.name: cmp.kl_divergence(tgt, cmp.bucket_counts(cmp.texts_for(store, s.ids))) for s in subsets}
    assert not cmp.kl_pending(demo, store, subsets).empty
    got = cmp.kl_to_target(demo, store, subsets, target).set_index("selection")
    for name, kl in want.items():
        assert got.loc[name, "kl"] == pytest.approx(kl, rel=1e-12, abs=1e-15)
    assert got.loc["tech", "kl_reduction"] == pytest.approx(want[cmp.BASELINE] - want["tech"])
    assert cmp.kl_pending(demo, store, subsets).empty  # every selection's counts are kept now


def test_kl_pending_says_what_reading_costs(demo):
    store = Store(demo)
    subsets = cmp.load_subsets(demo, store, ["tech"], baseline=False)
    pending = cmp.kl_pending(demo, store, subsets)
    words = int(store.scalar("SELECT sum(n_words) FROM docs WHERE label = 'tech'"))
    assert pending.to_dict(orient="records") == [{"selection": "tech", "documents": len(subsets[0].ids),
                                                  "words": words}]
    sizes = cmp.sizes(store, subsets)
    assert cmp.kl_pending(demo, store, subsets, sizes).equals(pending)


def test_cli_kl_job_keeps_the_counts_the_page_reads(demo, capsys):
    from core.cli import main

    store = Store(demo)
    assert main(["compare", "--workspace", str(demo.root), "rand", "tech", "--kl", "--target", "bbc_tech",
                 "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["target"] == "bbc_tech" and [r["selection"] for r in out["rows"]] == ["rand", "tech", cmp.BASELINE]
    job = next(iter(list_jobs(demo, limit=5, kind="compare-kl")))
    assert job["status"] == "done" and job["done"] == job["total"] > 0
    subsets = cmp.load_subsets(demo, store, ["rand", "tech"])
    assert cmp.kl_pending(demo, store, subsets).empty
    kl = cmp.kl_to_target(demo, store, subsets, "bbc_tech").set_index("selection")
    assert kl.loc["tech", "kl"] == pytest.approx(next(r["kl"] for r in out["rows"] if r["selection"] == "tech"))


def test_sample_per_group_caps_each_group():
    df = pd.DataFrame({"selection": ["a"] * 50 + ["b"] * 5, "value": np.arange(55)})
    assert cv.sample_per_group(df, "selection", 100) is df
    got = cv.sample_per_group(df, "selection", 10)
    assert got.groupby("selection").size().to_dict() == {"a": 10, "b": 5}
    assert got["value"].is_monotonic_increasing  # rows keep their order
    assert got.equals(cv.sample_per_group(df, "selection", 10))  # seeded


def test_map_points_drawn_per_selection_are_capped_and_ordered(make_ws, tmp_path):
    from tests.unit.select_helpers import make_select_ws

    ws = make_select_ws(make_ws, tmp_path)
    store = Store(ws)
    order = [f"d{i:02d}" for i in (7, 44, 2, 59, 13, 30, 21, 5, 50, 38)]
    subsets = [cmp.Subset("ten", order), cmp.Subset("two", ["d01", "d00"])]
    everything = cmp.map_points(store, subsets)
    capped = cmp.map_points(store, subsets, per_selection=4)
    assert capped.groupby("selection").size().to_dict() == {"ten": 4, "two": 2}
    assert capped.groupby("selection")["on_map"].first().to_dict() == {"ten": 10, "two": 2}
    ten = capped[capped["selection"] == "ten"]["id"].tolist()
    assert set(ten) <= set(order) and ten == sorted(ten, key=order.index)  # the selection's order is kept
    assert capped.equals(cmp.map_points(store, subsets, per_selection=4))  # the same points every time
    pd.testing.assert_frame_equal(cmp.map_points(store, subsets, per_selection=100).drop(columns="on_map"),
                                  everything)


def test_subsets_are_a_selections_first_occurrences_in_rank_order(demo):
    """Subsets hold Arrow ids now: the same ids in the same order as the pandas reading they replaced,
    also for a selection file whose rows are not in rank order and repeat an id (a multi-epoch recipe)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from core.select import load_selection, selection_paths

    rows_path = selection_paths(demo, "rand")[1]
    table = pq.read_table(rows_path)
    again = table.slice(0, 5).set_column(table.schema.get_field_index("rank"), "rank",
                                         pa.array(np.arange(1000, 1005), table.schema.field("rank").type))
    shuffled = pa.concat_tables([table, again]).take(np.random.default_rng(0).permutation(table.num_rows + 5))
    pq.write_table(shuffled, rows_path)
    want = load_selection(demo, "rand")[1]["id"].drop_duplicates().tolist()
    got = cmp.load_subsets(demo, Store(demo), ["rand"])
    assert got[0].ids == want and len(got[0]) == 120
    assert got[1].baseline and len(got[1]) == 120 and len(set(got[1].ids)) == 120


def test_ids_digest_of_arrow_ids_equals_the_list_digest():
    import pyarrow as pa

    ids = [f"doc-{i:06d}" for i in range(250_003)]  # three pieces of 100,000 and a short one
    assert cmp.ids_digest(pa.array(ids)) == cmp.ids_digest(ids)
    assert cmp.ids_digest(pa.array(ids[:7])) == cmp.ids_digest(ids[:7]) != cmp.ids_digest(ids[:6])
    assert cmp.ids_digest(pa.array([], pa.string())) == cmp.ids_digest([])
    assert cmp.Subset("s", pa.array(ids[:10])).digest() == cmp.Subset("s", ids[:10]).digest()


def test_restrict_keeps_each_selections_order():
    subsets = [cmp.Subset("a", ["d5", "d1", "d9", "d3"]), cmp.Subset("r", ["d2", "d3"], baseline=True)]
    got = cv.restrict(subsets, ["d3", "d5", "d2"])
    assert [s.ids for s in got] == [["d5", "d3"], ["d2", "d3"]] and got[1].baseline
    assert cv.restrict(subsets, None) == subsets


def test_figures_from_one_join_equal_the_separate_queries(make_ws, tmp_path):
    """The Compare page joins the selections with `scores` once (member_rows) and takes coverage, map points
    and score values from it: the same tables as each function's own query."""
    from tests.unit.select_helpers import make_select_ws

    ws = make_select_ws(make_ws, tmp_path)
    store = Store(ws)
    rng = np.random.default_rng(5)
    pool = [f"d{i:02d}" for i in range(60)]
    subsets = [cmp.Subset("a", list(dict.fromkeys(rng.choice(pool, 40).tolist())) + ["nope"]),
               cmp.Subset("b", pool[::-3]), cmp.Subset("empty", [])]
    rows = cmp.member_rows(store, subsets, [*cmp.MAP_COLUMNS, "toy__quality"])
    assert rows.num_rows == sum(len(s) for s in subsets) - 1  # "nope" is not in the workspace
    for a, b in zip(cmp.coverage(store, subsets, rows=rows), cmp.coverage(store, subsets), strict=True):
        if isinstance(a, str):
            assert a == b == "map cluster"
        else:
            pd.testing.assert_frame_equal(a, b)
    for per in (None, 4, 100):
        got = cmp.map_points(store, subsets, per_selection=per, rows=rows)
        pd.testing.assert_frame_equal(got, cmp.map_points(store, subsets, per_selection=per))
    pd.testing.assert_frame_equal(cmp.score_values(store, subsets, "toy__quality", rows=rows),
                                  cmp.score_values(store, subsets, "toy__quality"))
    # the separate queries themselves: the capped map points are each selection's smallest id hashes
    capped = cmp.map_points(store, subsets, per_selection=4)
    hashes = store.df("SELECT id, hash(id) AS h FROM scores").set_index("id")["h"]
    for s in subsets[:2]:
        on_map = [i for i in s.ids if i in hashes.index]
        want = sorted(on_map, key=lambda i: hashes[i])[:4]
        assert capped.loc[capped["selection"] == s.name, "id"].tolist() == [i for i in s.ids if i in want]
