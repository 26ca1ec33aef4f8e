"""The Compare page's small figures (core/compare_view.py) on hand-built inputs with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import compare_view as cv
from core.compare import Subset


def test_overlap_counts_and_restrict():
    subsets = [Subset("a", ["1", "2", "3"]), Subset("b", ["2", "3", "4", "5"]), Subset("r", ["9"], baseline=True)]
    shared = cv.overlap_counts(subsets)
    assert shared.loc["a", "b"] == 2 and shared.loc["b", "b"] == 4 and shared.loc["a", "r"] == 0
    inside = cv.restrict(subsets, ["3", "2", "9"])
    assert [s.ids for s in inside] == [["2", "3"], ["2", "3"], ["9"]] and inside[2].baseline
    assert cv.restrict(subsets, None) == subsets
    assert cv.subsets_key(subsets) != cv.subsets_key(inside)


def test_coverage_shares_sum_to_one_per_selection():
    per = pd.DataFrame({"a": [3, 1, 0], "b": [0, 0, 0]}, index=["0", "1", "2"])
    shares = cv.coverage_shares(per)
    assert shares["a"].tolist() == [0.75, 0.25, 0.0] and shares["b"].tolist() == [0.0, 0.0, 0.0]


def test_proxy_final_vs_baseline():
    final = pd.DataFrame({"selection": ["s", "random (baseline)"], "accuracy": [0.8, 0.7], "perplexity": [90.0, 100.0]})
    out = cv.proxy_final_vs_baseline(final, "random (baseline)").set_index("selection")
    assert out.loc["s", "accuracy vs random"] == pytest.approx(0.1)
    assert out.loc["s", "perplexity vs random"] == pytest.approx(-10.0)
    assert "accuracy vs random" not in cv.proxy_final_vs_baseline(final, None).columns


def test_view_range_fences_far_points_only():
    rng = np.random.default_rng(0)
    core = rng.normal(size=500)
    assert cv.view_range(core) is None  # nothing beyond 3 IQR: the whole map is the view
    lo, hi = cv.view_range(np.append(core, 1000.0))
    assert hi < 1000 and lo <= np.quantile(core, 0.01)
    assert cv.view_range(np.arange(10.0)) is None  # too few points to fence


def test_shared_bins_cover_every_value():
    bins = cv.shared_bins(np.array([0.0, 1.0, 2.0, 10.0]), nbins=5)
    assert bins["start"] == 0.0 and bins["size"] == 2.0 and bins["end"] > 10.0
    assert cv.shared_bins(np.array([3.0, 3.0]))["start"] < 3.0 < cv.shared_bins(np.array([3.0, 3.0]))["end"]
    assert cv.shared_bins(np.array([np.nan])) is None


def test_proxy_request_is_what_the_cli_parses():
    argv = cv.proxy_request(["a", "b"], baseline=False, baseline_seed=2, heldout="held", target="t",
                            fractions=[1, 0.25], seeds=[0, 1])
    assert argv == ["compare", "a", "b", "--proxy", "--baseline-seed", "2", "--fractions", "0.25,1.0",
                    "--seeds", "0,1", "--target", "t", "--heldout", "held", "--no-baseline"]
