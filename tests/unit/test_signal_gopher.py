"""Gopher quality and repetition: every rule on both sides of its published threshold, with hand-made texts."""

from __future__ import annotations

import pytest

from core.errors import WinnowError
from core.signals.textutil import split_words
from tests.unit._signal_helpers import compute, one, straddle, unique_words

BASE = ["the", "house", "of", "stone", "and", "wood"]  # mean length 3.67, three stop words


def prose(n: int, words: list[str] = BASE) -> str:
    return " ".join(words[i % len(words)] for i in range(n)) + "."


def test_tokenizer_matches_spacy_english_rules():
    # spaCy 3.8 `spacy.blank("en")` output for this text (what datatrove's word splitter returns)
    text = "Don't stop, Mr. Smith! It's 5km away... U.S. e.g. http://x.com/a. 3.14 #tag :) 10:30am"
    assert split_words(text) == ["Do", "n't", "stop", ",", "Mr.", "Smith", "!", "It", "'s", "5", "km", "away", "...",
                                 "U.S.", "e.g.", "http://x.com/a", ".", "3.14", "#", "tag", ":)", "10:30am"]
    assert split_words("cannot gonna (hello):") == ["can", "not", "gon", "na", "(", "hello", "):"]


def test_a_clean_paragraph_is_kept_with_every_rule_passing():
    row = one("gopher_quality", prose(120))
    assert row["gopher_quality_reason"] is None
    assert all(row[c] for c in row if c.endswith("_ok"))


@pytest.mark.parametrize(("n", "reason"), [(49, "word_count"), (50, None)])
def test_minimum_word_count(n, reason):
    row = one("gopher_quality", prose(n))
    assert row["n_words"] == n  # the final "." is a symbol, not a word
    assert row["gopher_quality_reason"] == reason


@pytest.mark.parametrize(("n", "reason"), [(60, None), (61, "word_count")])
def test_maximum_word_count(n, reason):
    assert one("gopher_quality", prose(n), max_doc_words=60)["gopher_quality_reason"] == reason


@pytest.mark.parametrize(("filler", "mean", "ok"), [
    ("ab", 2.5, False), ("abcd", 3.0, True),  # the, of, and + filler: (8 + len) / 4
    ("a" * 32, 10.0, True), ("a" * 33, 10.25, False),
])
def test_mean_word_length_range(filler, mean, ok):
    row = one("gopher_quality", prose(80, ["the", "of", "and", filler]))
    assert row["mean_word_length"] == pytest.approx(mean)
    assert row["mean_word_length_ok"] is ok
    assert (row["gopher_quality_reason"] == "mean_word_length") is (not ok)


@pytest.mark.parametrize(("k", "ok"), [(7, True), (8, False)])
def test_hash_symbol_ratio(k, ok):
    text = prose(60)[:-1] + " " + " ".join(["#tag"] * k) + " end."
    row = one("gopher_quality", text)
    assert (row["hash_ratio"] <= 0.1) is ok
    assert row["hash_ratio_ok"] is ok
    assert (row["gopher_quality_reason"] == "hash_ratio") is (not ok)


@pytest.mark.parametrize(("k", "ok"), [(6, True), (8, False)])
def test_ellipsis_symbol_ratio(k, ok):
    words = prose(60)[:-1].split()
    for i in range(k):
        words[5 + 6 * i] += "..." if i % 2 else "…"
    row = one("gopher_quality", " ".join(words) + " end.")
    assert (row["ellipsis_ratio"] <= 0.1) is ok
    assert row["ellipsis_ratio_ok"] is ok
    assert (row["gopher_quality_reason"] == "ellipsis_ratio") is (not ok)


@pytest.mark.parametrize(("bullets", "ok"), [(9, True), (10, False)])
def test_bullet_lines(bullets, ok):
    lines = [("• " if i < bullets else "") + prose(8) for i in range(10)]
    row = one("gopher_quality", "\n".join(lines))
    assert row["bullet_lines_ratio"] == pytest.approx(bullets / 10)
    assert row["bullet_lines_ok"] is ok
    assert (row["gopher_quality_reason"] == "bullet_lines") is (not ok)


@pytest.mark.parametrize(("ellipses", "ok"), [(3, True), (4, False)])
def test_lines_ending_with_an_ellipsis(ellipses, ok):
    lines = [prose(8)[:-1] + ("..." if i < ellipses else ".") for i in range(10)]
    row = one("gopher_quality", "\n".join(lines))
    assert row["ellipsis_lines_ratio"] == pytest.approx(ellipses / 10)
    assert row["ellipsis_lines_ok"] is ok
    assert (row["gopher_quality_reason"] == "ellipsis_lines") is (not ok)


@pytest.mark.parametrize(("numbers", "ok"), [(14, True), (15, False)])
def test_alphabetic_words(numbers, ok):
    # 60 words + the final "." + numbers: share with a letter = 60 / (61 + numbers)
    text = prose(60)[:-1] + " " + " ".join(["1234"] * numbers) + "."
    row = one("gopher_quality", text)
    assert row["alpha_words_ratio"] == pytest.approx(60 / (61 + numbers))
    assert row["alpha_words_ok"] is ok
    assert (row["gopher_quality_reason"] == "alpha_words") is (not ok)


@pytest.mark.parametrize(("words", "count", "ok"), [
    (["the", "house", "and", "stone"], 2, True),
    (["the", "house", "stone", "wood"], 1, False),
    (["The", "house", "And", "stone"], 0, False),  # case-sensitive, as in datatrove
])
def test_stop_words(words, count, ok):
    row = one("gopher_quality", prose(80, words))
    assert row["stop_words"] == count
    assert row["stop_words_ok"] is ok
    assert (row["gopher_quality_reason"] == "stop_words") is (not ok)


def test_first_failing_rule_is_the_reason_and_params_are_strict():
    row = one("gopher_quality", "# # # x")  # short, and too many hashes: the word count is checked first
    assert row["gopher_quality_reason"] == "word_count"
    assert row["hash_ratio_ok"] is False
    with pytest.raises(WinnowError, match="min_words"):
        one("gopher_quality", "x", min_words=3)


# -- repetition --------------------------------------------------------------------------------
def words(n: int, seed: int) -> str:
    return " ".join(unique_words(n, seed))


def rep(text: str) -> dict:
    return one("gopher_repetition", text)


def test_text_without_repeats_passes_every_repetition_rule():
    row = rep("\n\n".join(words(30, s) for s in range(5)))
    assert row["gopher_repetition_reason"] is None
    assert row["dup_5gram_frac"] == 0 and row["dup_line_frac"] == 0


def test_empty_text_fails_not_empty():
    row = one("gopher_repetition", "")
    assert row["gopher_repetition_reason"] == "not_empty"


@pytest.mark.parametrize(("sep", "rule", "value"), [("\n\n", "dup_para_frac", "dup_para_frac"),
                                                    ("\n", "dup_line_frac", "dup_line_frac")])
@pytest.mark.parametrize(("dups", "ok"), [(3, True), (4, False)])
def test_duplicate_paragraph_and_line_fractions(sep, rule, value, dups, ok):
    parts = [words(4, s) for s in range(10 - dups)] + [words(4, 0)] * dups
    row = rep(sep.join(parts))
    assert row[value] == pytest.approx(dups / 10)
    assert row[f"{rule}_ok"] is ok


@pytest.mark.parametrize(("sep", "rule"), [("\n\n", "dup_para_char_frac"), ("\n", "dup_line_char_frac")])
def test_duplicate_paragraph_and_line_character_fractions(sep, rule):
    dup = words(10, 99)

    def build(a: int) -> str:
        return sep.join([words(a, 1), dup, dup])

    def value(text: str) -> float:
        return rep(text)[rule]

    keep, drop = straddle(build, value, 0.20, increasing=False)
    assert rep(build(keep))[f"{rule}_ok"] is True
    assert rep(build(drop))[f"{rule}_ok"] is False
    assert value(build(keep)) <= 0.20 < value(build(drop))


@pytest.mark.parametrize(("n", "threshold"), [(2, 0.20), (3, 0.18), (4, 0.16)])
def test_top_ngram_character_fraction(n, threshold):
    gram = " ".join(unique_words(n, 7))
    rule = f"top_{n}gram"

    def build(a: int) -> str:
        return words(a, 3) + " " + " ".join([gram] * 4)

    def value(text: str) -> float:
        return rep(text)[f"{rule}_frac"]

    keep, drop = straddle(build, value, threshold, increasing=False)
    assert value(build(keep)) <= threshold < value(build(drop))
    assert rep(build(keep))[f"{rule}_ok"] is True
    assert rep(build(drop))[f"{rule}_ok"] is False


@pytest.mark.parametrize(("n", "threshold"), [(5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10)])
def test_duplicated_ngram_character_fraction(n, threshold):
    gram = " ".join(unique_words(n, 11))
    rule = f"dup_{n}gram"

    def build(a: int) -> str:
        return f"{words(a, 5)} {gram} {gram}"

    def value(text: str) -> float:
        return rep(text)[f"{rule}_frac"]

    keep, drop = straddle(build, value, threshold, increasing=False)
    assert value(build(keep)) <= threshold < value(build(drop))
    assert rep(build(keep))[f"{rule}_ok"] is True
    assert rep(build(drop))[f"{rule}_ok"] is False


def test_duplicated_ngrams_follow_datatrove_skipping():
    # datatrove's find_all_duplicate: after a repeated n-gram it jumps n words ahead; characters
    # exclude spaces. "a b c d e a b c d e a b c d e": repeats at word 5 (5 words) and word 10 (5 words).
    text = " ".join(["aa", "bb", "cc", "dd", "ee"] * 3)
    assert rep(text)["dup_5gram_frac"] == pytest.approx(20 / len(text))


def test_batch_output_has_every_declared_column():
    out = compute("gopher_repetition", ["one two three", "", "a\n\na"])
    from core.signals import get

    assert list(out.columns) == ["id", *[c.name for c in get("gopher_repetition").columns]]
    assert out["gopher_repetition_reason"].tolist()[1] == "not_empty"
