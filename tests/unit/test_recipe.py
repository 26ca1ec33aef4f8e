"""Recipe validation: plain-word keys, counts or fractions, clear errors naming the key."""

from __future__ import annotations

import json

import pytest

from core.errors import WinnowError
from core.recipe import load_recipe_file, parse_recipe_text, validate_recipe

ISSUE_EXAMPLE = {"filters": {"saved": "clean", "sources": ["bbc"]}, "strategy": "dsir", "target": "bbc_tech",
                 "size": 300, "seed": 1, "order": {"by": "quality_classifier", "ascending": True}}


def test_the_issue_example_is_a_valid_recipe():
    r = validate_recipe(ISSUE_EXAMPLE)
    assert r.filters.saved == ["clean"] and r.filters.sources == ["bbc"]
    assert r.strategy == "dsir" and r.target == "bbc_tech" and r.size == 300 and r.seed == 1
    assert r.order.by == "quality_classifier" and r.order.ascending
    assert validate_recipe(r.to_dict()) == r
    assert r.to_dict()["size"] == 300 and isinstance(r.to_dict()["size"], int)


def test_size_is_a_count_or_a_fraction():
    assert validate_recipe({"strategy": "random", "size": 0.25}).size == 0.25
    assert validate_recipe({"strategy": "random", "size": 12}).size == 12
    assert validate_recipe({"strategy": "random", "size": "10%"}).size == 0.1
    assert validate_recipe({"strategy": "random", "size": "100%"}).size is None  # the whole pool
    with pytest.raises(WinnowError, match="mates keeps a fraction"):
        validate_recipe({"strategy": "mates", "size": "100%"})
    with pytest.raises(WinnowError, match="between 0% and 100%"):
        validate_recipe({"strategy": "random", "size": "150%"})
    for bad in (0, -3, 1.5, float("nan")):
        with pytest.raises(WinnowError, match="size: a size is a whole count"):
            validate_recipe({"strategy": "random", "size": bad})


@pytest.mark.parametrize("recipe, message", [
    ({"strategy": "random", "sise": 10}, "sise: unknown key"),
    ({"strategy": "random", "filters": {"source": ["a"]}}, "filters.source: unknown key"),
    ({"strategy": "random", "order": {"by": "q", "asc": True}}, "order.asc: unknown key"),
    ({"strategy": "best"}, "strategy: unknown strategy 'best'; choose one of all, random"),
    ({"size": 10}, "strategy: missing; choose one of all"),
    ({"strategy": "top_k", "size": 10}, "strategy top_k needs `score`"),
    ({"strategy": "dsir"}, "strategy dsir needs `target`"),
    ({"strategy": "rds"}, "strategy rds needs `targets`"),
    ({"strategy": "dedup"}, "strategy dedup needs `group`"),
    ({"strategy": "curriculum"}, "strategy curriculum needs `order`"),
    ({"strategy": "random", "temperature": 0.5}, "`temperature` does not apply to strategy random"),
    ({"strategy": "top_k", "score": "q", "epochs": 3}, "`epochs` does not apply to strategy top_k"),
    ({"strategy": "gumbel_top_k", "score": "q", "temperature": 0}, "temperature: Input should be greater than 0"),
    ({"strategy": "cluster_balanced", "quota": "fair"}, "quota: Input should be 'equal' or 'proportional'"),
    ({"strategy": "random", "filters": {"scores": {"q": {"min": 3, "max": 1}}}}, "min 3.0 is above max 1.0"),
    ({"strategy": "random", "filters": {"scores": {"q": {}}}}, "give min, max or both"),
    ({"strategy": "curriculum", "base": "curriculum", "order": {"by": "q"}}, "cannot be curriculum"),
    (["random"], "a recipe is a mapping"),
    ({"strategy": "random", "seed": -1}, "seed: Input should be greater than or equal to 0"),
])
def test_bad_recipes_name_the_problem(recipe, message):
    with pytest.raises(WinnowError, match="bad recipe") as err:
        validate_recipe(recipe)
    assert message in str(err.value)


def test_curriculum_takes_its_base_strategys_parameters():
    r = validate_recipe({"strategy": "curriculum", "base": "top_k", "score": "q", "size": 5, "order": {"by": "q"}})
    assert r.effective_strategy() == "top_k"
    with pytest.raises(WinnowError, match="`score` does not apply to strategy random"):
        validate_recipe({"strategy": "curriculum", "base": "random", "score": "q", "order": {"by": "q"}})


def test_several_problems_are_reported_together():
    with pytest.raises(WinnowError) as err:
        validate_recipe({"strategy": "random", "sise": 1, "seed": "x"})
    assert "sise: unknown key" in str(err.value) and "seed:" in str(err.value)


def test_yaml_and_json_files(tmp_path):
    y = tmp_path / "r.yaml"
    y.write_text("strategy: top_k\nscore: gopher_quality\nsize: 0.1\nfilters:\n  sources: bbc\n")
    r = load_recipe_file(y)
    assert r.strategy == "top_k" and r.size == 0.1 and r.filters.sources == ["bbc"]
    j = tmp_path / "r.json"
    j.write_text(json.dumps(ISSUE_EXAMPLE))
    assert load_recipe_file(j).target == "bbc_tech"
    saved = tmp_path / "saved.json"  # a saved selection's metadata file carries its recipe
    saved.write_text(json.dumps({"name": "x", "count": 3, "recipe": ISSUE_EXAMPLE}))
    assert load_recipe_file(saved).strategy == "dsir"
    bad = tmp_path / "bad.json"
    bad.write_text("{strategy: ")
    with pytest.raises(WinnowError, match="invalid JSON"):
        load_recipe_file(bad)
    with pytest.raises(WinnowError, match="no recipe file"):
        load_recipe_file(tmp_path / "missing.yaml")
    with pytest.raises(WinnowError, match="neither valid JSON nor YAML"):
        parse_recipe_text("a: [1, 2")


def test_yaml_cannot_build_objects():
    with pytest.raises(WinnowError):
        parse_recipe_text("!!python/object/apply:os.system ['echo hi']")
