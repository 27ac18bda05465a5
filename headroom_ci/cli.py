"""Shared argparse pieces for the subcommands."""
from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from typing import Any

CONFIG_PATH = ".github/headroom-learn.yml"   # the shared config file, in the repository
ENV_PREFIX = "HEADROOM_CI_"   # not HEADROOM_: headroom-ai's own variables live there


def add_renamed(p: argparse._ActionsContainer, new: str, old: str, **kwargs: Any) -> None:
    """`new`, the option's name (the action input's and the config key's), and `old`, the name
    it had before, still accepted but no longer shown."""
    action = p.add_argument(new, **kwargs)
    hidden = {k: v for k, v in kwargs.items() if k not in ("help", "metavar", "default", "required")}
    p.add_argument(old, **{**hidden, "dest": action.dest, "help": argparse.SUPPRESS})


def add_config_argument(p: argparse.ArgumentParser) -> None:
    """`--config FILE` for the commands that read the config file."""
    p.add_argument("--config", metavar="FILE", default=None,
                   help=f"YAML file of settings, keyed like the action's inputs (default: {CONFIG_PATH} in the "
                        f"repository, if it exists; ${ENV_PREFIX}CONFIG); flags and {ENV_PREFIX}* variables win")


class HelpFormatter(argparse.HelpFormatter):
    """Every option's default in its help (unless the help already says it), and choices shown
    plainly (`text|json`) rather than as a Python set."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (action.option_strings and "default" not in text and default not in (None, False, argparse.SUPPRESS)
                and default != [] and default != () and text != argparse.SUPPRESS):
            text += " (default: %(default)s)"
        return text

    def _metavar_formatter(self, action: argparse.Action,
                           default_metavar: str) -> Callable[[int], tuple[str, ...]]:
        if action.metavar is None and action.choices is not None:
            plain = "|".join(map(str, action.choices))
            return lambda size: (plain,) * size
        return super()._metavar_formatter(action, default_metavar)


class Parser(argparse.ArgumentParser):
    """headroom-ci's parsers: no prefix matching (`--repo` is not `--repo-path`), defaults in
    --help. Subcommand parsers are made of the same class."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


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


def repo_root(start: str = ".") -> str:
    """The git repository `start` lies in (its work tree's top, where `.git` is), else `start`:
    `learn` run from a subfolder reads the repository's sessions and context file."""
    here = os.path.abspath(start)
    while True:
        if os.path.exists(os.path.join(here, ".git")):
            return here if here != os.path.abspath(start) else start
        parent = os.path.dirname(here)
        if parent == here:
            return start
        here = parent
