"""Gopher repetition rules (Rae et al. 2021, Table A1; datatrove GopherRepetitionFilter): duplicated
lines and paragraphs, the most frequent 2-4-grams, and duplicated 5-10-grams, each as a fraction of
the document's characters.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from core.signals._rules import Rule, RuleSignal, rule_columns
from core.signals.base import Params, register
from core.signals.textutil import find_duplicates, ngram_repetition, split_words

_PARA = re.compile(r"\n{2,}")
_LINE = re.compile(r"\n+")
TOP_N = {2: 0.20, 3: 0.18, 4: 0.16}
DUP_N = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}


def _fields() -> dict[str, Any]:
    f: dict[str, Any] = {
        "dup_para_frac": (float | None, Field(0.30, description="maximum share of paragraphs that repeat an earlier one")),
        "dup_para_char_frac": (float | None, Field(0.20, description="maximum share of characters in repeated paragraphs")),
        "dup_line_frac": (float | None, Field(0.30, description="maximum share of lines that repeat an earlier one")),
        "dup_line_char_frac": (float | None, Field(0.20, description="maximum share of characters in repeated lines")),
    }
    for n, v in TOP_N.items():
        f[f"top_{n}gram_frac"] = (float | None, Field(v, description=f"maximum share of characters in the most frequent {n}-gram"))
    for n, v in DUP_N.items():
        f[f"dup_{n}gram_frac"] = (float | None, Field(v, description=f"maximum share of characters in repeated {n}-grams"))
    return f


def _make_params() -> type[Params]:
    from pydantic import create_model

    return create_model("GopherRepetitionParams", __base__=Params, **_fields())


GopherRepetitionParams = _make_params()

RULES = (
    Rule("not_empty", "is_empty", "bool", "the document has no text", fails_when_true=True),
    Rule("dup_para_frac", "dup_para_frac", "float", "share of paragraphs repeating an earlier paragraph", "lower",
         keep_max="dup_para_frac"),
    Rule("dup_para_char_frac", "dup_para_char_frac", "float", "share of characters in repeated paragraphs", "lower",
         keep_max="dup_para_char_frac"),
    Rule("dup_line_frac", "dup_line_frac", "float", "share of lines repeating an earlier line", "lower",
         keep_max="dup_line_frac"),
    Rule("dup_line_char_frac", "dup_line_char_frac", "float", "share of characters in repeated lines", "lower",
         keep_max="dup_line_char_frac"),
    *(Rule(f"top_{n}gram", f"top_{n}gram_frac", "float", f"share of characters in the most frequent word {n}-gram",
           "lower", keep_max=f"top_{n}gram_frac") for n in TOP_N),
    *(Rule(f"dup_{n}gram", f"dup_{n}gram_frac", "float", f"share of characters in repeated word {n}-grams", "lower",
           keep_max=f"dup_{n}gram_frac") for n in DUP_N),
)


@register
class GopherRepetition(RuleSignal):
    name = "gopher_repetition"
    version = "2"
    description = "Gopher repetition rules: repeated lines and paragraphs, top 2-4-grams, repeated 5-10-grams"
    reference = "Rae et al. 2021 (Gopher), Table A1; datatrove GopherRepetitionFilter"
    Params = GopherRepetitionParams
    rules = RULES
    columns = rule_columns("gopher_repetition", RULES)

    def measure(self, text: str) -> dict[str, Any]:
        return self.measure_batch([text])[0]

    def measure_batch(self, texts: list[str]) -> list[dict[str, Any]]:
        rows = [self._lines_and_paragraphs(t) for t in texts]
        top, dup = ngram_repetition([split_words(t) if t else [] for t in texts], tuple(TOP_N), tuple(DUP_N))
        for i, (row, text) in enumerate(zip(rows, texts, strict=True)):
            if not text:
                continue
            n_chars = len(text)
            for n in TOP_N:
                row[f"top_{n}gram_frac"] = None if top[n][i] is None else top[n][i] / n_chars
            for n in DUP_N:
                row[f"dup_{n}gram_frac"] = dup[n][i] / n_chars
        return rows

    @staticmethod
    def _lines_and_paragraphs(text: str) -> dict[str, Any]:
        out: dict[str, Any] = {"is_empty": not text}
        if not text:
            return out
        n_chars = len(text)
        paragraphs = _PARA.split(text.strip())
        dup_paras, dup_para_chars = find_duplicates(paragraphs)
        out["dup_para_frac"] = dup_paras / len(paragraphs)
        out["dup_para_char_frac"] = dup_para_chars / n_chars
        lines = _LINE.split(text)
        dup_lines, dup_line_chars = find_duplicates(lines)
        out["dup_line_frac"] = dup_lines / len(lines)
        out["dup_line_char_frac"] = dup_line_chars / n_chars
        return out
