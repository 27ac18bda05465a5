from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from typing import Protocol

from headroom_ci import __version__
from headroom_ci import actions
from headroom_ci import config
from headroom_ci.commands import check
from headroom_ci.commands import collect
from headroom_ci.commands import fetch
from headroom_ci.commands import learn
from headroom_ci.commands import pr
from headroom_ci.commands import run
from headroom_ci.commands import sessions
from headroom_ci.errors import FatalError
from headroom_ci.safety.redact import redact



class Command(Protocol):
    def add_parser(self, sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None: ...
    def from_args(self, args: argparse.Namespace) -> int: ...


COMMANDS: dict[str, Command] = {"sessions": sessions, "learn": learn, "check": check, "fetch": fetch,
                                "pr": pr, "run": run, "collect": collect}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="headroom-ci",
        description="Learn from coding-agent failures in CI and propose rules for the agent's context file.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS.values():
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        # The config file and HEADROOM_CI_* (the action's inputs) fill in what no flag gave.
        args = config.reparse(parser, args, argv)
        # A secret given as a flag is masked in the job log before anything can print it.
        for name in ("token", "llm_api_key"):
            actions.mask(getattr(args, name, None) or "", out=sys.stdout)
        return COMMANDS[args.command].from_args(args)
    except FatalError as exc:
        if actions.active():
            actions.annotate("error", str(exc), title=f"headroom-ci {args.command}", out=sys.stdout)
        actions.untrusted(f"headroom-ci: error: {exc}\n", out=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception:
        print(redact(traceback.format_exc()), end="", file=sys.stderr)
        print("headroom-ci: unexpected error (a bug): please report it with the traceback above",
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    raise SystemExit(main())
