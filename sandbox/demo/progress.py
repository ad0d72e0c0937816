"""Progress of a long run on stderr: a line per step, and a spinner while a step waits on a terminal."""

from __future__ import annotations

import contextlib
import itertools
import sys
import threading
import time
from collections.abc import Iterator
from typing import TextIO

SPINNER = "|/-\\"
SPIN_SECONDS = 0.15


class Progress:
    def __init__(self, total_steps: int, stream: TextIO | None = None) -> None:
        self.total = total_steps
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self.number = 0
        self.timings: dict[str, float] = {}

    def say(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[None]:
        """``[n/N] title`` now, ``done in Xs`` (or ``FAILED``) when the block ends."""
        self.number += 1
        started = time.monotonic()
        self.say(f"[{self.number}/{self.total}] {title}")
        try:
            yield
        except BaseException:
            self.say(f"      FAILED after {time.monotonic() - started:.1f}s")
            raise
        elapsed = time.monotonic() - started
        self.timings[title] = elapsed
        self.say(f"      done in {elapsed:.1f}s")

    @contextlib.contextmanager
    def waiting(self, what: str) -> Iterator[None]:
        """A spinner after ``what`` on a terminal; in a log, one line."""
        if not self.interactive:
            self.say(f"      {what} ...")
            yield
            return
        stop = threading.Event()

        def spin() -> None:
            for frame in itertools.cycle(SPINNER):
                self.stream.write(f"\r      {what} {frame}")
                self.stream.flush()
                if stop.wait(SPIN_SECONDS):
                    break
            self.stream.write("\r\x1b[2K")
            self.stream.flush()

        spinner = threading.Thread(target=spin, daemon=True)
        spinner.start()
        try:
            yield
        finally:
            stop.set()
            spinner.join()
            self.say(f"      {what}")
