"""Progress of a batch: a line per item in CI logs, a bar redrawn in place on a terminal."""
from __future__ import annotations

from typing import TextIO

_WIDTH = 24


def is_tty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream: plain lines
        return False


class Progress:
    """`step()` once per item. In a log every step is a line; on a terminal only `notable`
    steps leave a line, printed above the bar so the bar stays last."""

    def __init__(self, out: TextIO, *, total: int, tty: bool) -> None:
        self.out, self.total, self.tty = out, total, tty
        self.done = 0

    def step(self, line: str, *, notable: bool = False) -> None:
        self.done += 1
        if not self.tty:
            self.out.write(line + "\n")
            return
        if notable:
            self.out.write("\r\x1b[K" + line + "\n")
        self._bar(line)

    def close(self) -> None:
        if self.tty and self.total:
            self.out.write("\r\x1b[K")
        self.out.flush()

    def _bar(self, line: str) -> None:
        filled = _WIDTH * self.done // max(self.total, 1)
        label = line if len(line) <= 50 else line[:49] + "…"
        self.out.write(f"\r\x1b[K[{'#' * filled}{'.' * (_WIDTH - filled)}] {self.done}/{self.total} {label}")
        self.out.flush()
