"""The heuristic signals computed fast give the values of their plain definitions.

`python -m core score` computes the batch signals of one batch size in one pass (each text split into
words once for all of them), the tokenizer skips the regexes a chunk cannot match, and Gopher
repetition counts n-grams for a whole batch at once. These tests hold the results to the plain
per-document code (the definitions as first written, kept here as the reference) on a varied corpus,
and the one pass to the per-signal path, including a killed run that resumes.
"""

from __future__ import annotations

import math
import random
import re
import shutil
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from core.cli import main
from core.errors import Cancelled
from core.signals import get, runner, textutil
from core.signals.c4 import C4
from core.signals.fineweb import FineWeb
from core.signals.gopher_quality import GopherQuality
from core.signals.gopher_repetition import DUP_N, TOP_N, GopherRepetition
from core.signals.runner import run_signal, run_signals
from core.signals.textutil import (
    SENTENCE_PUNCT,
    TERMINAL_PUNCTUATION,
    has_alpha,
    is_punct_token,
    is_symbol,
    ngram_repetition,
)

RULES = ("gopher_quality", "gopher_repetition", "fineweb", "c4")
HOSTILE = [
    "", "   \n\n  ", "word", "Don't stop, Mr. Smith! It's 5km away... U.S. e.g. http://x.com/a. 3.14 #tag :) 10:30am",
    "cannot gonna (hello): [edit] [12] [citation needed] done.", "lorem ipsum dolor sit amet, consectetur.",
    "function f() { return 1; } is code.\nvar x = {a: 1};", "• one\n• two\n- three\n...\nfour…\nfive...",
    "The the the the the the the the the the the the the.\n" * 6, "a b a b a b a b a b a b a b a b a b a b a b a b",
    "x" * 1500 + " is a very long word in a line that ends.", "Price: $5.00, US$10, €3, 20% off; 5+3=8, 7-2 (approx.).",
    "((nested)) [brackets] {braces} <angle> «quotes» „low” ‘single’ “double” ...dots.... —dash– ‐hyphen",
    "Emoji 😀 and symbols ©®° ±×÷ → ⇒ ∑ and CJK 漢字かな and Arabic مرحبا، كيف؟ and Hindi नमस्ते।",
    "She said: \"Stop!\" Then—silence. Why? Because... well! OK?! Yes. No.", "#" * 70 + " " + "=" * 80 + ".",
    "line one.\n\nline one.\n\nline one.\n\nline two!\n\n", "tabs\tand\u00a0non-breaking\u2009spaces.\r\nwindows lines\r\n",
    "e-mail me@example.com or visit www.example.org/path?q=1&r=2 or https://a.b/c_d-e.f#frag.",
    "I'm, you're, he'll, they'd, we've, isn't, won't, ain't, y'all, o'clock, rock'n'roll.",
    "Numbers 1,000,000 and 3.5kg, 10am, 4th, 1990s, 2-3, 1/2, 100km/h, 5°C. 6°F. 3x.",
    ":-) :) ;) :( <3 :D (: ): =) 8) xD :-P ^_^ o.O -_-", "A.B.C. Ph.D. U.K. a.m. p.m. etc. vs. Jan. Feb. St. Dr.",
]


# -- the reference: the per-document definitions as first written -------------------------------------
_PLAIN = textutil._SpacyEnglish(prechecks=False)


def ref_words(text: str) -> list[str]:
    return _PLAIN(text)


def ref_find_duplicates(items: list[str]) -> tuple[int, int]:
    seen: set[str] = set()
    n = chars = 0
    for el in items:
        if el in seen:
            n, chars = n + 1, chars + len(el)
        else:
            seen.add(el)
    return n, chars


def ref_top(words: list[str], n: int) -> int | None:
    if len(words) < n:
        return None
    gram, count = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1)).most_common(1)[0]
    return (sum(map(len, gram)) + n - 1) * count


def ref_all_duplicates(words: list[str], n: int) -> int:
    seen: set[tuple[str, ...]] = set()
    total = idx = 0
    while idx < len(words) - n + 1:
        gram = tuple(words[idx:idx + n])
        if gram in seen:
            total, idx = total + sum(map(len, gram)), idx + n
        else:
            seen.add(gram)
            idx += 1
    return total


def ref_sentences(text: str) -> int:
    tokens = ref_words(text)
    count, seen_end = 1, False
    for tok in tokens:
        if tok in SENTENCE_PUNCT:
            seen_end = True
        elif seen_end and not is_punct_token(tok):
            count, seen_end = count + 1, False
    return count if tokens else 0


def ratio(a, b):
    return a / b if b else None


def ref_gopher_quality(text: str) -> dict:
    words = ref_words(text)
    content = [w for w in words if not is_symbol(w)]
    lines = text.splitlines()
    return {
        "n_words": len(content), "mean_word_length": ratio(sum(len(w) for w in content), len(content)),
        "hash_ratio": ratio(text.count("#"), len(words)),
        "ellipsis_ratio": ratio(text.count("...") + text.count("…"), len(words)),
        "bullet_lines_ratio": ratio(sum(ln.lstrip().startswith(("•", "-")) for ln in lines), len(lines)),
        "ellipsis_lines_ratio": ratio(sum(ln.rstrip().endswith(("...", "…")) for ln in lines), len(lines)),
        "alpha_words_ratio": ratio(sum(has_alpha(w) for w in words), len(words)),
        "stop_words": len({"the", "be", "to", "of", "and", "that", "have", "with"}.intersection(words)),
    }


def ref_gopher_repetition(text: str) -> dict:
    out: dict = {"is_empty": not text}
    if not text:
        return out
    paragraphs = re.split(r"\n{2,}", text.strip())
    lines = re.split(r"\n+", text)
    (dp, dpc), (dl, dlc) = ref_find_duplicates(paragraphs), ref_find_duplicates(lines)
    out.update(dup_para_frac=dp / len(paragraphs), dup_para_char_frac=dpc / len(text),
               dup_line_frac=dl / len(lines), dup_line_char_frac=dlc / len(text))
    words = ref_words(text)
    for n in TOP_N:
        top = ref_top(words, n)
        out[f"top_{n}gram_frac"] = None if top is None else top / len(text)
    for n in DUP_N:
        out[f"dup_{n}gram_frac"] = ref_all_duplicates(words, n) / len(text)
    return out


def ref_fineweb(text: str) -> dict:
    lines = [ln for ln in text.split("\n") if ln.strip() != ""]
    if not lines:
        return {"is_empty": True}
    chars = len(text) - text.count("\n")
    n_words = len(ref_words(text))
    return {
        "is_empty": False, "line_punct_ratio": sum(ln.endswith(TERMINAL_PUNCTUATION) for ln in lines) / len(lines),
        "short_line_ratio": sum(len(ln) <= 30 for ln in lines) / len(lines),
        "char_dup_ratio": ref_find_duplicates(lines)[1] / chars if chars else 0.0,
        "newline_word_ratio": text.count("\n") / n_words if n_words else None,
    }


def ref_c4(text: str, p=None) -> dict:
    p = p or C4.Params()
    lorem = curly = False
    sentences = kept = kept_chars = 0
    lines = text.splitlines()
    for raw in lines:
        line = raw.strip()
        words = line.split()
        if p.max_word_length != -1 and any(len(w) > p.max_word_length for w in words):
            continue
        if p.remove_citations:
            line = re.sub(r"\[\d*]|\[edit]|\[citation needed]", "", line)
        if p.filter_no_terminal_punct and (not line.endswith((".", "?", "!", '"', "'")) or line.endswith("...")):
            continue
        if len(words) < p.min_words_per_line:
            continue
        low = line.lower()
        if "lorem ipsum" in low:
            lorem = True
            if p.filter_lorem_ipsum:
                continue
        if p.filter_javascript and "javascript" in low:
            continue
        if "{" in line:
            curly = True
            if p.filter_curly_bracket:
                continue
        if p.filter_policy and any(s in low for s in ("terms of use", "privacy policy", "cookie policy", "uses cookies",
                                                      "use of cookies", "use cookies")):
            continue
        sentences, kept, kept_chars = sentences + ref_sentences(line), kept + 1, kept_chars + len(line)
    return {"has_lorem_ipsum": lorem, "has_curly_bracket": curly, "n_sentences": sentences, "n_lines": len(lines),
            "kept_lines": kept, "kept_chars_ratio": kept_chars / len(text) if text else None}


REFERENCE = {"gopher_quality": ref_gopher_quality, "gopher_repetition": ref_gopher_repetition,
             "fineweb": ref_fineweb, "c4": ref_c4}


def same(a, b) -> bool:
    missing = lambda v: v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))  # noqa: E731
    if missing(a) or missing(b):
        return missing(a) and missing(b)
    return a == b


@pytest.fixture(scope="module")
def corpus(demo_ws_readonly) -> list[str]:
    """The hostile texts, the demo's first 250 documents, and some made of pieces of both."""
    demo = pq.read_table(sorted(demo_ws_readonly.doc_files())[0], columns=["text"]).column(0).to_pylist()[:250]
    rng = random.Random(7)
    mixed = ["\n".join(rng.sample(HOSTILE + demo[:40], 4)) for _ in range(30)]
    return HOSTILE + [t or "" for t in demo] + mixed


# -- the tests --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", RULES)
def test_rule_signals_measure_what_the_plain_definitions_measure(corpus, name):
    """Every value column, document by document, equals the plain per-document code's."""
    sig = get(name)()
    frame = pd.DataFrame({"id": [f"d{i}" for i in range(len(corpus))], "text": corpus})
    with textutil.shared_words():  # as in the one pass
        got = sig.compute(frame)
    reference = REFERENCE[name]
    for i, text in enumerate(corpus):
        expected = reference(text)
        for col in (c.name for c in sig.columns if c.kind not in ("rule", "reason")):
            assert same(got[col].iloc[i], expected.get(col)), (name, col, i, text[:80], got[col].iloc[i], expected.get(col))


@pytest.mark.parametrize("params", [
    {"remove_citations": False, "filter_no_terminal_punct": False, "min_words_per_line": 1, "max_word_length": 6},
    {"filter_lorem_ipsum": False, "filter_curly_bracket": False, "filter_javascript": False, "filter_policy": False,
     "max_word_length": -1, "min_words_per_line": -1},
])
def test_c4_line_rules_at_other_parameters_measure_what_the_plain_definition_measures(corpus, params):
    sig = get("c4")(params)
    got = sig.compute(pd.DataFrame({"id": [f"d{i}" for i in range(len(corpus))], "text": corpus}))
    for i, text in enumerate(corpus):
        expected = ref_c4(text, sig.params)
        for col, value in expected.items():
            assert same(got[col].iloc[i], value), (params, col, i, text[:80])


def test_tokenizer_skips_only_regexes_that_cannot_match(corpus):
    """split_words with its prechecks gives the plain algorithm's tokens for every chunk: the special cases,
    hostile chunks and every chunk of the corpus (with and without each chunk's last character)."""
    fast = textutil._SpacyEnglish()
    assert fast._plain is not None and all(n.known for n in (fast._prefix_needs, fast._suffix_needs, fast._infix_needs))
    chunks = set(fast.specials) | {c for t in corpus for c in t.split()}
    chunks |= {c[:-1] for c in chunks if len(c) > 1} | {c[1:] for c in chunks if len(c) > 1}
    chunks |= {"x" * 70 + ".", "=" * 90, "a" * 65 + "...", "(" * 5 + "word" + ")" * 5 + ",", "'s", "’S", "5km.", "°C."}
    for chunk in sorted(chunks):
        assert fast.chunk(chunk) == _PLAIN.chunk(chunk), chunk
    for text in corpus:
        assert fast(text) == _PLAIN(text)


def test_ngram_repetition_for_a_batch_equals_the_per_document_walk():
    rng = random.Random(3)
    for _ in range(80):
        docs = []
        for _ in range(rng.randint(1, 25)):
            vocab = [rng.choice(["a", "bb", "ccc", "the", "of", ".", "x" * rng.randint(1, 9)]) for _ in range(rng.randint(1, 6))]
            docs.append([rng.choice(vocab) for _ in range(rng.choice([0, 1, 2, 4, 5, 9, 10, 11, 40, 150]))])
        top, dup = ngram_repetition(docs, (1, 2, 3, 4), (1, 2, 5, 7, 10))
        for i, words in enumerate(docs):
            assert [top[n][i] for n in (1, 2, 3, 4)] == [ref_top(words, n) for n in (1, 2, 3, 4)], words
            assert [dup[n][i] for n in (1, 2, 5, 7, 10)] == [ref_all_duplicates(words, n) for n in (1, 2, 5, 7, 10)], words


def _small_batches(monkeypatch, size: int) -> None:
    for cls in (GopherQuality, GopherRepetition, FineWeb, C4):
        monkeypatch.setattr(cls, "batch_size", size)


def _records(corpus: list[str], n: int = 40) -> list[dict]:
    return [{"id": f"doc{i:03d}", "text": t} for i, t in enumerate(corpus[:n]) if t.strip()]


def test_one_pass_writes_what_each_signal_alone_writes(make_ws, corpus, monkeypatch):
    _small_batches(monkeypatch, 7)
    records = _records(corpus)
    alone, together = make_ws(records, id_field="id"), make_ws(records, id_field="id")
    expected = {name: run_signal(alone, name) for name in (*RULES, "length")}
    stages: list[str] = []
    results = dict(run_signals(together, [(name, None) for name in (*RULES, "length")], stage=stages.append))
    assert list(results) == [*RULES, "length"]
    assert stages == [" + ".join(RULES) + " (4 signals in one pass)", "length (5/5)"]
    for name, res in results.items():
        assert pq.read_table(res.path).equals(pq.read_table(expected[name].path)), name
        assert res.summary == expected[name].summary
        assert res.shared_with == (tuple(n for n in RULES if n != name) if name != "length" else ())
    # up to date now: nothing recomputed, every result skipped
    again = dict(run_signals(together, [(name, None) for name in RULES]))
    assert all(r.skipped for r in again.values())


def test_a_killed_one_pass_resumes_from_each_signals_checkpoints(make_ws, corpus, monkeypatch):
    _small_batches(monkeypatch, 5)
    records = _records(corpus, 32)
    ws, fresh = make_ws(records, id_field="id"), make_ws(records, id_field="id")
    n_batches = math.ceil(len(records) / 5)
    calls: list[tuple[tuple[str, ...], str]] = []
    compute_many = runner._compute_many

    def spy(sigs, batch):
        calls.append((tuple(s.name for s in sigs), batch["id"].iloc[0]))
        return compute_many(sigs, batch)

    monkeypatch.setattr(runner, "_compute_many", spy)

    def cancel_after_two_batches(done, total):
        if done >= 10:
            raise Cancelled()

    with pytest.raises(Cancelled):
        list(run_signals(ws, [(n, None) for n in RULES], progress=cancel_after_two_batches))
    assert len(calls) == 2 and not any(ws.dir("signals").glob("*.parquet"))
    partial = ws.dir("signals") / ".partial"
    for name in RULES:
        assert len(list(partial.glob(f"{name}-*/batch-*.parquet"))) == 2, name
    # lose one signal's first batch: only that signal computes it again
    next(partial.glob("fineweb-*/batch-000000.parquet")).unlink()
    calls.clear()
    results = dict(run_signals(ws, [(n, None) for n in RULES]))
    assert calls[0] == (("fineweb",), records[0]["id"])
    assert [c[0] for c in calls[1:]] == [RULES] * (n_batches - 2)
    assert not any(partial.glob("*/batch-*.parquet"))
    for name in RULES:
        assert pq.read_table(results[name].path).equals(pq.read_table(run_signal(fresh, name).path)), name


def test_score_command_reports_the_one_pass(make_ws, corpus, capsys):
    ws = make_ws(_records(corpus, 12), id_field="id")
    assert main(["score", "-w", str(ws.root), *RULES, "length", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "gopher_quality: computed in" in out and "(one pass with gopher_repetition, fineweb, c4)" in out
    assert "length: computed in" in out and "length: computed in" in out.split("one pass")[-1]
    sidecar = Path(ws.dir("signals")) / "c4.json"
    assert '"computed_with"' in sidecar.read_text()
    shutil.rmtree(ws.dir("signals") / ".partial", ignore_errors=True)


def test_length_counts_lines_as_splitlines_does(corpus):
    texts = [*corpus, "a\r\n", "a\rb\x85", "\u2028", "a\n\nb\x1c", "no break", "a\r\nb\v"]
    got = get("length")().compute(pd.DataFrame({"id": [str(i) for i in range(len(texts))], "text": texts}))
    assert got["n_lines"].tolist() == [len(t.splitlines()) for t in texts]
