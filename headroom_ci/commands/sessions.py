from __future__ import annotations

import argparse
import json
import sys
import os
from collections.abc import Iterable
from collections.abc import Sequence
from typing import Any
from typing import TextIO

from pathlib import Path

from headroom_ci.cli import repo_root
from headroom_ci.errors import FatalError
from headroom_ci.sessions.load import iter_paths
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.model import Skip

_COUNTERS = ("tool_calls", "errors", "input_tokens", "output_tokens",
             "cache_read_tokens", "cache_creation_tokens")


def session_row(s: Session) -> dict[str, Any]:
    return {
        "path": s.path, "agent": s.agent, "format": s.format, "session_id": s.session_id,
        "cwd": s.cwd, "git_branch": s.git_branch, "model": s.model, "subagent": s.subagent,
        "tool_calls": len(s.tool_calls), "errors": s.errors,
        "input_tokens": s.usage.input, "output_tokens": s.usage.output,
        "cache_read_tokens": s.usage.cache_read, "cache_creation_tokens": s.usage.cache_creation,
    }


def report(items: Iterable[Session | Skip]) -> dict[str, Any]:
    # Rows, not sessions, are kept: memory stays flat however many transcripts are read.
    rows: list[dict[str, Any]] = []
    skipped: list[Skip] = []
    for item in items:
        if isinstance(item, Session):
            rows.append(session_row(item))
        else:
            skipped.append(item)
    totals: dict[str, int] = {"sessions": len(rows)}
    totals.update({k: sum(r[k] for r in rows) for k in _COUNTERS})
    return {
        "sessions": rows,
        "totals": totals,
        "skipped": [{"path": k.path, "line": k.line, "reason": k.reason} for k in skipped],
    }


def printable(text: str) -> str:
    """`text` safe for a terminal: control and other non-printable characters (an
    escape sequence in a file name, a newline in a session id) escaped as repr does."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def render_table(rep: dict[str, Any]) -> str:
    header = ("AGENT", "FORMAT", "SESSION", "CALLS", "ERRORS", "INPUT", "OUTPUT", "CACHE-R", "CACHE-W", "PATH")
    rows: list[tuple[str, ...]] = [header]
    for r in rep["sessions"]:
        sid = printable(r["session_id"] or "-") + (" (sub)" if r["subagent"] else "")
        rows.append((r["agent"], r["format"], sid, *(str(r[k]) for k in _COUNTERS), printable(r["path"])))
    t = rep["totals"]
    rows.append(("total", f"{t['sessions']} sessions", "", *(str(t[k]) for k in _COUNTERS), ""))
    numeric = range(3, 9)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = []
    for row in rows:
        # The last column (the path) is not padded: it has no width.
        cells = [c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(row[:-1], widths, strict=True))]
        lines.append("  ".join(cells + [row[-1]]).rstrip())
    if rep["skipped"]:
        lines.append("")
        lines.append(f"skipped ({len(rep['skipped'])}):")
        for k in rep["skipped"]:
            where = printable(k["path"]) if k["line"] is None else f"{printable(k['path'])}:{k['line']}"
            lines.append(f"  {where}: {printable(k['reason'])}")
    return "\n".join(lines) + "\n"


def sessions(*, paths: Sequence[str], as_json: bool, out: TextIO, local: str | None = None) -> int:
    """With `local` (a repository), the sessions learn would discover for it, not `paths`'."""
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise FatalError(f"{printable(missing[0])}: no such file or folder")
    if local is not None and paths:
        raise FatalError("--local reads this machine's agent folders: pass it without paths")
    if local is None and not paths:
        raise FatalError("nothing to read: pass transcript files or folders, or --local")
    if local is not None:
        from headroom_ci.sessions.discover import local_sessions
        if not os.path.isdir(local):
            raise FatalError(f"--repo-path {printable(local)}: no such folder")
        rep = report(local_sessions(Path(local)))
    else:
        rep = report(iter_paths(paths))
    if as_json:
        text = json.dumps(rep, indent=2, ensure_ascii=False) + "\n"
        try:
            out.write(text)
        except UnicodeEncodeError:
            # A file name that is not valid UTF-8 (kept by Python as lone surrogates):
            # JSON's \u escapes carry it where the output encoding cannot.
            out.write(json.dumps(rep, indent=2) + "\n")
    else:
        out.write(render_table(rep))
        if local is not None and not rep["sessions"]:
            from headroom_ci.sessions.discover import agent_homes
            looked = ", ".join(f"{agent} {printable(str(path))}" for agent, path in agent_homes().items())
            out.write(f"no agent sessions found for {printable(str(Path(local).resolve()))} (looked in {looked})\n")
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sessions", help="read agent transcripts and summarize them",
                       description="Read agent transcripts (files, folders, .zip) and print "
                                   "one row per transcript: tool calls, errors, tokens.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="transcript file, folder or .zip")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--local", action="store_true",
                   help="the sessions `learn` would discover on this machine for --repo-path, instead of PATHs")
    p.add_argument("--repo-path", metavar="DIR", default=repo_root(),
                   help="with --local: the repository (default: the git repository of the current folder, else .)")


def from_args(args: argparse.Namespace) -> int:
    return sessions(paths=args.paths, as_json=args.json, out=sys.stdout,
                    local=args.repo_path if args.local else None)
