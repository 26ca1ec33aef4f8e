"""FineWeb quality rules (Penedo et al. 2024, "The FineWeb Datasets"; datatrove FineWebQualityFilter):
lines ending in terminal punctuation, short lines, characters in duplicated lines, newlines per word.

Lines are the text split on "\\n" without the blank ones (not stripped: trailing spaces count, as in
datatrove). Published thresholds: line-punctuation ratio >= 0.12, short-line (<= 30 characters) ratio
<= 0.67, duplicated-line character ratio <= 0.1 (the paper's value; datatrove's constructor defaults
to 0.01, so set it to 0.01 to reproduce that), newline-to-word ratio <= 0.3.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from core.signals._rules import Rule, RuleSignal, rule_columns
from core.signals.base import Params, register
from core.signals.textutil import TERMINAL_PUNCTUATION, find_duplicates, split_words


class FineWebParams(Params):
    line_punct_thr: float | None = Field(0.12, description="minimum share of lines ending in terminal punctuation")
    short_line_thr: float | None = Field(0.67, description="maximum share of short lines")
    short_line_length: int = Field(30, ge=0, description="a line this long or shorter (in characters) is short")
    char_duplicates_ratio: float | None = Field(
        0.1, description="maximum share of characters (newlines excluded) in lines that repeat an earlier line")
    new_line_ratio: float | None = Field(0.3, description="maximum newlines per word token")


RULES = (
    Rule("not_empty", "is_empty", "bool", "the document has no non-blank line", fails_when_true=True),
    Rule("line_punct_ratio", "line_punct_ratio", "float", "share of lines ending in terminal punctuation", "higher",
         keep_min="line_punct_thr"),
    Rule("short_line_ratio", "short_line_ratio", "float", "share of lines of at most short_line_length characters",
         "lower", keep_max="short_line_thr"),
    Rule("char_dup_ratio", "char_dup_ratio", "float",
         "share of characters (newlines excluded) in lines repeating an earlier line", "lower",
         keep_max="char_duplicates_ratio"),
    Rule("list_ratio", "newline_word_ratio", "float", "newlines per word token", "lower", keep_max="new_line_ratio"),
)


@register
class FineWeb(RuleSignal):
    name = "fineweb"
    version = "2"
    description = "FineWeb quality rules: terminal punctuation, short lines, duplicated lines, newlines per word"
    reference = "Penedo et al. 2024 (FineWeb), section 3.3; datatrove FineWebQualityFilter"
    Params = FineWebParams
    rules = RULES
    columns = rule_columns("fineweb", RULES)

    def measure(self, text: str) -> dict[str, Any]:
        lines = [ln for ln in text.split("\n") if ln.strip() != ""]
        if not lines:
            return {"is_empty": True}
        n = len(lines)
        short = self.params.short_line_length
        chars = len(text) - text.count("\n")
        n_words = len(split_words(text))
        return {
            "is_empty": False,
            "line_punct_ratio": sum(ln.endswith(TERMINAL_PUNCTUATION) for ln in lines) / n,
            "short_line_ratio": sum(len(ln) <= short for ln in lines) / n,
            "char_dup_ratio": find_duplicates(lines)[1] / chars if chars else 0.0,
            "newline_word_ratio": text.count("\n") / n_words if n_words else None,
        }
