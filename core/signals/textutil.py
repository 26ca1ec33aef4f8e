"""Shared text splitting for the heuristic signals: words, lines, paragraphs, n-gram repetition, normalisation.

The published filters are checked against datatrove's implementations (GopherQualityFilter,
GopherRepetitionFilter, FineWebQualityFilter, C4QualityFilter). For English, datatrove splits words
with spaCy's rule-based tokenizer (`spacy.blank("en")`): punctuation marks become their own tokens,
clitics split off ("don't" -> "do", "n't"), abbreviations, numbers and URLs stay whole. `split_words`
runs spaCy's tokenizer algorithm in Python on spaCy's own English rules (exported to
data/spacy_en_tokenizer.json by bench/spacy_tokenizer_data.py), with a per-chunk cache, so spaCy is not
needed at run time and the tokens match spaCy's (bench/heuristics.py measures the agreement).

The n-gram repetition measures are datatrove's definitions, computed for a whole batch of documents
at once on integer word ids (`ngram_repetition`).

The caches here (chunk tokens, token tests, word ids, the shared words of a batch) belong to the
process: signals run in parallel in separate processes (the runner's pool, Ray workers), never in
threads of one process.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import chain

import numpy as np
import pandas as pd

try:  # CPython's regex parser, read by _Needs; without it the tokenizer simply runs every regex
    from re import _constants as _sre
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover - another Python implementation
    _sre = _sre_parse = None

# The punctuation set datatrove uses to tell "symbol" tokens from words (datatrove.utils.text.PUNCTUATION,
# plus the ASCII control characters it appends); a token made only of these characters is a symbol.
PUNCTUATION = "!/—”:％１〈&(、━\\【#%「」，】；+^]~“《„';’{|∶´[=-`*．（–？！：$～«〉,><》)?）。…@_.\"}►»" + "".join(
    map(chr, (x for a, b in ((0, 9), (11, 13), (13, 32), (127, 160)) for x in range(a, b)))
)
# Terminal punctuation of FineWeb's line-punctuation rule: datatrove.utils.text.TERMINAL_PUNCTUATION exactly
# (full stops, question and exclamation marks of every script).
TERMINAL_PUNCTUATION = tuple(
    "!.?\u0589\u061d\u061e\u061f\u06d4\u0700\u0701\u0702\u07f9\u0837\u0839\u083d\u083e\u0964\u0965"
    "\u104a\u104b\u1362\u1367\u1368\u166e\u1735\u1736\u17d4\u17d5\u17d6\u17d9\u17da\u1803\u1809\u1944"
    "\u1945\u1aa8\u1aa9\u1aaa\u1aab\u1b5a\u1b5b\u1b5e\u1b5f\u1b7d\u1b7e\u1c3b\u1c3c\u1c7e\u1c7f\u203c"
    "\u203d\u2047\u2048\u2049\u2e2e\u2e3c\u2e53\u2e54\u3002\ua4ff\ua60e\ua60f\ua6f3\ua6f7\ua876\ua877"
    "\ua8ce\ua8cf\ua92f\ua9c8\ua9c9\uaa5d\uaa5e\uaa5f\uaaf0\uaaf1\uabeb\ufe52\ufe56\ufe57\uff01\uff0e"
    "\uff1f\uff61\U00010a56\U00010a57\U00010f55\U00010f56\U00010f57\U00010f58\U00010f59\U00010f86"
    "\U00010f87\U00010f88\U00010f89\U00011047\U00011048\U000110be\U000110bf\U000110c0\U000110c1"
    "\U00011141\U00011142\U00011143\U000111c5\U000111c6\U000111cd\U000111de\U000111df\U00011238"
    "\U00011239\U0001123b\U0001123c\U000112a9\U0001144b\U0001144c\U000115c2\U000115c3\U000115c9"
    "\U000115ca\U000115cb\U000115cc\U000115cd\U000115ce\U000115cf\U000115d0\U000115d1\U000115d2"
    "\U000115d3\U000115d4\U000115d5\U000115d6\U000115d7\U00011641\U00011642\U0001173c\U0001173d"
    "\U0001173e\U00011944\U00011946\U00011a42\U00011a43\U00011a9b\U00011a9c\U00011c41\U00011c42"
    "\U00011ef7\U00011ef8\U00011f43\U00011f44\U00016a6e\U00016a6f\U00016af5\U00016b37\U00016b38"
    "\U00016b44\U00016e98\U0001bc9f\U0001da88"
)
PUNCTUATION_SET = frozenset(PUNCTUATION) | frozenset(TERMINAL_PUNCTUATION)



def is_symbol(token: str) -> bool:
    """A token made only of punctuation (datatrove's "symbol" words, excluded from the word counts)."""
    return all(ch in PUNCTUATION_SET for ch in token)


def has_alpha(token: str) -> bool:
    return any(ch.isalpha() for ch in token)


class _Memo(dict):
    """key -> fn(key), computed once per distinct key (a token, a chunk): `list(map(M.__getitem__, keys))`
    answers for a whole document in one C loop. Bounded: cleared when it grows past `limit` keys."""

    def __init__(self, fn, limit: int = 300_000) -> None:
        super().__init__()
        self.fn, self.limit = fn, limit

    def __missing__(self, key: str):
        if len(self) >= self.limit:
            self.clear()
        value = self[key] = self.fn(key)
        return value


SYMBOL = _Memo(is_symbol)
ALPHA = _Memo(has_alpha)


def token_flags(test: _Memo, words: Sequence[str]) -> list[bool]:
    """[test(w) for w in words] (SYMBOL or ALPHA), from the cache."""
    return list(map(test.__getitem__, words))


# -- repetition (Gopher, Rae et al. 2021, Table A1; datatrove GopherRepetitionFilter) -------------------
def find_duplicates(items: Sequence[str]) -> tuple[int, int]:
    """(number of elements seen before, characters in them): datatrove's find_duplicates. Every
    occurrence but the first of each distinct element is a duplicate, so both are totals minus the
    distinct elements' totals."""
    distinct = set(items)
    return len(items) - len(distinct), sum(map(len, items)) - sum(map(len, distinct))


class _WordIds(dict):
    """word -> a small integer, shared by all documents (ids only need to be equal for equal words);
    `lengths[id]` is the word's length."""

    def __init__(self) -> None:
        super().__init__()
        self.lengths: list[int] = []

    def __missing__(self, word: str) -> int:
        value = self[word] = len(self)
        self.lengths.append(len(word))
        return value

    def clear(self) -> None:
        super().clear()
        self.lengths.clear()


_WORD_IDS = _WordIds()


def _classes(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(class of each key, numbered in order of first appearance; size of each class)."""
    codes, uniques = pd.factorize(keys)
    return codes, np.bincount(codes, minlength=len(uniques))


def ngram_repetition(docs: Sequence[Sequence[str]], top: Sequence[int], dup: Sequence[int],
                     ) -> tuple[dict[int, list[int | None]], dict[int, list[int]]]:
    """Word n-gram repetition of every document of a batch at once (two n-grams are equal when their
    words are): for each n in `top`, datatrove's find_top_duplicate, the characters of the most
    frequent n-gram (its words plus the n - 1 spaces between them) times its count, the first one
    on ties, or None when the document has fewer than n words; for each n in `dup`, datatrove's
    find_all_duplicate, the characters in n-grams seen before, walking the words and jumping n words
    ahead after each repeat.

    Equal n-grams at level n are found among the positions whose (n-1)-gram occurs twice or more in
    the same document (the "candidates", fewer at every level): their (n-1)-gram class and next word
    are numbered with one hash pass (pd.factorize) for the whole batch; every other position holds
    an n-gram seen once. datatrove's walk only needs the candidates: any other n-gram is new where
    it stands and never seen again."""
    n_docs = len(docs)
    lens = np.fromiter(map(len, docs), dtype=np.int64, count=n_docs)
    n_words = int(lens.sum())
    starts = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(lens, out=starts[1:])
    if len(_WORD_IDS) > 1_000_000:  # bounded; emptied between batches only
        _WORD_IDS.clear()
    ids = np.fromiter(map(_WORD_IDS.__getitem__, chain.from_iterable(docs)), dtype=np.int64, count=n_words)
    chars = np.zeros(n_words + 1, dtype=np.int64)  # characters of the words before each position
    np.cumsum(np.array(_WORD_IDS.lengths, dtype=np.int64)[ids], out=chars[1:])
    doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), lens)
    left = lens[doc_of] - (np.arange(n_words, dtype=np.int64) - starts[doc_of])  # words from here to the end
    base = len(_WORD_IDS) + 1

    cand = np.arange(n_words, dtype=np.int64)  # level 1: every position; a class is a word in a document
    codes, sizes = _classes(doc_of * base + ids)
    top_out: dict[int, list[int | None]] = {}
    dup_out: dict[int, list[int]] = {}
    for n in range(1, max((*top, *dup), default=0) + 1):
        if n > 1 and len(cand):  # the candidates of level n (a subset of level n-1's), then their n-gram class
            keep = (left[cand] >= n) & (sizes[codes] >= 2)
            cand, prev_class = cand[keep], codes[keep]
            codes, sizes = _classes(prev_class * base + ids[cand + n - 1])
        if n in top:
            top_out[n] = _top_duplicate(n, cand, codes, sizes, doc_of, starts, lens, chars)
        if n in dup:
            dup_out[n] = _all_duplicates(n, cand, codes, doc_of, starts, chars, n_docs)
    return top_out, dup_out


def _top_duplicate(n: int, cand: np.ndarray, codes: np.ndarray, sizes: np.ndarray, doc_of: np.ndarray,
                   starts: np.ndarray, lens: np.ndarray, chars: np.ndarray) -> list[int | None]:
    best = np.ones(len(lens), dtype=np.int64)  # a document's n-grams seen once: the first is the top one
    first = starts[:-1].copy()
    if len(cand):
        count = sizes[codes]
        docs = doc_of[cand]
        seg = np.flatnonzero(np.r_[True, docs[1:] != docs[:-1]])
        best[docs[seg]] = np.maximum.reduceat(count, seg)
        hit = np.flatnonzero(count == best[docs])  # Counter.most_common: first inserted among ties
        hit_docs = docs[hit]
        lead = np.flatnonzero(np.r_[True, hit_docs[1:] != hit_docs[:-1]])
        many = best[hit_docs[lead]] > 1
        first[hit_docs[lead][many]] = cand[hit[lead][many]]
    ok = lens >= n
    value = np.zeros(len(lens), dtype=np.int64)
    value[ok] = (chars[first[ok] + n] - chars[first[ok]] + n - 1) * best[ok]
    return [int(v) if k else None for v, k in zip(value.tolist(), ok.tolist(), strict=True)]


def _all_duplicates(n: int, cand: np.ndarray, codes: np.ndarray, doc_of: np.ndarray, starts: np.ndarray,
                    chars: np.ndarray, n_docs: int) -> list[int]:
    out = [0] * n_docs
    if not len(cand):
        return out
    seen_before = np.maximum.accumulate(np.r_[-1, codes[:-1]])
    repeats = cand[codes <= seen_before]  # positions whose n-gram occurred earlier (codes: first-appearance order)
    if not len(repeats):
        return out
    bounds = np.searchsorted(cand, starts).tolist()
    pos, cls = cand.tolist(), codes.tolist()
    gram_chars = (chars[cand + n] - chars[cand]).tolist()
    for d in np.unique(doc_of[repeats]).tolist():
        seen: set[int] = set()
        total, resume = 0, -1
        for k in range(bounds[d], bounds[d + 1]):  # datatrove's walk, over the only positions that matter
            if pos[k] < resume:
                continue  # inside the n words after a repeat: not visited
            if cls[k] in seen:
                total += gram_chars[k]
                resume = pos[k] + n
            else:
                seen.add(cls[k])
        out[d] = total
    return out


def ratio(num: float, den: float) -> float | None:
    """num / den, or None when the denominator is zero (a rule that does not apply)."""
    return num / den if den else None


# -- sentences (datatrove splits C4 lines into sentences with spaCy's rule-based "sentencizer") ------------
SENTENCE_PUNCT = frozenset(
    "!.?։؟۔܀܁܂߹।॥၊။።፧፨᙮᜵᜶᠃᠉᥄᥅᪨᪩᪪᪫᭚᭛᭞᭟᰻᰼᱾᱿‼‽⁇⁈⁉⸮⸼꓿꘎꘏꛳꛷꡶꡷꣎꣏꤯꧈꧉꩝꩞꩟꫰꫱꯫﹒﹖﹗！．？"
    "𐩖𐩗𑁇𑁈𑂾𑂿𑃀𑃁𑅁𑅂𑅃𑇅𑇆𑇍𑇞𑇟𑈸𑈹𑈻𑈼𑊩𑑋𑑌𑗂𑗃𑗉𑗊𑗋𑗌𑗍𑗎𑗏𑗐𑗑𑗒𑗓𑗔𑗕𑗖𑗗𑙁𑙂𑜼𑜽𑜾𑩂𑩃𑪛𑪜𑱁𑱂𖩮𖩯𖫵𖬷𖬸𖭄𛲟𝪈｡。"
)


def is_punct_token(token: str) -> bool:
    """spaCy's Token.is_punct: every character is Unicode punctuation (category P*)."""
    return bool(token) and all(unicodedata.category(ch).startswith("P") for ch in token)


def count_sentences(text: str) -> int:
    """Sentences as spaCy's sentencizer finds them: a new one starts at the first token that is not
    punctuation after a sentence-final mark ('.', '!', '?' and their equivalents in other scripts).

    The tokens of a text are its whitespace chunks' tokens one after the other, so the count is
    composed chunk by chunk from each chunk's cached effect (`_sentence_steps`)."""
    count, seen_end, n_tokens = 1, False, 0
    for after_end, end_after_end, fresh, end_fresh, n in map(_SENTENCE_STEPS.__getitem__, text.split()):
        n_tokens += n
        if seen_end:
            count, seen_end = count + after_end, end_after_end
        else:
            count, seen_end = count + fresh, end_fresh
    return count if n_tokens else 0


def _sentence_step(tokens: Sequence[str], seen_end: bool) -> tuple[int, bool]:
    """(sentences started, whether a sentence end is pending after them) along these tokens."""
    count = 0
    for tok in tokens:
        if tok in SENTENCE_PUNCT:
            seen_end = True
        elif seen_end and not is_punct_token(tok):
            count += 1
            seen_end = False
    return count, seen_end


def _sentence_steps(chunk: str) -> tuple[int, bool, int, bool, int]:
    """A chunk's (sentences it starts and whether an end is pending after it, when an end was pending
    before it; the same when none was; its number of tokens)."""
    tokens = _tokenizer()(chunk)
    return (*_sentence_step(tokens, True), *_sentence_step(tokens, False), len(tokens))


_SENTENCE_STEPS = _Memo(_sentence_steps)


# -- spaCy's English tokenizer, re-implemented (datatrove's word splitter for English) -------------------
class _Needs:
    """What a string must contain for a regex to match in it, read from the regex's syntax tree, so that
    the tokenizer skips a search that cannot succeed (most chunks are plain words: no prefix, suffix or
    infix applies) and knows the answer without a search when it can only be one character (a comma).

    For each alternative of the pattern it records the characters its match can start with (`edge=
    "first"`: every alternative anchored with ^) or end with (`edge="last"`: every alternative anchored
    with $), and sets of characters of which the string must hold one (what the match consumes first
    and last, what each lookahead or lookbehind looks for). Anything the analysis does not follow (a
    negated class, a category, a flag, a match that may be empty, an unanchored alternative) leaves
    the decision to the regex, so the answers are exact."""

    _ZERO_WIDTH = (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT) if _sre else ()
    _ANCHOR = {"first": (_sre.AT_BEGINNING, _sre.AT_BEGINNING_STRING),
               "last": (_sre.AT_END, _sre.AT_END_STRING)} if _sre else {}

    def __init__(self, pattern: str, edge: str | None, analyse: bool = True) -> None:
        self.edge = edge
        self.known = False  # False: the analysis did not apply, every question goes to the regex
        self.groups: list[tuple[frozenset[str], ...]] = []  # the need sets of each alternative (deduplicated)
        self.trigger: frozenset[str] = frozenset()  # every match holds one of these characters
        self.by_edge: dict[str, list[tuple[frozenset[str], ...]]] = {}  # edge character -> need sets
        self.single: frozenset[str] = frozenset()  # edge characters whose match is exactly that character
        if not analyse or _sre_parse is None:
            return
        try:
            alts = [self._alternative(tree, alt) for tree in [_sre_parse.parse(pattern)]
                    for alt in self._alternatives(tree)]
        except Exception:  # noqa: BLE001 - something the analysis does not follow: the regex decides everything
            return
        for edge_chars, needs, _, _ in alts:
            if needs not in self.groups:
                self.groups.append(needs)
            self.trigger |= min([*needs, *([edge_chars] if edge_chars else [])], key=len)
            for ch in edge_chars or ():
                if needs not in self.by_edge.setdefault(ch, []):
                    self.by_edge[ch].append(needs)
        if edge is not None:
            sure = frozenset().union(*(e for e, needs, width, plain in alts if plain and width == 1))
            wider = frozenset().union(*(e for e, needs, width, plain in alts if width != 1))
            self.single = sure - wider
        self.known = True

    def may_match(self, string: str) -> bool:
        """False when no alternative can match in `string` (non-empty, without a final newline)."""
        if not self.known:
            return True
        if self.trigger.isdisjoint(string):
            return False
        if self.edge is None:
            candidates = self.groups
        else:
            candidates = self.by_edge.get(string[0] if self.edge == "first" else string[-1], ())
        for needs in candidates:
            for n in needs:
                if n.isdisjoint(string):
                    break
            else:
                return True
        return False

    def known_length(self, string: str) -> int | None:
        """For an anchored pattern: the match's length when it is known without the regex (0: none)."""
        if not self.known or not string or string[-1] == "\n":  # `$` also matches before a final newline
            return None
        if (string[0] if self.edge == "first" else string[-1]) in self.single:
            return 1
        return None if self.may_match(string) else 0

    @classmethod
    def _alternatives(cls, tree: _sre_parse.SubPattern) -> list[list]:
        """The top-level alternatives, each with the zero-width items around the alternation (^, $)."""
        if tree.state.flags & (re.IGNORECASE | re.LOCALE | re.MULTILINE):
            raise ValueError("flags")
        seq = list(tree)
        branches = [i for i, (op, _) in enumerate(seq) if op is _sre.BRANCH]
        if len(branches) == 1 and all(op in cls._ZERO_WIDTH for j, (op, _) in enumerate(seq) if j != branches[0]):
            i = branches[0]
            return [seq[:i] + list(b) + seq[i + 1:] for b in seq[i][1][1]]
        return [seq]

    def _alternative(self, tree: _sre_parse.SubPattern, alt: list) -> tuple:
        """(edge characters, need sets, maximum width, whether it is one unconditional character)."""
        if self.edge is not None:
            end = alt[0] if self.edge == "first" else alt[-1]
            if end[0] is not _sre.AT or end[1] not in self._ANCHOR[self.edge]:
                raise ValueError("an alternative is not anchored")
        first, last = self._ends(alt, False), self._ends(alt, True)
        needs = {first, last}
        for op, av in alt:
            if op is _sre.ASSERT:  # a lookahead or lookbehind reads characters of the same string
                chars = self._ends(list(av[1]), False)
                if chars is not None:
                    needs.add(chars)
        edge_chars = first if self.edge == "first" else last if self.edge == "last" else None
        kept: list[frozenset[str]] = []
        for n in sorted(needs, key=len):
            if not (edge_chars is not None and edge_chars <= n) and not any(k <= n for k in kept):
                kept.append(n)  # a set implied by the edge character or by a smaller set is left out
        consumed = [op for op, _ in alt if op is not _sre.AT]
        plain = len(consumed) == 1 and consumed[0] in (_sre.LITERAL, _sre.IN)
        width = _sre_parse.SubPattern(tree.state, alt).getwidth()[1]
        return edge_chars, tuple(kept), width, plain

    @classmethod
    def _ends(cls, seq: list, last: bool) -> frozenset[str]:
        """Characters a match of seq can start (or end) with."""
        out: set[str] = set()
        for op, av in reversed(seq) if last else seq:
            if op in cls._ZERO_WIDTH:
                continue
            if op is _sre.LITERAL:
                chars, may_skip = frozenset(chr(av)), False
            elif op is _sre.IN:
                chars, may_skip = cls._charset(av), False
            elif op is _sre.SUBPATTERN and not (av[1] or av[2]):  # a group without local flags
                chars, may_skip = cls._ends(list(av[3]), last), False
            elif op is _sre.BRANCH:
                chars, may_skip = frozenset().union(*(cls._ends(list(b), last) for b in av[1])), False
            elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
                chars, may_skip = cls._ends(list(av[2]), last), av[0] == 0
            else:
                raise ValueError(f"unfollowed regex item {op}")
            out |= chars
            if not may_skip:
                return frozenset(out)
        raise ValueError("the match may be empty")

    @staticmethod
    def _charset(items: list) -> frozenset[str]:
        out: set[str] = set()
        for op, av in items:
            if op is _sre.LITERAL:
                out.add(chr(av))
            elif op is _sre.RANGE:
                out.update(map(chr, range(av[0], av[1] + 1)))
            else:  # NEGATE, CATEGORY: not a list of characters
                raise ValueError(f"unfollowed character class item {op}")
        return frozenset(out)


class _SpacyEnglish:
    """spaCy's tokenizer algorithm (spacy/tokenizer.pyx) with the English rules exported to
    data/spacy_en_tokenizer.json: split on whitespace; look a chunk up in the special cases; else peel
    prefixes and suffixes (stopping at a special case), then split the rest at infixes unless it is
    a URL. Results per chunk are cached, as spaCy does."""

    def __init__(self, prechecks: bool = True) -> None:
        """prechecks=False runs every regex on every chunk (the plain algorithm, for tests to compare)."""
        import json
        from pathlib import Path

        data = json.loads((Path(__file__).parent / "data" / "spacy_en_tokenizer.json").read_text(encoding="utf-8"))
        self.prefix = re.compile(data["prefix"]).match  # every alternative is anchored with ^
        self._suffix = re.compile(data["suffix"]).search
        self.infix = re.compile(data["infix"]).finditer
        self.url = re.compile(data["url"]).match if data.get("url") else None
        self.specials: dict[str, list[str]] = {k: v for k, v in data["special_cases"].items() if k.strip()}
        self.cache: dict[str, list[str]] = {}
        self._patterns: dict[tuple[str, ...], str] | None = None
        self._pattern_lengths: list[int] = []
        self._pattern_starts: frozenset[tuple[str, ...]] = frozenset()
        # Which characters a match of each pattern needs (see _Needs): a chunk without them skips the regex.
        self._prefix_needs = _Needs(data["prefix"], "first", prechecks)
        self._suffix_needs = _Needs(data["suffix"], "last", prechecks)
        self._infix_needs = _Needs(data["infix"], None, prechecks)
        needs = (self._prefix_needs, self._suffix_needs, self._infix_needs)
        self._plain = frozenset().union(*(n.trigger for n in needs)) if all(n.known for n in needs) else None

    def prefix_len(self, string: str) -> int:
        """Length of the prefix spaCy splits off `string` (0: none)."""
        n = self._prefix_needs.known_length(string)
        if n is None:
            m = self.prefix(string)
            n = m.end() - m.start() if m else 0
        return n

    def suffix_len(self, string: str) -> int:
        """Length of the suffix spaCy splits off `string` (0: none). Every alternative ends with $, so
        the pattern is searched in the last 64 characters only: searching a long chunk whole costs
        O(length) per peeled suffix, O(length^2) for a run of "=====". Suffixes are at most a few
        characters long, except runs of dots (`\\.\\.+$`), which are searched in full."""
        n = self._suffix_needs.known_length(string)
        if n is not None:
            return n
        if len(string) <= 64 or string.endswith(".."):
            m = self._suffix(string)
        else:
            m = self._suffix(string, len(string) - 64)
            m = m if m is None or m.start() > len(string) - 64 else self._suffix(string)
        return m.end() - m.start() if m else 0

    def __call__(self, text: str) -> list[str]:
        out: list[str] = []
        cache = self.cache
        for chunk in text.split():
            toks = cache.get(chunk)
            if toks is None:
                toks = self.chunk(chunk)
                if len(cache) > 500_000:
                    cache.clear()
                cache[chunk] = toks
            out.extend(toks)
        return out

    def chunk(self, string: str, with_specials: bool = True) -> list[str]:
        specials = self.specials if with_specials else {}
        if string in specials:
            return list(specials[string])
        if self._plain is not None and self._plain.isdisjoint(string):
            return [string]  # no prefix, suffix or infix can match (a plain word): spaCy keeps it whole
        prefixes: list[str] = []
        suffixes: list[str] = []
        last = -1
        while string and len(string) != last:
            if string in specials:
                break
            last = len(string)
            pre_len = self.prefix_len(string)
            if pre_len:
                prefix, minus_pre = string[:pre_len], string[pre_len:]
                if minus_pre and minus_pre in specials:
                    string = minus_pre
                    prefixes.append(prefix)
                    break
            suf_len = self.suffix_len(string[pre_len:])
            if suf_len:
                suffix, minus_suf = string[-suf_len:], string[:-suf_len]
                if minus_suf and minus_suf in specials:
                    string = minus_suf
                    suffixes.append(suffix)
                    break
            if pre_len and suf_len and pre_len + suf_len <= len(string):
                string = string[pre_len:-suf_len]
                prefixes.append(prefix)
                suffixes.append(suffix)
            elif pre_len:
                string = minus_pre
                prefixes.append(prefix)
            elif suf_len:
                string = minus_suf
                suffixes.append(suffix)
            if string and string in specials:
                break
        tokens = prefixes
        if string:
            if string in specials:
                tokens.extend(specials[string])
            elif not self._infix_needs.may_match(string):
                tokens.append(string)  # no infix can split it: whole, whether or not it is a URL
            elif self.url is not None and self.url(string):
                tokens.append(string)
            else:
                start = 0
                for m in self.infix(string):
                    s, e = m.start(), m.end()
                    if s == 0:
                        continue
                    if s != start:
                        tokens.append(string[start:s])
                    if s != e:
                        tokens.append(string[s:e])
                    start = e
                if string[start:]:
                    tokens.append(string[start:])
        tokens.extend(reversed(suffixes))
        if with_specials and len(tokens) > 1:
            tokens = self._merge_specials(tokens)
        return [t for t in tokens if t.strip()]

    def _merge_specials(self, tokens: list[str]) -> list[str]:
        """spaCy's final pass: special cases that the affix rules split (emoticons like "):") are put
        back where their pieces follow each other; longest match first, non-overlapping."""
        if self._patterns is None:
            self._patterns = {}
            for key in self.specials:
                pieces = tuple(self.chunk(key, with_specials=False))
                if len(pieces) > 1:
                    self._patterns[pieces] = key
            self._pattern_lengths = sorted({len(p) for p in self._patterns}, reverse=True)
            self._pattern_starts = frozenset(p[:2] for p in self._patterns)
        if self._pattern_starts.isdisjoint(zip(tokens, tokens[1:], strict=False)):  # no first two pieces of one
            return tokens
        matches = []
        for i in range(len(tokens)):
            for n in self._pattern_lengths:
                key = self._patterns.get(tuple(tokens[i:i + n])) if i + n <= len(tokens) else None
                if key is not None:
                    matches.append((n, i, key))
        if not matches:
            return tokens
        seen: set[int] = set()
        chosen = []
        for n, i, key in sorted(matches, key=lambda m: (m[0], m[1]), reverse=True):
            if i not in seen and i + n - 1 not in seen:
                chosen.append((i, n, key))
            seen.update(range(i, i + n))
        out, pos = [], 0
        for i, n, key in sorted(chosen):
            out += tokens[pos:i] + list(self.specials[key])
            pos = i + n
        return out + tokens[pos:]


_spacy_en: _SpacyEnglish | None = None
_shared: dict[str, list[str]] | None = None  # text -> words, while several signals measure one batch


def _tokenizer() -> _SpacyEnglish:
    global _spacy_en
    if _spacy_en is None:
        _spacy_en = _SpacyEnglish()
    return _spacy_en


def split_words(text: str) -> list[str]:
    """Word tokens as datatrove gives them for English: spaCy's rule-based tokenizer (punctuation marks
    are tokens, "don't" is "do" + "n't", "U.S." and URLs stay whole), whitespace tokens dropped.
    Inside `shared_words()` a text is split once and the same list is returned again: do not modify it."""
    if _shared is None:
        return _tokenizer()(text)
    words = _shared.get(text)
    if words is None:
        words = _shared[text] = _tokenizer()(text)
    return words


@contextmanager
def shared_words() -> Iterator[None]:
    """While several signals measure the same batch of texts (the runner's one pass), each text is split
    into words once and the words are shared between them, as datatrove's pipeline caches its split."""
    global _shared
    previous, _shared = _shared, {}
    try:
        yield
    finally:
        _shared = previous
