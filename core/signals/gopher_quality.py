"""Gopher quality rules (Rae et al. 2021, "Scaling Language Models: Methods, Analysis & Insights from
Training Gopher", Appendix A; datatrove GopherQualityFilter): word count, mean word length, symbol ratios,
bullet and ellipsis lines, alphabetic words, stop words.

Word counts follow datatrove: the length rules count words that are not pure punctuation; the ratio
rules divide by all word tokens (punctuation marks included).
"""

from __future__ import annotations

from itertools import compress
from typing import Any

from pydantic import Field

from core.signals._rules import Rule, RuleSignal, rule_columns
from core.signals.base import Params, register
from core.signals.textutil import ALPHA, SYMBOL, ratio, split_words, token_flags

STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")


class GopherQualityParams(Params):
    min_doc_words: int | None = Field(50, description="keep documents with at least this many words (not counting punctuation)")
    max_doc_words: int | None = Field(100_000, description="keep documents with at most this many words")
    min_avg_word_length: float | None = Field(3, description="minimum mean word length in characters")
    max_avg_word_length: float | None = Field(10, description="maximum mean word length in characters")
    max_symbol_word_ratio: float | None = Field(0.1, description="maximum '#' per word, and '...'/'…' per word")
    max_bullet_lines_ratio: float | None = Field(0.9, description="maximum share of lines starting with a bullet ('•' or '-')")
    max_ellipsis_lines_ratio: float | None = Field(0.3, description="maximum share of lines ending with '...' or '…'")
    min_alpha_words_ratio: float | None = Field(0.8, description="minimum share of words with an alphabetic character")
    min_stop_words: int | None = Field(2, description="minimum number of distinct stop words present")
    stop_words: tuple[str, ...] = Field(STOP_WORDS, description="the stop words (Gopher's English list)")


RULES = (
    Rule("word_count", "n_words", "int", "words that are not pure punctuation", None, "min_doc_words", "max_doc_words"),
    Rule("mean_word_length", "mean_word_length", "float", "mean length of those words, in characters", None,
         "min_avg_word_length", "max_avg_word_length"),
    Rule("hash_ratio", "hash_ratio", "float", "'#' characters per word token", "lower", keep_max="max_symbol_word_ratio"),
    Rule("ellipsis_ratio", "ellipsis_ratio", "float", "'...' and '…' per word token", "lower",
         keep_max="max_symbol_word_ratio"),
    Rule("bullet_lines", "bullet_lines_ratio", "float", "share of lines starting with '•' or '-'", "lower",
         keep_max="max_bullet_lines_ratio"),
    Rule("ellipsis_lines", "ellipsis_lines_ratio", "float", "share of lines ending with '...' or '…'", "lower",
         keep_max="max_ellipsis_lines_ratio"),
    Rule("alpha_words", "alpha_words_ratio", "float", "share of word tokens with an alphabetic character", "higher",
         keep_min="min_alpha_words_ratio"),
    Rule("stop_words", "stop_words", "int", "distinct Gopher stop words present (the, be, to, of, and, that, have, with)",
         "higher", keep_min="min_stop_words"),
)


@register
class GopherQuality(RuleSignal):
    name = "gopher_quality"
    version = "2"
    description = "Gopher quality rules: length, mean word length, symbols, bullets, ellipses, alphabetic words, stop words"
    reference = "Rae et al. 2021 (Gopher), Appendix A; datatrove GopherQualityFilter"
    Params = GopherQualityParams
    rules = RULES
    columns = rule_columns("gopher_quality", RULES)

    def measure(self, text: str) -> dict[str, Any]:
        words = split_words(text)
        n_tokens = len(words)
        symbol = token_flags(SYMBOL, words)  # "content" words are the tokens that are not pure punctuation
        n_content = n_tokens - symbol.count(True)
        content_chars = sum(map(len, words)) - sum(map(len, compress(words, symbol)))
        lines = text.splitlines()
        stop = frozenset(self.params.stop_words)
        return {
            "n_words": n_content,
            "mean_word_length": ratio(content_chars, n_content),
            "hash_ratio": ratio(text.count("#"), n_tokens),
            "ellipsis_ratio": ratio(text.count("...") + text.count("…"), n_tokens),
            "bullet_lines_ratio": ratio(sum(ln.lstrip().startswith(("•", "-")) for ln in lines), len(lines)),
            "ellipsis_lines_ratio": ratio(sum(ln.rstrip().endswith(("...", "…")) for ln in lines), len(lines)),
            "alpha_words_ratio": ratio(token_flags(ALPHA, words).count(True), n_tokens),
            "stop_words": len(stop.intersection(words)),
        }
