"""A byte-level look at a JSON Lines file before DuckDB reads it column-wise.

DuckDB's `read_json` with declared columns parses a million lines in about a second, but it is
lenient where ingest must not be: a key it was not told about is silently dropped (its value would
never reach `meta`), a number or an object in a VARCHAR column becomes its JSON text (`123`), and a
blank line vanishes (every later row number, and so every id made from one, would shift). This scan
finds those cases in the raw bytes (a compiled loop over a memory map, about 0.3 s of CPU per
600 MB), so that the column-wise path is only taken when it gives exactly what the row-by-row
reader would. It does not validate JSON: DuckDB does, and any error there sends the file row by row.

For each line it checks: an object, alone on its line; every top-level key among the known ones
(written without escapes); the value of a `KIND_STRING` key a string, of a `KIND_ID` key a string,
an integer or null; the text key present.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

KIND_ANY, KIND_STRING, KIND_ID = 0, 1, 2  # what a key's value may be: anything; a string; a string, integer or null
# what a line can be found to be (the first one found ends the scan of its piece)
OK = 0
BLANK = 1  # only whitespace
NOT_OBJECT = 2  # not one JSON object alone on its line (or not JSON: DuckDB would refuse it too)
UNKNOWN_KEY = 3  # a top-level key not among the known ones
ODD_KEY = 4  # a key written with escapes
WRONG_TYPE = 5  # a value of a type its key's kind does not allow
NO_TEXT = 6  # no text key
TASK_BYTES = 8 << 20  # lines are checked in pieces of about this size, a thread per core
MAX_NEW_KEYS = 64  # beyond this many keys unseen in the first rows, the file goes row by row

_KERNEL = None


@dataclass
class Check:
    """What the scan found: `lines` counted, or the first `problem` (a status above) and its byte."""

    lines: int = 0
    problem: int = OK
    at: int = -1
    new_keys: list[str] = field(default_factory=list)  # keys found after the first rows


def _kernel():
    global _KERNEL
    if _KERNEL is None:
        from numba import njit

        @njit(cache=True, nogil=True, inline="always")
        def skip_space(buf, i, hi):  # pragma: no cover - compiled
            """The first position from i that is not a space, tab or carriage return (hi at the most)."""
            while i < hi and (buf[i] == 32 or buf[i] == 9 or buf[i] == 13):
                i += 1
            return i

        @njit(cache=True, nogil=True, inline="always")
        def skip_string(buf, i, hi):  # pragma: no cover - compiled
            """Just past the string whose opening quote is at i. A raw line break inside is invalid JSON,
            which DuckDB refuses; here the loop only needs to stay in bounds."""
            i += 1
            while i < hi:
                d = buf[i]
                if d == 34:  # "
                    return i + 1
                i += 2 if d == 92 else 1  # a backslash escapes the next byte
            return i

        @njit(cache=True, nogil=True, inline="always")
        def skip_nested(buf, i, hi):  # pragma: no cover - compiled
            """Just past the object or array opening at i (-1 if a line break comes first)."""
            depth = 0
            while i < hi:
                d = buf[i]
                if d == 34:
                    i = skip_string(buf, i, hi)
                    continue
                if d == 123 or d == 91:  # { [
                    depth += 1
                elif d == 125 or d == 93:  # } ]
                    depth -= 1
                    if depth == 0:
                        return i + 1
                elif d == 10:
                    return -1
                i += 1
            return i

        @njit(cache=True, nogil=True, inline="always")
        def known_key(buf, start, end, names, name_starts):  # pragma: no cover - compiled
            """The index of the known key spelled by buf[start:end], or -1."""
            for k in range(len(name_starts) - 1):
                a, b = name_starts[k], name_starts[k + 1]
                if b - a != end - start:
                    continue
                m = 0
                while m < b - a and names[a + m] == buf[start + m]:
                    m += 1
                if m == b - a:
                    return k
            return -1

        @njit(cache=True, nogil=True)
        def check(buf, lo, hi, names, name_starts, kinds, text_key):  # pragma: no cover - compiled
            """(status, byte, lines, unknown key start, unknown key end) for the lines in buf[lo:hi]."""
            i, lines = lo, 0
            while i < hi:
                line_start = i
                i = skip_space(buf, i, hi)
                if i >= hi or buf[i] == 10:
                    return BLANK, line_start, lines, -1, -1
                if buf[i] != 123:  # {
                    return NOT_OBJECT, line_start, lines, -1, -1
                i = skip_space(buf, i + 1, hi)
                seen_text = False
                if i < hi and buf[i] == 125:  # }: an empty object
                    i += 1
                else:
                    while True:  # one "key": value per turn
                        if i >= hi or buf[i] != 34:
                            return NOT_OBJECT, line_start, lines, -1, -1
                        key_start = i + 1
                        i = key_start
                        while i < hi and buf[i] != 34:
                            if buf[i] == 92 or buf[i] == 10:  # an escaped key, or a broken line
                                return ODD_KEY, line_start, lines, -1, -1
                            i += 1
                        key_end = i
                        i = skip_space(buf, i + 1, hi)
                        if i >= hi or buf[i] != 58:  # :
                            return NOT_OBJECT, line_start, lines, -1, -1
                        i = skip_space(buf, i + 1, hi)
                        if i >= hi:
                            return NOT_OBJECT, line_start, lines, -1, -1
                        which = known_key(buf, key_start, key_end, names, name_starts)
                        if which < 0:
                            return UNKNOWN_KEY, line_start, lines, key_start, key_end
                        seen_text |= which == text_key
                        kind, c = kinds[which], buf[i]
                        if kind == KIND_STRING and c != 34:
                            return WRONG_TYPE, line_start, lines, -1, -1
                        if kind == KIND_ID and not (c == 34 or c == 110 or c == 45 or 48 <= c <= 57):  # " n - digit
                            return WRONG_TYPE, line_start, lines, -1, -1
                        if c == 34:
                            i = skip_string(buf, i, hi)
                        elif c == 123 or c == 91:
                            i = skip_nested(buf, i, hi)
                            if i < 0:
                                return NOT_OBJECT, line_start, lines, -1, -1
                        else:  # a number or a literal: up to the next , } or space
                            v = i
                            while i < hi and buf[i] != 44 and buf[i] != 125 and buf[i] != 10 and buf[i] != 32 \
                                    and buf[i] != 9 and buf[i] != 13:
                                if kind == KIND_ID and c != 110 and not (buf[i] == 45 or 48 <= buf[i] <= 57):
                                    return WRONG_TYPE, line_start, lines, -1, -1  # an id or label, not an integer
                                i += 1
                            if kind == KIND_ID and c == 110 and i - v != 4:
                                return WRONG_TYPE, line_start, lines, -1, -1
                        i = skip_space(buf, i, hi)
                        if i < hi and buf[i] == 44:  # ,
                            i = skip_space(buf, i + 1, hi)
                            continue
                        if i < hi and buf[i] == 125:  # }
                            i += 1
                            break
                        return NOT_OBJECT, line_start, lines, -1, -1
                i = skip_space(buf, i, hi)
                if i < hi and buf[i] != 10:
                    return NOT_OBJECT, line_start, lines, -1, -1
                if not seen_text:
                    return NO_TEXT, line_start, lines, -1, -1
                lines += 1
                i += 1
            return OK, -1, lines, -1, -1

        _KERNEL = check
    return _KERNEL


def _pieces(buf: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) byte ranges of about TASK_BYTES that end just after a line break (or at the end)."""
    out, start, size = [], 0, len(buf)
    while start < size:
        end = min(start + TASK_BYTES, size)
        window = 1 << 16
        while end < size:  # on to just after the next line break, looking in growing windows
            nl = np.flatnonzero(buf[end - 1:end - 1 + window] == 10)
            if len(nl):
                end += int(nl[0])
                break
            if end - 1 + window >= size:
                end = size
            window *= 4
        out.append((start, end))
        start = end
    return out


def check_jsonl(buf: np.ndarray, keys: dict[str, int], text_key: str) -> Check:
    """Scan the bytes of a JSON Lines file (`keys`: name -> KIND_*; updated with keys found later, as
    KIND_ANY, up to MAX_NEW_KEYS). Lines are counted as the row reader counts them: the last line
    needs no line break."""
    kernel = _kernel()
    pieces = _pieces(buf)
    found: list[str] = []
    todo = list(pieces)
    done_lines = 0
    while todo:
        names = list(keys)
        encoded = [n.encode("utf-8") for n in names]
        name_bytes = np.frombuffer(b"".join(encoded) or b"\0", dtype=np.uint8)
        starts = np.cumsum([0] + [len(e) for e in encoded]).astype(np.int64)
        kinds = np.array([keys[n] for n in names], dtype=np.int64)
        text_index = names.index(text_key)

        def run(piece, names_=name_bytes, starts_=starts, kinds_=kinds, text_=text_index):
            return kernel(buf, piece[0], piece[1], names_, starts_, kinds_, text_)

        with ThreadPoolExecutor(max_workers=min(len(todo), os.cpu_count() or 1)) as pool:
            outcomes = list(pool.map(run, todo))
        again = []
        for piece, (status, at, lines, key_start, key_end) in zip(todo, outcomes, strict=True):
            if status == OK:
                done_lines += lines
            elif status == UNKNOWN_KEY:
                try:
                    name = bytes(buf[key_start:key_end]).decode("utf-8")
                except UnicodeDecodeError:
                    return Check(problem=ODD_KEY, at=int(at))
                if name not in keys:
                    keys[name] = KIND_ANY
                    found.append(name)
                if len(found) > MAX_NEW_KEYS:
                    return Check(problem=UNKNOWN_KEY, at=int(at))
                again.append(piece)  # checked again from its start with the key known
            else:
                return Check(problem=int(status), at=int(at))
        todo = again
    return Check(lines=done_lines, new_keys=found)
