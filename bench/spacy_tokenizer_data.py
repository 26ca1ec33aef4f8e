"""Regenerate core/signals/data/spacy_en_tokenizer.json from an installed spaCy (pip install -r requirements-bench.txt).

The heuristic signals tokenize words the way datatrove does for English (spaCy's rule-based
`spacy.blank("en")` tokenizer), without needing spaCy at run time: this script exports spaCy's
English prefix, suffix, infix and URL patterns and its special cases (spaCy is MIT-licensed).
"""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "core" / "signals" / "data" / "spacy_en_tokenizer.json"


def main() -> None:
    import spacy
    from spacy.attrs import ORTH

    tok = spacy.blank("en").tokenizer
    rules = {key: [t[ORTH] for t in value] for key, value in sorted(tok.rules.items())}
    data = {
        "source": f"spaCy {spacy.__version__} English tokenizer (spacy.blank('en')), MIT licence, (c) ExplosionAI GmbH",
        "prefix": tok.prefix_search.__self__.pattern,
        "suffix": tok.suffix_search.__self__.pattern,
        "infix": tok.infix_finditer.__self__.pattern,
        "url": tok.url_match.__self__.pattern if tok.url_match else None,
        "special_cases": rules,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(rules)} special cases)")


if __name__ == "__main__":
    main()
