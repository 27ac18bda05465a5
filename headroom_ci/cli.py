"""Shared argparse pieces for the subcommands."""
from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def whole(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number ≥ `minimum`."""
    def parse(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            n = minimum - 1
        if n < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number ≥ {minimum:,}, got {value!r}")
        return n
    return parse


def decimal(noun: str, minimum: float, *, inclusive: bool) -> Callable[[str], float]:
    """An argparse type: a finite number ≥ (or >) `minimum`, described as `noun` in errors."""
    def parse(value: str) -> float:
        try:
            n = float(value)
        except ValueError:
            n = math.nan
        if not (math.isfinite(n) and (n >= minimum if inclusive else n > minimum)):
            raise argparse.ArgumentTypeError(
                f"expected {noun} {'≥' if inclusive else '>'} {minimum:g}, got {value!r}")
        return n
    return parse


positive = whole(1)


def csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())
