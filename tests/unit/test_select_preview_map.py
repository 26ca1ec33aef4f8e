"""The Select preview's map points: every point while the map is small, else the selected and the other
documents sampled at the same rate (a small selection drawn whole), computed in DuckDB."""

from __future__ import annotations

from core.select import preview_map_points
from core.store import Store
from tests.unit.select_helpers import make_select_ws


def test_small_map_draws_every_point(make_ws, tmp_path):
    store = Store(make_select_ws(make_ws, tmp_path))
    pts, n_picked, n_other = preview_map_points(store, ["d03", "d10", "d03", "nope"])
    assert (n_picked, n_other) == (2, 58) and len(pts) == 60
    assert sorted(pts.loc[pts["picked"], "id"]) == ["d03", "d10"]
    assert pts.set_index("id").loc["d10", "x"] == 10.0


def test_large_map_keeps_the_selected_share_and_small_selections_whole(make_ws, tmp_path):
    store = Store(make_select_ws(make_ws, tmp_path))
    half = [f"d{i:02d}" for i in range(0, 60, 2)]
    pts, n_picked, n_other = preview_map_points(store, half, limit=20, picked_min=0)
    assert (n_picked, n_other) == (30, 30)
    drawn = int(pts["picked"].sum()), int((~pts["picked"]).sum())
    assert all(3 <= n <= 17 for n in drawn), drawn  # about a third of each group (a hash of the id decides)
    assert set(pts.loc[pts["picked"], "id"]) <= set(half)
    assert pts.equals(preview_map_points(store, half, limit=20, picked_min=0)[0])  # the same sample each time
    few = ["d01", "d02", "d03"]
    pts, n_picked, _ = preview_map_points(store, few, limit=20, picked_min=5)
    assert sorted(pts.loc[pts["picked"], "id"]) == few  # a small selection is drawn whole


def test_recipe_for_display_shortens_long_id_lists():
    from core.select import recipe_for_display

    ids = [f"d{i}" for i in range(500_000)]
    recipe = {"strategy": "random", "size": 10, "filters": {"ids": ids, "map_label": "lasso"}}
    shown = recipe_for_display(recipe)
    assert shown == {"strategy": "random", "size": 10, "filters": {"ids": "<500,000 ids>", "map_label": "lasso"}}
    assert recipe["filters"]["ids"] is ids  # the recipe itself is not changed
    few = {"strategy": "all", "filters": {"ids": ["a", "b"]}}
    assert recipe_for_display(few) == few and recipe_for_display(None) == {}


def test_first_ids_follow_the_rank(make_ws, tmp_path):
    import pyarrow as pa
    import pytest

    from core.errors import WinnowError
    from core.select import first_ids, load_selection, save_selection, selection_paths
    from core.workspace import write_parquet

    ws = make_select_ws(make_ws, tmp_path)
    save_selection(ws, "ordered", {"strategy": "random", "size": 30, "seed": 4, "order": {"by": "toy__quality"}})
    _, rows = load_selection(ws, "ordered")
    assert first_ids(ws, "ordered", 5) == rows["id"].head(5).tolist()
    # a file whose rows are not stored in rank order still gives the first ranks
    write_parquet(pa.table({"id": ["c", "a", "b"], "rank": [2, 0, 1], "epoch": [0, 0, 0]}),
                  selection_paths(ws, "ordered")[1])
    assert first_ids(ws, "ordered", 2) == ["a", "b"] and first_ids(ws, "ordered", 10) == ["a", "b", "c"]
    with pytest.raises(WinnowError, match="no selection named 'nope'"):
        first_ids(ws, "nope")
