"""The Store's cached `scores` table (.cache/scores-<key>.duckdb): reused by a second Store, rebuilt when a
signal file changes, ignored and rebuilt when damaged, and never required (memory when it cannot be written)."""

from __future__ import annotations

import pytest

from core import store as store_mod
from core.signals.runner import run_signal
from core.store import Store

RECORDS = [{"id": f"d{i:03d}", "text": f"Document {i} talks about markets and rates. " * (1 + i % 9)} for i in range(40)]


@pytest.fixture
def cached(monkeypatch):
    monkeypatch.setattr(store_mod, "CACHE_MIN_DOCS", 0)  # the demo-sized workspace counts as large here


def _rows(store: Store):
    return store.df("SELECT * FROM scores ORDER BY id").to_dict("records")


def _caches(ws):
    return sorted((ws.root / ".cache").glob("scores-*.duckdb"))


def test_a_second_store_reads_the_cached_table_instead_of_joining(make_ws, cached, monkeypatch):
    ws = make_ws(RECORDS, id_field="id")
    run_signal(ws, "length")
    first = Store(ws)
    assert first.scores_source == "built"
    assert len(_caches(ws)) == 1
    expected = _rows(first)
    assert len(expected) == 40 and "length__n_words" in first.score_columns

    # a second Store (a server restart, a CLI command) must not join the signal files again
    monkeypatch.setattr(Store, "_scores_query", lambda *a: pytest.fail("the scores table was rebuilt"))
    second = Store(ws)
    assert second.scores_source == "cache"
    assert second.score_columns == first.score_columns
    assert _rows(second) == expected
    # nothing to do on a refresh when no file changed
    assert second.refresh() is False


def test_a_new_signal_file_invalidates_the_cache(make_ws, cached):
    ws = make_ws(RECORDS, id_field="id")
    run_signal(ws, "length")
    store = Store(ws)
    assert not any(c.startswith("c4__") for c in store.score_columns)
    old = _caches(ws)

    run_signal(ws, "c4")
    assert store.refresh() is True
    assert store.scores_source == "built"
    assert any(c.startswith("c4__") for c in store.score_columns)
    assert store.scalar("SELECT count(*) FROM scores WHERE c4__n_lines IS NOT NULL") == 40
    assert _caches(ws) != old  # a new file for the new key (the previous one may be kept, no more)
    assert len(_caches(ws)) <= store_mod.CACHE_KEEP

    # and another Store now finds the new table
    again = Store(ws)
    assert again.scores_source == "cache"
    assert again.score_columns == store.score_columns


def test_a_rewritten_signal_file_is_not_served_from_the_old_cache(make_ws, cached):
    ws = make_ws(RECORDS, id_field="id")
    run_signal(ws, "length")
    Store(ws)
    # the signal file is replaced by one with other values (as a re-run with other params would)
    path = ws.dir("signals") / "length.parquet"
    con = Store(ws).con
    con.execute(f"COPY (SELECT id, n_words * 0 + 7 AS n_words FROM read_parquet('{path}')) TO '{path}.new' (FORMAT parquet)")
    path.with_name(path.name + ".new").replace(path)
    fresh = Store(ws)
    assert fresh.scores_source == "built"
    assert fresh.scalar("SELECT min(length__n_words) FROM scores") == 7
    assert fresh.scalar("SELECT max(length__n_words) FROM scores") == 7


@pytest.mark.parametrize("damage", ["garbage", "truncated", "other key"])
def test_a_damaged_cache_file_is_ignored_and_rebuilt(make_ws, cached, damage):
    ws = make_ws(RECORDS, id_field="id")
    run_signal(ws, "length")
    expected = _rows(Store(ws))
    (path,) = _caches(ws)
    if damage == "garbage":
        path.write_bytes(b"not a duckdb file" * 100)
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:5000])
    else:  # a good cache file, but built from other files
        other = make_ws(RECORDS[:10], id_field="id")
        run_signal(other, "length")
        Store(other)
        path.write_bytes(_caches(other)[0].read_bytes())
    store = Store(ws)
    assert store.scores_source == "built"
    assert _rows(store) == expected
    assert Store(ws).scores_source == "cache"


def test_an_unwritable_cache_folder_keeps_the_table_in_memory(make_ws, cached):
    ws = make_ws(RECORDS, id_field="id")
    run_signal(ws, "length")
    (ws.root / ".cache").write_text("a file where the cache folder would be")
    store = Store(ws)
    assert store.scores_source == "memory"
    assert store.scalar("SELECT count(length__n_words) FROM scores") == 40


def test_a_small_workspace_writes_no_cache(make_ws):
    ws = make_ws(RECORDS, id_field="id")
    run_signal(ws, "length")
    store = Store(ws)
    assert store.scores_source == "memory"
    assert not (ws.root / ".cache").exists()
    assert store.scalar("SELECT count(*) FROM scores") == 40


# -- Store.memo: figures computed once per state of the files -----------------------------------------
def test_memo_is_computed_once_kept_in_the_cache_and_recomputed_when_the_files_change(make_ws, cached):
    import pandas as pd

    ws = make_ws(RECORDS, id_field="id")
    run_signal(ws, "length")
    store = Store(ws)
    calls = []

    def build():
        calls.append(1)
        return {"words": int(store.scalar("SELECT sum(length__n_words) FROM scores"))}

    first = store.memo("figure", build, persist="json")
    assert store.memo("figure", build, persist="json") == first and len(calls) == 1
    assert list((ws.root / ".cache").glob("figure-*.json"))

    # a restarted app (a new Store) reads the file instead of computing
    again = Store(ws)
    assert again.memo("figure", lambda: pytest.fail("recomputed"), persist="json") == first
    frame = again.memo("frame", lambda: pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), persist="parquet")
    assert Store(ws).memo("frame", lambda: pytest.fail("recomputed"), persist="parquet").to_dict("list") == \
        frame.to_dict("list")

    # a damaged file is recomputed
    (path,) = (ws.root / ".cache").glob("figure-*.json")
    path.write_text("{not json")
    assert Store(ws).memo("figure", build, persist="json") == first and len(calls) == 2

    # a new signal file: a new state, computed again (and only the new file kept)
    run_signal(ws, "c4")
    store.refresh()
    assert store.memo("figure", build, persist="json") == first and len(calls) == 3
    assert len(list((ws.root / ".cache").glob("figure-*.json"))) == 1


def test_memo_on_docs_survives_a_new_signal(make_ws, cached):
    ws = make_ws(RECORDS, id_field="id")
    store = Store(ws)
    calls = []
    store.memo("docfig", lambda: calls.append(1) or {"n": store.count()}, on="docs", persist="json")
    run_signal(ws, "length")
    store.refresh()
    assert store.memo("docfig", lambda: pytest.fail("recomputed"), on="docs", persist="json") == {"n": 40}
    assert len(calls) == 1


def test_slider_percentiles_equal_duckdbs_quantiles():
    import duckdb
    import numpy as np

    from core import filters as F

    rng = np.random.default_rng(3)
    con = duckdb.connect()
    v = rng.lognormal(size=5003)
    v[rng.random(5003) < 0.1] = np.nan  # nulls are left out
    ints = rng.integers(0, 7, 5003).astype(float)

    class Fake:
        def cursor(self):
            return con.cursor()

    con.execute("CREATE TABLE t AS SELECT CASE WHEN isnan(a) THEN NULL ELSE a END AS a, b FROM "
                "(SELECT unnest(?::DOUBLE[]) AS a, unnest(?::DOUBLE[]) AS b)", [v.tolist(), ints.tolist()])
    got = F._quantiles(Fake(), ["a", "b"], "t s")
    qs = "[" + ", ".join(str(i / F.GRID_STEPS) for i in range(F.GRID_STEPS + 1)) + "]"
    for i, c in enumerate(["a", "b"]):
        p, g = con.execute(f"SELECT quantile_cont({c}, 0.995), quantile_disc({c}, {qs}) FROM t").fetchone()
        assert got[f"p{i}"] == pytest.approx(p)
        assert got[f"g{i}"] == list(g)


def test_a_figure_of_one_signal_survives_a_new_signal_and_column_stats_are_not_recomputed(make_ws, cached,
                                                                                          monkeypatch):
    from core import filters as F

    ws = make_ws(RECORDS, id_field="id")
    run_signal(ws, "length")
    store = Store(ws)
    fig = store.memo("lenfig", lambda: {"max": store.scalar("SELECT max(length__n_words) FROM scores")},
                     on="length", persist="json")
    stats = F.column_stats(store, ["length__n_words"])

    run_signal(ws, "c4")  # a new signal: a new scores table, but nothing about `length` changed
    store.refresh()
    fresh = Store(ws)
    assert fresh.memo("lenfig", lambda: pytest.fail("recomputed"), on="length", persist="json") == fig
    monkeypatch.setattr(F, "_compute_stats", lambda *a: pytest.fail("length's stats recomputed"))
    assert F.column_stats(fresh, ["length__n_words"]) == stats


def test_the_app_serves_a_new_table_from_memory_and_writes_the_cache_in_the_background(make_ws, cached):
    ws = make_ws(RECORDS, id_field="id")
    run_signal(ws, "length")
    expected = _rows(Store(ws))  # built and cached the ordinary way
    for p in _caches(ws):
        p.unlink()

    app = Store(ws, background_cache=True)
    assert app.scores_source in ("memory (writing the cache)", "built")
    assert _rows(app) == expected  # answers at once, from memory
    app.wait_for_cache(60)
    assert app.scores_source == "built" and len(_caches(ws)) == 1
    assert _rows(app) == expected  # the same rows, now from the file
    assert not app.df("SELECT table_name FROM duckdb_tables() WHERE starts_with(table_name, 'scores_memory')").size

    # a new signal while the app runs: memory first, then the new file; a restart attaches it
    run_signal(ws, "c4")
    assert app.refresh() is True
    app.wait_for_cache(60)
    assert app.scores_source == "built"
    assert any(c.startswith("c4__") for c in app.score_columns)
    assert Store(ws).scores_source == "cache"


def test_a_job_that_changes_scores_leaves_the_apps_table_ready(make_ws, cached, monkeypatch):
    """A score job joins the scores table (and writes its cache) before it says done, so the first page
    opened afterwards does not wait for the join; a job that changes nothing the table joins does not."""
    from core.jobs import read_job, run_as_job

    ws = make_ws(RECORDS, id_field="id")
    with run_as_job(ws, "score", "job-1", ["score", "length"], quiet=True) as job:
        run_signal(ws, "length", progress=job)
        job.finish("done", result={"length": "computed"})  # as `python -m core score` does
    assert len(_caches(ws)) == 1 and read_job(ws, "job-1")["status"] == "done"
    monkeypatch.setattr(Store, "_scores_query", lambda *a: pytest.fail("the scores table was rebuilt"))
    assert Store(ws).scores_source == "cache"
    with run_as_job(ws, "export", "job-2", ["export"], quiet=True):
        pass
    assert read_job(ws, "job-2")["stage"] is None
