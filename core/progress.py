"""Progress callbacks: core functions take `progress(done, total)`; raising Cancelled inside stops them."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

Progress = Callable[[int, int], None]


def no_progress(done: int, total: int) -> None:  # noqa: ARG001 - the default callback
    return None


class TerminalBar:
    """A small progress bar on stderr for the CLI (rate and ETA), redrawn at most 5 times a second."""

    def __init__(self, label: str, stream=sys.stderr) -> None:
        self.label = label
        self.stream = stream
        self.start = time.monotonic()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last < 0.2 and done < total:
            return
        self._last = now
        elapsed = max(now - self.start, 1e-9)
        rate = done / elapsed
        frac = done / total if total else 1.0
        eta = (total - done) / rate if rate > 0 else 0
        bar = "#" * int(frac * 30)
        self.stream.write(
            f"\r{self.label} [{bar:<30}] {done:,}/{total:,} {frac:6.1%} {rate:,.0f}/s ETA {eta:,.0f}s "
        )
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()
