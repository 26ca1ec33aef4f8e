"""C4 and FineWeb rules on both sides of their thresholds, with hand-made texts."""

from __future__ import annotations

import pytest

from tests.unit._signal_helpers import one, unique_words

SENTENCES = [
    "The river runs past the old mill every spring.",
    "Farmers bring their grain to the market on Monday.",
    "Children play in the fields until the sun goes down.",
    "The baker opens his shop before the town wakes up.",
    "Visitors often stop to admire the stone bridge.",
    "Rain in the hills fills the wells for the summer.",
    "Everyone gathers in the square for the harvest fair.",
]


def c4(text: str, **params) -> dict:
    return one("c4", text, **params)


@pytest.mark.parametrize(("n", "ok"), [(4, False), (5, True)])
def test_c4_needs_five_sentences(n, ok):
    row = c4("\n".join(SENTENCES[:n]))
    assert row["n_sentences"] == n
    assert row["too_few_sentences_ok"] is ok
    assert (row["c4_reason"] == "too_few_sentences") is (not ok)


def test_c4_counts_sentences_only_in_the_lines_it_keeps():
    text = "\n".join([
        "Two sentences here. And another one follows now.",  # 2 sentences
        "Mr. Smith went to Washington today.",  # 1: the abbreviation does not end a sentence
        "no terminal punctuation in this line",  # dropped: no terminal punctuation
        "Too short.",  # dropped: fewer than 3 words
        "Please enable JavaScript to view this page.",  # dropped: javascript
        "This site uses cookies to improve your experience.",  # dropped: policy
        "It ends with an ellipsis...",  # dropped: ellipsis
        "A citation follows here.[1]",  # kept after removing the citation mark
    ])
    row = c4(text)
    assert row["n_sentences"] == 4
    assert row["kept_lines"] == 3
    assert row["n_lines"] == 8
    assert row["c4_reason"] == "too_few_sentences"
    assert row["kept_chars_ratio"] < 0.5


@pytest.mark.parametrize(("line", "flagged"), [
    ("Lorem ipsum dolor sit amet, consectetur.", True),
    ("lorem ipsum dolor sit amet without an end", False),  # the line is dropped before the check
])
def test_c4_lorem_ipsum(line, flagged):
    row = c4("\n".join([*SENTENCES, line]))
    assert row["has_lorem_ipsum"] is flagged
    assert row["lorem_ipsum_ok"] is (not flagged)
    assert (row["c4_reason"] == "lorem_ipsum") is flagged
    assert c4("\n".join([*SENTENCES, line]), filter_lorem_ipsum=False)["c4_reason"] is None


@pytest.mark.parametrize(("line", "flagged"), [
    ("Put the value in {braces} like this.", True),
    ("function f() { return 1 }", False),  # no terminal punctuation: dropped first
    ("Enable javascript { here } to continue.", False),  # javascript lines go before the bracket check
])
def test_c4_curly_bracket(line, flagged):
    row = c4("\n".join([*SENTENCES, line]))
    assert row["has_curly_bracket"] is flagged
    assert row["curly_bracket_ok"] is (not flagged)
    assert (row["c4_reason"] == "curly_bracket") is flagged


def test_c4_line_rules_are_parameters():
    text = "\n".join(f"{s[:-1]} javascript." for s in SENTENCES)
    assert c4(text)["n_sentences"] == 0
    assert c4(text, filter_javascript=False)["n_sentences"] == len(SENTENCES)


# -- FineWeb ----------------------------------------------------------------------------------
def fw(text: str, **params) -> dict:
    return one("fineweb", text, **params)


def long_lines(n: int, seed: int = 0, end: str = "") -> list[str]:
    """n distinct lines of 8 words (47 characters): none short."""
    words = unique_words(8 * n, seed)
    return [" ".join(words[8 * i: 8 * i + 8]) + end for i in range(n)]


def test_fineweb_empty_text():
    assert fw("\n \n\t\n")["fineweb_reason"] == "not_empty"
    assert fw("One line of text that is long enough to pass.")["fineweb_reason"] is None


@pytest.mark.parametrize(("punct", "ok"), [(3, True), (2, False)])
def test_fineweb_line_punctuation_ratio(punct, ok):
    lines = [ln + ("." if i < punct else "") for i, ln in enumerate(long_lines(25))]
    row = fw("\n".join(lines))
    assert row["line_punct_ratio"] == pytest.approx(punct / 25)
    assert row["line_punct_ratio_ok"] is ok
    assert (row["fineweb_reason"] == "line_punct_ratio") is (not ok)


def test_fineweb_line_punctuation_counts_untrimmed_lines():
    row = fw("\n".join(ln + ". " for ln in long_lines(5)))  # a trailing space: the line does not end in "."
    assert row["line_punct_ratio"] == 0


@pytest.mark.parametrize(("short", "ok"), [(67, True), (68, False)])
def test_fineweb_short_line_ratio(short, ok):
    words = unique_words(300, 3)
    lines = [f"{words[2 * i]} {words[2 * i + 1]}." if i < short else f"{long_lines(1, i)[0]}." for i in range(100)]
    row = fw("\n".join(lines))
    assert row["short_line_ratio"] == pytest.approx(short / 100)
    assert row["short_line_ratio_ok"] is ok
    assert (row["fineweb_reason"] == "short_line_ratio") is (not ok)


@pytest.mark.parametrize(("unique", "ok"), [(18, True), (17, False)])
def test_fineweb_duplicated_line_characters(unique, ok):
    # one line repeated twice (48 characters) among `unique` distinct lines of 48 characters
    lines = long_lines(unique, end=".")
    text = "\n".join([*lines, lines[0], lines[0]])
    row = fw(text)
    assert row["char_dup_ratio"] == pytest.approx(96 / (48 * (unique + 2)))
    assert row["char_dup_ratio_ok"] is ok
    assert (row["fineweb_reason"] == "char_dup_ratio") is (not ok)


@pytest.mark.parametrize(("words_per_line", "ok"), [(3, True), (2, False)])
def test_fineweb_newline_to_word_ratio(words_per_line, ok):
    # long words keep every line over 30 characters; each line ends with "." (one more token)
    vocab = unique_words(words_per_line * 40, 9, length=16)
    lines = [" ".join(vocab[words_per_line * i: words_per_line * (i + 1)]) + "." for i in range(40)]
    row = fw("\n".join(lines))
    assert row["newline_word_ratio"] == pytest.approx(39 / (40 * (words_per_line + 1)))
    assert row["list_ratio_ok"] is ok
    assert (row["fineweb_reason"] == "list_ratio") is (not ok)


def test_fineweb_thresholds_are_parameters():
    lines = [ln + ("." if i < 2 else "") for i, ln in enumerate(long_lines(25))]
    assert fw("\n".join(lines), line_punct_thr=0.05)["fineweb_reason"] is None
