"""A plain text progress bar on stderr: redrawn in place on a terminal, one line per change in a CI log."""

from __future__ import annotations

import sys
from typing import TextIO

WIDTH = 30


class ProgressBar:
    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = ""

    def update(self, done: int, total: int, note: str = "") -> None:
        total = max(total, done, 1)
        filled = round(WIDTH * done / total)
        line = f"{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] {done}/{total}"
        if note:
            line += f"  {note}"
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
        self.stream.write(f"{self.label}: {message}\n")
        self.stream.flush()
