"""A plain text progress bar on stderr: redrawn in place on a terminal, one line per change in a CI log.

Each line has the counts and, once something is done, an ETA from the elapsed time and the share done
(``clock`` is injectable so tests need not wait). ``quiet`` says something once instead of a bar, for a
service that reports no per-item results to count.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

WIDTH = 30


def eta(elapsed: float, done: int, total: int) -> str:
    """``ETA 1m05s`` from the pace so far; empty before anything is done or once everything is."""
    if done <= 0 or done >= total or elapsed <= 0:
        return ""
    remaining = elapsed * (total - done) / done
    return f"ETA {duration(remaining)}"


def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class ProgressBar:
    def __init__(self, label: str, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self.clock = clock
        self.started = clock()
        self._last = ""
        self._said: set[str] = set()

    def line(self, done: int, total: int, note: str = "") -> str:
        total = max(total, done, 1)
        filled = round(WIDTH * done / total)
        line = f"{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] {done}/{total}"
        extras = [e for e in (note, eta(self.clock() - self.started, done, total)) if e]
        if extras:
            line += "  " + ", ".join(extras)
        return line

    def update(self, done: int, total: int, note: str = "") -> None:
        self._write(self.line(done, total, note))

    def say_once(self, message: str) -> None:
        """One line (not a bar) the first time it is said, nothing after."""
        if message in self._said:
            return
        self._said.add(message)
        self._write(f"{self.label}: {message}")
        if self.interactive:  # keep it on screen: the next bar starts on a line of its own
            self.stream.write("\n")
            self._last = ""
            self.stream.flush()

    def _write(self, line: str) -> None:
        if line == self._last:
            return
        self._last = line
        if self.interactive:
            self.stream.write("\r\x1b[2K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self, message: str) -> None:
        if self.interactive:
            self.stream.write("\r\x1b[2K")
        self.stream.write(f"{self.label}: {message} ({duration(self.clock() - self.started)})\n")
        self.stream.flush()
