"""One pass over the bytes of an Arrow string column: words per text, the longest text, any NUL byte.

Ingest needs these three facts for every document. Reading Arrow's buffers with a compiled loop
(numba, already installed for UMAP) costs about 0.4 s of CPU per 600 MB, where the numpy
version (boolean arrays the size of the text, then `reduceat`) took 1.8 s of CPU: at a million
documents that was a fifth of the whole ingest.

A word is a maximal run of bytes other than ASCII whitespace and control characters (bytes <= 0x20):
for ordinary text what `len(text.split())` gives (Python also splits at Unicode spaces such as
U+00A0, which are rare; ingest double-checks the few texts with at most one word in Python).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa

_KERNEL = None
ROWS_PER_TASK = 65_536  # texts per call of the compiled loop; calls run on a thread per core


def _kernel():
    """The compiled loop (compiled once per machine: numba caches it next to this module). It releases
    the GIL, so threads scan different rows at once; numba's own `parallel=True` cost more in thread
    start-ups than it saved on Arrow's many small chunks."""
    global _KERNEL
    if _KERNEL is None:
        from numba import njit

        @njit(cache=True, nogil=True)
        def scan(data, offsets, lo, hi, words, nul):  # pragma: no cover - compiled
            for i in range(lo, hi):
                count, space, has_nul = 0, True, False
                for j in range(offsets[i], offsets[i + 1]):
                    byte = data[j]
                    if byte <= 32:
                        space = True
                        has_nul |= byte == 0
                    else:
                        count += space
                        space = False
                words[i] = count
                nul[i] = has_nul

        _KERNEL = scan
    return _KERNEL


def scan_texts(texts: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, int, bool]:
    """(words per text, the longest text in bytes, whether any text holds a NUL), without copying the
    text bytes (string or large_string, any offset, any number of chunks)."""
    chunks = texts.chunks if isinstance(texts, pa.ChunkedArray) else [texts]
    n = sum(len(c) for c in chunks)
    words = np.zeros(n, dtype=np.int64)
    nul = np.zeros(n, dtype=np.bool_)
    longest = 0
    tasks = []
    start = 0
    for chunk in chunks:
        if len(chunk) and not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            chunk = chunk.cast(pa.large_string())
        if len(chunk):
            width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
            offsets = np.frombuffer(chunk.buffers()[1], dtype=width)[chunk.offset:chunk.offset + len(chunk) + 1]
            if offsets[-1] > offsets[0]:
                longest = max(longest, int(np.diff(offsets).max()))
                data = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)
                offsets = offsets.astype(np.int64)
                out = (words[start:start + len(chunk)], nul[start:start + len(chunk)])
                tasks += [(data, offsets, lo, min(lo + ROWS_PER_TASK, len(chunk)), *out)
                          for lo in range(0, len(chunk), ROWS_PER_TASK)]
        start += len(chunk)
    if tasks:
        kernel = _kernel()
        if len(tasks) == 1:
            kernel(*tasks[0])
        else:
            with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
                list(pool.map(lambda task: kernel(*task), tasks))
    # a null text reads as empty here (its offsets are equal): the callers refuse nulls beforehand
    return words, longest, bool(nul.any())


def word_counts(texts: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Words per text (see the module's docstring for what a word is)."""
    return scan_texts(texts)[0]
