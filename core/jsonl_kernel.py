"""The compiled byte scan behind `core.jsonl_check` (numba). Its own module, imported only when a JSONL
file is checked, so that importing ingest does not import numba; the functions are module-level so
numba's on-disk cache holds them (compiled once per machine, loaded in milliseconds after that)."""

from __future__ import annotations

from numba import njit

from core.jsonl_check import BLANK, KIND_ID, KIND_STRING, NO_TEXT, NOT_OBJECT, ODD_KEY, OK, UNKNOWN_KEY, WRONG_TYPE


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
