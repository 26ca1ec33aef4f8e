"""Length: characters, words, lines and mean word length of each document (vectorised string methods).

Words are whitespace-separated tokens (as the `docs.n_words` column counts them); lines count the
text's lines (str.splitlines: a final newline does not start a new line); mean word length is the
non-whitespace characters per word.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.signals.base import BatchSignal, Column, register

_LINE_BREAKS = r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]"
_BREAK_CHARS = ["\n", "\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@register
class Length(BatchSignal):
    name = "length"
    version = "1"
    description = "characters, words, lines and mean word length"
    reference = "whitespace words and str.splitlines lines"
    columns = (
        Column("n_chars", "int", "characters (Unicode code points)"),
        Column("n_words", "int", "whitespace-separated words"),
        Column("n_lines", "int", "lines (str.splitlines)"),
        Column("mean_word_length", "float", "non-whitespace characters per word (null without words)"),
    )
    batch_size = 50_000

    def compute(self, batch: pd.DataFrame) -> pd.DataFrame:
        text = batch["text"].astype("string").fillna("")
        n_chars = text.str.len().to_numpy(dtype=np.int64)
        n_words = text.str.count(r"\S+").to_numpy(dtype=np.int64)
        breaks = text.str.count(_LINE_BREAKS).to_numpy(dtype=np.int64)
        ends_with_break = text.str[-1:].isin(_BREAK_CHARS).to_numpy(dtype=bool)  # ("\r\n" ends with "\n")
        n_lines = np.where(n_chars == 0, 0, breaks + 1 - ends_with_break)
        spaces = text.str.count(r"\s").to_numpy(dtype=np.int64)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_len = np.where(n_words > 0, (n_chars - spaces) / np.maximum(n_words, 1), np.nan)
        return pd.DataFrame({
            "id": batch["id"].astype(str).to_numpy(), "n_chars": n_chars, "n_words": n_words,
            "n_lines": n_lines, "mean_word_length": mean_len,
        })
