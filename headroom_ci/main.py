from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from headroom_ci import __version__
from headroom_ci.commands import check as check_cmd
from headroom_ci.commands import learn as learn_cmd
from headroom_ci.commands import sessions as sessions_cmd
from headroom_ci.errors import FatalError
from headroom_ci.mining.findings import Thresholds


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

    p = sub.add_parser("learn", help="mine recurring failures and propose rules (dry run by default)",
                       description="Mine agent sessions for recurring, preventable failures and their fixes, "
                                   "and merge rules into the context file's headroom:learn block. "
                                   "Writes nothing unless --apply.")
    p.add_argument("paths", nargs="*", metavar="SESSIONS",
                   help="transcript files, folders or .zip (default: this repo's local agent sessions)")
    p.add_argument("--repo-path", default=".", help="the repository (default: .)")
    p.add_argument("--target", help="context file: AGENTS.md, CLAUDE.md, CLAUDE.local.md, GEMINI.md or a path "
                                    "(default: AGENTS.md if it exists, else CLAUDE.md if it exists, else AGENTS.md)")
    p.add_argument("--memory-target", help="memory file for session-level preferences (default: none)")
    p.add_argument("--apply", action="store_true", help="write the change")
    p.add_argument("--plan-out", metavar="FILE", help="write the plan as JSON for `headroom-ci pr`")
    p.add_argument("--format", choices=learn_cmd.FORMATS, default="text")
    p.add_argument("--max-block-tokens", type=_positive, default=1500, help="token budget of the block")
    p.add_argument("--min-sessions", type=_positive, default=2, help="sessions a failure must recur in")
    p.add_argument("--min-fixes", type=_positive, default=2, help="sessions its fix must be seen in")

    p = sub.add_parser("check", help="check the headroom:learn block of context files (a pre-commit hook)",
                       description="Check the headroom:learn block of each file: well-formed markers, no hidden "
                                   "unicode, machine paths or secrets, and within the token budget. Prints "
                                   "path:line:col: kind: detail per problem and exits 1 if there is any.")
    p.add_argument("files", nargs="+", metavar="FILE", help="context file (AGENTS.md, CLAUDE.md, GEMINI.md, ...)")
    p.add_argument("--max-tokens", type=_positive, default=check_cmd.DEFAULT_MAX_TOKENS, metavar="N",
                   help="token budget of the block (default: %(default)s)")
    return parser


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 1, got {value!r}")
    return n


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "sessions":
            return sessions_cmd.sessions(paths=args.paths, as_json=args.json, out=sys.stdout)
        if args.command == "check":
            return check_cmd.check(files=args.files, max_tokens=args.max_tokens, out=sys.stdout)
        if args.command == "learn":
            settings = learn_cmd.LearnSettings(
                paths=tuple(args.paths), repo_path=args.repo_path, target=args.target,
                memory_target=args.memory_target, apply=args.apply, plan_out=args.plan_out,
                format=args.format, max_block_tokens=args.max_block_tokens,
                thresholds=Thresholds(min_sessions=args.min_sessions, min_fixes=args.min_fixes))
            return learn_cmd.learn(settings=settings, out=sys.stdout)
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
