"""The age grammar of --since (`14d`, `36h`, `2w`), read in one place for fetch and for the words
a pull request's footer says it in (pure)."""
from __future__ import annotations

import re
from typing import NamedTuple

_AGE = re.compile(r"(?P<n>\d+)(?P<unit>[hdw])")
UNITS = {"h": "hours", "d": "days", "w": "weeks"}


class Age(NamedTuple):
    n: int
    unit: str   # hours, days or weeks

    def words(self) -> str:
        return f"{self.n} {self.unit[:-1] if self.n == 1 else self.unit}"


def age(text: str) -> Age | None:
    """`14d` → Age(14, "days"); None when `text` is no age (a date, say)."""
    m = _AGE.fullmatch(text.strip())
    return Age(int(m["n"]), UNITS[m["unit"]]) if m else None
