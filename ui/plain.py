"""Corpus values (ids, sources, labels) shown in places Streamlit reads as Markdown (titles, metrics)."""

from __future__ import annotations

import re

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:&])")


def plain_md(value: object) -> str:
    """`value` as text with every Markdown/HTML/LaTeX character backslash-escaped, so it shows literally:
    a label `![x](http://...)` stays those characters instead of becoming an image."""
    return _MARKDOWN.sub(r"\\\1", str(value))
