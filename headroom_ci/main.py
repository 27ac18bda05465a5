from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from headroom_ci import __version__
from headroom_ci.commands import sessions as sessions_cmd
from headroom_ci.errors import FatalError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="headroom-ci",
        description="Learn from coding-agent failures in CI and propose rules for the agent's context file.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("sessions", help="read agent transcripts and summarize them",
                       description="Read agent transcripts (files, folders, .zip) and print "
                                   "one row per transcript: tool calls, errors, tokens.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="transcript file, folder or .zip")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "sessions":
            return sessions_cmd.sessions(paths=args.paths, as_json=args.json, out=sys.stdout)
        raise AssertionError(f"unhandled command {args.command}")
    except FatalError as exc:
        print(f"headroom-ci: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception:
        traceback.print_exc()
        print("headroom-ci: unexpected error (a bug): please report it with the traceback above",
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    raise SystemExit(main())
