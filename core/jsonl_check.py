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

KIND_ANY, KIND_STRING, KIND_ID = 0, 1, 2
OK, BLANK, NOT_OBJECT, UNKNOWN_KEY, ODD_KEY, WRONG_TYPE, NO_TEXT = range(7)
PROBLEMS = {BLANK: "a blank line", NOT_OBJECT: "a line that is not one JSON object",
            UNKNOWN_KEY: "a key not in the first rows", ODD_KEY: "a key written with escapes",
            WRONG_TYPE: "a value of an unexpected type", NO_TEXT: "a row without the text field"}
TASK_BYTES = 8 << 20  # lines are checked in pieces of about this size, a thread per core
MAX_NEW_KEYS = 64  # beyond this many keys unseen in the first rows, the file goes row by row

_KERNEL = None


@dataclass
class Check:
    """What the scan found: `lines` counted, or the first `problem` (one of PROBLEMS) and its byte."""

    lines: int = 0
    problem: int = OK
    at: int = -1
    new_keys: list[str] = field(default_factory=list)  # keys found after the first rows


def _kernel():
    global _KERNEL
    if _KERNEL is None:
        from numba import njit

        @njit(cache=True, nogil=True)
        def check(buf, lo, hi, names, name_starts, kinds, text_key):  # pragma: no cover - compiled
            """(status, byte, lines, unknown key start, unknown key end) for the lines in buf[lo:hi]."""
            i, lines = lo, 0
            while i < hi:
                line_start = i
                while i < hi and (buf[i] == 32 or buf[i] == 9 or buf[i] == 13):
                    i += 1
                if i >= hi or buf[i] == 10:
                    return 1, line_start, lines, -1, -1  # BLANK
                if buf[i] != 123:  # {
                    return 2, line_start, lines, -1, -1
                i += 1
                seen_text = False
                first = True
                while True:
                    while i < hi and (buf[i] == 32 or buf[i] == 9 or buf[i] == 13):
                        i += 1
                    if i >= hi:
                        return 2, line_start, lines, -1, -1
                    if buf[i] == 125 and first:  # }: an empty object
                        i += 1
                        break
                    if buf[i] != 34:  # "
                        return 2, line_start, lines, -1, -1
                    key_start = i + 1
                    i += 1
                    while i < hi and buf[i] != 34:
                        if buf[i] == 92 or buf[i] == 10:  # an escaped key, or a broken line
                            return 4, line_start, lines, -1, -1
                        i += 1
                    key_end = i
                    i += 1
                    while i < hi and (buf[i] == 32 or buf[i] == 9 or buf[i] == 13):
                        i += 1
                    if i >= hi or buf[i] != 58:  # :
                        return 2, line_start, lines, -1, -1
                    i += 1
                    while i < hi and (buf[i] == 32 or buf[i] == 9 or buf[i] == 13):
                        i += 1
                    if i >= hi:
                        return 2, line_start, lines, -1, -1
                    # which known key is it?
                    which = -1
                    for k in range(len(name_starts) - 1):
                        a, b = name_starts[k], name_starts[k + 1]
                        if b - a == key_end - key_start:
                            same = True
                            for m in range(b - a):
                                if names[a + m] != buf[key_start + m]:
                                    same = False
                                    break
                            if same:
                                which = k
                                break
                    if which < 0:
                        return 3, line_start, lines, key_start, key_end
                    c = buf[i]
                    if which == text_key:
                        seen_text = True
                    kind = kinds[which]
                    if kind == 1 and c != 34:
                        return 5, line_start, lines, -1, -1
                    if kind == 2 and not (c == 34 or c == 110 or c == 45 or (48 <= c <= 57)):  # " n - digit
                        return 5, line_start, lines, -1, -1
                    # skip the value
                    if c == 34:  # a string: its end is the next quote not escaped (a raw line break in it
                        i += 1  # is invalid JSON, which DuckDB refuses; here it only needs to stay in bounds)
                        while i < hi:
                            d = buf[i]
                            if d == 34:
                                break
                            i += 2 if d == 92 else 1
                        i += 1
                    elif c == 123 or c == 91:  # { [
                        depth = 0
                        while i < hi:
                            d = buf[i]
                            if d == 34:
                                i += 1
                                while i < hi and buf[i] != 34:
                                    if buf[i] == 92:
                                        i += 1
                                    elif buf[i] == 10:
                                        return 2, line_start, lines, -1, -1
                                    i += 1
                            elif d == 123 or d == 91:
                                depth += 1
                            elif d == 125 or d == 93:
                                depth -= 1
                                if depth == 0:
                                    i += 1
                                    break
                            elif d == 10:
                                return 2, line_start, lines, -1, -1
                            i += 1
                    else:  # a number or a literal: up to the next , } or space
                        v = i
                        while i < hi and buf[i] != 44 and buf[i] != 125 and buf[i] != 10 and buf[i] != 32 \
                                and buf[i] != 9 and buf[i] != 13:
                            if kind == 2 and c != 110 and not (buf[i] == 45 or 48 <= buf[i] <= 57):
                                return 5, line_start, lines, -1, -1  # an id or label that is not an integer
                            i += 1
                        if kind == 2 and c == 110 and i - v != 4:
                            return 5, line_start, lines, -1, -1
                    while i < hi and (buf[i] == 32 or buf[i] == 9 or buf[i] == 13):
                        i += 1
                    if i >= hi:
                        return 2, line_start, lines, -1, -1
                    first = False
                    if buf[i] == 44:  # ,
                        i += 1
                        continue
                    if buf[i] == 125:  # }
                        i += 1
                        break
                    return 2, line_start, lines, -1, -1
                while i < hi and (buf[i] == 32 or buf[i] == 9 or buf[i] == 13):
                    i += 1
                if i < hi and buf[i] != 10:
                    return 2, line_start, lines, -1, -1
                if not seen_text:
                    return 6, line_start, lines, -1, -1
                lines += 1
                i += 1
            return 0, -1, lines, -1, -1

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
    result = Check()
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
    result.lines = done_lines
    result.new_keys = found
    return result
