from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Protocol
from typing import cast

from headroom_ci import __version__
from headroom_ci.cli import CONFIG_PATH
from headroom_ci.cli import ENV_PREFIX
from headroom_ci.cli import Parser
from headroom_ci.cli import repo_root
from headroom_ci.errors import FatalError


class Command(Protocol):
    def add_parser(self, sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None: ...
    def from_args(self, args: argparse.Namespace) -> int: ...


# Subcommand → its module. A command's module (and the stacks it needs: PyGithub, GitPython,
# the openai SDK) is imported only when that command runs, so `check`, a pre-commit hook run
# on every commit, starts about as fast as the interpreter.
COMMANDS: tuple[str, ...] = ("sessions", "learn", "check", "fetch", "pr", "run", "collect")


# Modules of the `full` extra (pyproject.toml) → their distributions: the base install (what the
# check hook and the collect step install) holds PyYAML and msgspec only.
FULL = {"git": "GitPython", "github": "PyGithub", "openai": "openai", "pydantic": "pydantic",
        "requests": "requests", "typing_extensions": "typing-extensions"}


def command(name: str) -> Command:
    return cast(Command, importlib.import_module(f"headroom_ci.commands.{name}"))


def chosen(argv: Sequence[str]) -> str | None:
    """The subcommand `argv` names, when its first argument is one; the top level has no
    option that takes a value, so anything else (`--help`, `--version`, a typo) is None."""
    return argv[0] if argv and argv[0] in COMMANDS else None


def _parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with `only`, that subcommand's and no other's."""
    parser: argparse.ArgumentParser = Parser(
        prog="headroom-ci",
        description="Learn from coding-agent failures in CI and propose rules for the agent's context file.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in (only,) if only else COMMANDS:
        command(name).add_parser(sub)
    return parser


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found = action.choices.get(name)
            return found if isinstance(found, argparse.ArgumentParser) else None
    return None


def _lacking(exc: ModuleNotFoundError, name: str) -> int:
    extra = FULL.get((exc.name or "").split(".")[0])
    if extra is None:
        raise exc
    print(f"headroom-ci: error: {name} needs {extra}, which this install lacks: pip install 'headroom-ci[full]'",
          file=sys.stderr)
    return 1


def _configured(args: argparse.Namespace) -> bool:
    """Whether a config file or a HEADROOM_CI_* variable may have a say: PyYAML is loaded only
    then, so `check` on every commit stays as quick as the interpreter."""
    if args.config or any(key.startswith(ENV_PREFIX) for key in os.environ):
        return True
    return os.path.isfile(os.path.join(getattr(args, "repo_path", None) or repo_root(), CONFIG_PATH))


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    name = chosen(argv)
    try:
        parser = _parser(name)
    except ModuleNotFoundError as exc:   # a command's module imports its stack
        return _lacking(exc, name or "headroom-ci")
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # The subcommand's usage, not the top level's, goes with an unknown flag.
        sub = _subparser(parser, name) if name else None
        (sub or parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        if hasattr(args, "config") and _configured(args):
            # The config file and HEADROOM_CI_* (the action's inputs) fill in what no flag gave.
            from headroom_ci import config  # PyYAML: only for the commands that read the file
            args = config.reparse(parser, args, argv)
        # A secret given as a flag is masked in the job log before anything can print it.
        secrets = [value for value in (getattr(args, name, None) for name in ("token", "llm_api_key")) if value]
        if secrets:
            from headroom_ci import actions
            for value in secrets:
                actions.mask(value, out=sys.stdout)
        return command(args.command).from_args(args)
    except FatalError as exc:
        from headroom_ci import actions
        if actions.active():
            actions.annotate("error", str(exc), title=f"headroom-ci {args.command}", out=sys.stdout)
        actions.untrusted(f"headroom-ci: error: {exc}\n", out=sys.stderr)
        return 1
    except ModuleNotFoundError as exc:
        return _lacking(exc, args.command)
    except KeyboardInterrupt:
        return 130
    except Exception:
        import traceback

        from headroom_ci.safety.redact import redact
        print(redact(traceback.format_exc()), end="", file=sys.stderr)
        print("headroom-ci: unexpected error (a bug): please report it with the traceback above",
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    raise SystemExit(main())
