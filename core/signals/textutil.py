"""Shared text splitting for the heuristic signals: words, lines, paragraphs, n-gram repetition, normalisation.

The published filters are checked against datatrove's implementations (GopherQualityFilter,
GopherRepetitionFilter, FineWebQualityFilter, C4QualityFilter). For English, datatrove splits words
with spaCy's rule-based tokenizer (`spacy.blank("en")`): punctuation marks become their own tokens,
clitics split off ("don't" -> "do", "n't"), abbreviations, numbers and URLs stay whole. `split_words`
runs spaCy's tokenizer algorithm in Python on spaCy's own English rules (exported to
data/spacy_en_tokenizer.json by bench/spacy_tokenizer_data.py), with a per-chunk cache, so spaCy is not
needed at run time and the tokens match spaCy's (bench/heuristics.py measures the agreement).

The n-gram repetition measures are datatrove's definitions, computed on integer word ids with numpy
so that a document without repeats costs one `np.unique`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np

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


# -- repetition (Gopher, Rae et al. 2021, Table A1; datatrove GopherRepetitionFilter) -------------------
def find_duplicates(items: Sequence[str]) -> tuple[int, int]:
    """(number of elements seen before, characters in them): datatrove's find_duplicates."""
    seen: set[str] = set()
    dup_elements = dup_chars = 0
    for el in items:
        if el in seen:
            dup_elements += 1
            dup_chars += len(el)
        else:
            seen.add(el)
    return dup_elements, dup_chars


class NgramIndex:
    """Words as integer ids plus their lengths, to measure n-gram repetition without building strings."""

    def __init__(self, words: Sequence[str]) -> None:
        self.n = len(words)
        vocab: dict[str, int] = {}
        self.ids = np.fromiter((vocab.setdefault(w, len(vocab)) for w in words), dtype=np.int64, count=self.n)
        self.lens = np.fromiter((len(w) for w in words), dtype=np.int64, count=self.n)
        self.vocab_size = max(len(vocab), 1)
        self._cache: dict[int, np.ndarray] = {}
        self._distinct: dict[int, bool] = {1: len(vocab) == self.n}

    def distinct(self, n: int) -> bool:
        """True when no n-gram occurs twice (then no longer n-gram does either)."""
        self.gram_ids(n)
        return self._distinct[n]

    def gram_ids(self, n: int) -> np.ndarray:
        """One integer per n-gram position: equal n-grams get equal ids."""
        if n in self._cache:
            return self._cache[n]
        m = self.n - n + 1
        if m <= 0:
            out, distinct = np.empty(0, dtype=np.int64), True
        elif n == 1:
            out, distinct = self.ids, self._distinct[1]
        else:
            prev = self.gram_ids(n - 1)[:m]
            if self._distinct[n - 1]:  # distinct prefixes: every n-gram is new, no need to compare
                out, distinct = np.arange(m, dtype=np.int64), True
            else:
                # Pairwise-combine ids of (n-1)-grams and the next word; re-number with np.unique to stay in int64.
                pair = prev * self.vocab_size + self.ids[n - 1 : n - 1 + m]
                uniq, out = np.unique(pair, return_inverse=True)
                out, distinct = out.astype(np.int64), len(uniq) == m
        self._cache[n] = out
        self._distinct[n] = distinct
        return out

    def gram_chars(self, n: int) -> np.ndarray:
        """Characters of each n-gram's words (without separators)."""
        m = self.n - n + 1
        if m <= 0:
            return np.empty(0, dtype=np.int64)
        c = np.concatenate([[0], np.cumsum(self.lens)])
        return c[n : n + m] - c[:m]

    def top_ngram_chars(self, n: int) -> int:
        """datatrove find_top_duplicate: len(" ".join(most common n-gram)) * its count (first on ties)."""
        g = self.gram_ids(n)
        if len(g) == 0:
            return 0
        if self._distinct[n]:  # every n-gram once: the first one is the "most common"
            return int(self.gram_chars(n)[0]) + (n - 1)
        counts = np.bincount(g)
        best = int(counts.max())
        first_pos = np.flatnonzero(counts[g] == best)[0]  # Counter.most_common: first inserted among ties
        length = int(self.gram_chars(n)[first_pos]) + (n - 1)
        return length * best

    def duplicated_ngram_chars(self, n: int) -> int:
        """datatrove find_all_duplicate: characters in repeated n-grams, skipping ahead n words after a repeat."""
        g = self.gram_ids(n)
        m = len(g)
        if m == 0 or self._distinct[n]:
            return 0
        chars = self.gram_chars(n)
        # Before the first position whose n-gram occurred earlier, every n-gram is simply added to the set.
        _, first_idx = np.unique(g, return_index=True)
        repeat_pos = np.ones(m, dtype=bool)
        repeat_pos[first_idx] = False
        start = int(np.argmax(repeat_pos))
        seen = set(g[:start].tolist())
        gl = g.tolist()
        cl = chars.tolist()
        total, idx = 0, start
        while idx < m:
            v = gl[idx]
            if v in seen:
                total += cl[idx]
                idx += n
            else:
                seen.add(v)
                idx += 1
        return total


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
    punctuation after a sentence-final mark ('.', '!', '?' and their equivalents in other scripts)."""
    tokens = split_words(text)
    if not tokens:
        return 0
    count, seen_end = 1, False
    for tok in tokens:
        if tok in SENTENCE_PUNCT:
            seen_end = True
        elif seen_end and not is_punct_token(tok):
            count += 1
            seen_end = False
    return count


# -- spaCy's English tokenizer, re-implemented (datatrove's word splitter for English) -------------------
class _SpacyEnglish:
    """spaCy's tokenizer algorithm (spacy/tokenizer.pyx) with the English rules exported to
    data/spacy_en_tokenizer.json: split on whitespace; look a chunk up in the special cases; else peel
    prefixes and suffixes (stopping at a special case), then split the rest at infixes unless it is
    a URL. Results per chunk are cached, as spaCy does."""

    def __init__(self) -> None:
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

    def suffix(self, string: str) -> re.Match | None:
        """The suffix pattern (every alternative ends with $), searched in the last 64 characters only:
        searching a long chunk whole costs O(length) per peeled suffix, O(length^2) for a run of
        "=====". Suffixes are at most a few characters long, except runs of dots (`\\.\\.+$`), which
        are searched in full."""
        if len(string) <= 64 or string.endswith(".."):
            return self._suffix(string)
        m = self._suffix(string, len(string) - 64)
        return m if m is None or m.start() > len(string) - 64 else self._suffix(string)

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
        prefixes: list[str] = []
        suffixes: list[str] = []
        last = -1
        while string and len(string) != last:
            if string in specials:
                break
            last = len(string)
            m = self.prefix(string)
            pre_len = m.end() - m.start() if m else 0
            if pre_len:
                prefix, minus_pre = string[:pre_len], string[pre_len:]
                if minus_pre and minus_pre in specials:
                    string = minus_pre
                    prefixes.append(prefix)
                    break
            m = self.suffix(string[pre_len:])
            suf_len = m.end() - m.start() if m else 0
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


def split_words(text: str) -> list[str]:
    """Word tokens as datatrove gives them for English: spaCy's rule-based tokenizer (punctuation marks
    are tokens, "don't" is "do" + "n't", "U.S." and URLs stay whole), whitespace tokens dropped."""
    global _spacy_en
    if _spacy_en is None:
        _spacy_en = _SpacyEnglish()
    return _spacy_en(text)
