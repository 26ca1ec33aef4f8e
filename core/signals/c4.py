"""C4 rules (Raffel et al. 2020, "Exploring the Limits of Transfer Learning with a Unified Text-to-Text
Transformer", section 2.2; tfds c4_utils; datatrove C4QualityFilter).

C4 works line by line, then on the page. A line is kept when it ends in terminal punctuation (. ? ! " ')
and not in an ellipsis, has at least 3 words, no word over 1000 characters, and does not mention
"javascript" or a cookie/terms-of-use/privacy-policy phrase (Wikipedia citation marks are removed
first). The page is dropped when a kept-so-far line contains "lorem ipsum" or a curly bracket, or when
the kept lines hold fewer than 5 sentences (the paper's page rule; datatrove's default).

The line rules change what is measured, so they are parameters of the computation; the page rules are
thresholds. When a page has both "lorem ipsum" and "{", datatrove names whichever line comes first,
and this signal names lorem_ipsum (the decision is the same).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from core.signals._rules import Rule, RuleSignal, rule_columns
from core.signals.base import Column, Params, register
from core.signals.textutil import count_sentences

CITATION_REGEX = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
END_PUNCTUATION = (".", "?", "!", '"', "'")
ELLIPSIS = "..."
POLICY_SUBSTRINGS = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")


class C4Params(Params):
    min_num_sentences: int | None = Field(5, description="drop pages whose kept lines hold fewer sentences")
    filter_lorem_ipsum: bool = Field(True, description="drop pages with 'lorem ipsum' in a kept line")
    filter_curly_bracket: bool = Field(True, description="drop pages with '{' in a kept line")
    # line rules: they decide which lines are kept, so changing them recomputes the signal
    remove_citations: bool = Field(True, description="remove Wikipedia citation marks like [1], [edit]")
    filter_no_terminal_punct: bool = Field(True, description="drop lines not ending in . ? ! \" ' (or ending in ...)")
    min_words_per_line: int = Field(3, description="drop lines with fewer words (-1: off)")
    max_word_length: int = Field(1000, description="drop lines with a longer word (-1: off)")
    filter_javascript: bool = Field(True, description="drop lines mentioning javascript")
    filter_policy: bool = Field(True, description="drop lines with cookie / terms-of-use / privacy-policy phrases")


RULES = (
    Rule("lorem_ipsum", "has_lorem_ipsum", "bool", "a kept line contains 'lorem ipsum'", fails_when_true=True,
         enabled="filter_lorem_ipsum"),
    Rule("curly_bracket", "has_curly_bracket", "bool", "a kept line contains '{'", fails_when_true=True,
         enabled="filter_curly_bracket"),
    Rule("too_few_sentences", "n_sentences", "int", "sentences in the lines C4 keeps", "higher",
         keep_min="min_num_sentences"),
)
EXTRAS = (
    Column("n_lines", "int", "lines in the document (before C4's line rules)"),
    Column("kept_lines", "int", "lines C4 keeps"),
    Column("kept_chars_ratio", "float", "share of the document's characters in the lines C4 keeps", better="higher"),
)


@register
class C4(RuleSignal):
    name = "c4"
    version = "2"
    description = "C4 rules: lines with terminal punctuation and 3+ words; no lorem ipsum, no '{', 5+ sentences"
    reference = "Raffel et al. 2020 (T5/C4), section 2.2; datatrove C4QualityFilter"
    Params = C4Params
    rules = RULES
    columns = rule_columns("c4", RULES, EXTRAS)

    def measure(self, text: str) -> dict[str, Any]:
        p = self.params
        lines = text.splitlines()
        lorem = curly = False
        sentences = kept = kept_chars = 0
        longest = p.max_word_length
        for raw in lines:
            # the line rules only drop lines, so their order does not matter: the cheap ones first
            stripped = raw.strip()
            line = CITATION_REGEX.sub("", stripped) if p.remove_citations and "[" in stripped else stripped
            if p.filter_no_terminal_punct and (not line.endswith(END_PUNCTUATION) or line.endswith(ELLIPSIS)):
                continue
            words = stripped.split()  # the words of the line before citation marks are removed
            if longest != -1 and len(stripped) > longest and words and max(map(len, words)) > longest:
                continue  # (a word that long needs a line longer still: most lines skip the max)
            if len(words) < p.min_words_per_line:
                continue
            low = line.lower()
            if "lorem ipsum" in low:
                lorem = True  # datatrove drops the page here; a disabled rule keeps the line
                if p.filter_lorem_ipsum:
                    continue
            if p.filter_javascript and "javascript" in low:
                continue
            if "{" in line:
                curly = True
                if p.filter_curly_bracket:
                    continue
            if p.filter_policy and any(s in low for s in POLICY_SUBSTRINGS):
                continue
            sentences += count_sentences(line)
            kept += 1
            kept_chars += len(line)
        return {
            "has_lorem_ipsum": lorem, "has_curly_bracket": curly, "n_sentences": sentences,
            "n_lines": len(lines), "kept_lines": kept,
            "kept_chars_ratio": kept_chars / len(text) if text else None,
        }
