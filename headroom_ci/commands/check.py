"""``headroom-ci check FILE...``: the pre-commit gate for learned-patterns blocks.

Only the marker block is checked: the rest of a context file belongs to its authors, and a
hook that failed on their prose would be switched off. Within the block: well-formed markers,
no hidden unicode, machine paths or secrets, and the token budget (the block is loaded into
every agent session).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from headroom_ci import actions
from headroom_ci import fsio
from headroom_ci.cli import add_config_argument
from headroom_ci.cli import positive
from headroom_ci.learning import block
from headroom_ci.learning.tombstones import record_of
from headroom_ci.safety import rule
from headroom_ci.safety import text as screen
from headroom_ci.safety.commands import Facts
from headroom_ci.safety.commands import facts_from
from headroom_ci.errors import FatalError
from headroom_ci.errors import UsageError

DEFAULT_MAX_TOKENS = 1500

# Each screen, with the fix a reader should apply; the hint ends every line it reports.
_SCREENS: tuple[tuple[Callable[[str], list[screen.Problem]], str], ...] = (
    (screen.hidden_unicode, "delete the invisible character"),
    (screen.machine_paths, "use a repo-relative or generic path"),
    (screen.secrets, "remove it, and rotate the credential if it is real"),
)


def check(*, files: Sequence[str], max_tokens: int, out: TextIO) -> int:
    """Print ``path:line:col: kind: detail`` per problem; 1 if any, else 0 and silence."""
    if max_tokens < 1:
        raise UsageError(f"--max-block-tokens must be at least 1, not {max_tokens}")
    failed = False
    seen: set[str] = set()
    for path in files:
        real = os.path.realpath(path)
        if real in seen:  # AGENTS.md -> CLAUDE.md: one file, reported once
            continue
        seen.add(real)
        for line in check_file(path, max_tokens=max_tokens):
            actions.untrusted(line + "\n", out=out)
            failed = True
    return 1 if failed else 0


def check_file(path: str, *, max_tokens: int) -> list[str]:
    """The problem lines for one file, in file order; [] when it passes."""
    try:
        data = fsio.read_bytes(Path(path))
    except FatalError as exc:
        return [str(exc)]
    if data is None:
        return [f"{path}: cannot read: no such file"]
    try:
        # A leading BOM is an encoding mark (some Windows editors add one).
        text = fsio.decode(data, bom=True)
    except fsio.NotText as exc:
        return [f"{path}{exc.where or ':1:1'}: not-utf8: {exc.problem} — save the file as UTF-8"]
    try:
        span = block.find_block(text, source=path)
        if span is None:
            return _removed(path)  # no block: nothing of ours to check, unless it just went
        sections = block.parse_block(text, source=path)
    except block.BlockError as exc:
        return [str(exc)]
    start, end = span
    found = _screen(text, start, end)
    # A line with a hidden character, machine path or secret is reported for that first: the
    # rule screen would only say the same again in other words.
    flagged = {line for line, _, _ in found}
    found += [p for p in _unsafe_rules(text, start, end, facts_from(fsio.read_manifests(Path(path).parent)))
              if p[0] not in flagged]
    tokens = _tokens(text[start:end], sections or [])
    if tokens > max_tokens:
        line, _ = _file_position(text, start, 1, 1)
        found.append((line, 1, f"over budget: {tokens} tokens > {max_tokens} (max-block-tokens)"))
    return [f"{path}:{line}:{column}: {message}" for line, column, message in sorted(found)]


def _removed(path: str) -> list[str]:
    """A problem when the last commit's version of the file holds a block with recorded rules:
    the block disappeared while its rules are still referenced (headroom-ai's `learn --apply`
    moves a CLAUDE.md block to CLAUDE.local.md)."""
    file = Path(path)
    committed = _committed(file)
    recorded = [e for e in record_of(committed) if e.state == "active"]
    if not recorded:
        return []
    local = file.with_name("CLAUDE.local.md")
    moved = (f"; {local.name} has a headroom:learn block now (headroom learn --apply moves it there)"
             if local != file and _has_block(local) else "")
    return [f"{path}:1:1: block-removed: the headroom:learn block with {len(recorded)} recorded "
            f"rule{'s' if len(recorded) != 1 else ''} is gone from this file but not from its last commit{moved}"
            f" — restore it (git checkout HEAD -- {path}), or remove it on purpose with SKIP=headroom-learn-check"]


def _committed(file: Path) -> str | None:
    """The file as the last commit has it; None when it has none (or git is not there). The git
    command, not GitPython: the check hook's environment holds only PyYAML and msgspec."""
    try:
        done = subprocess.run(["git", "show", f"HEAD:./{file.name}"], cwd=file.parent or ".",
                              capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    try:
        return done.stdout.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _has_block(path: Path) -> bool:
    try:
        return block.find_block(path.read_text(encoding="utf-8-sig"), source=str(path)) is not None
    except (OSError, UnicodeDecodeError, block.BlockError):
        return False


def _tokens(block_text: str, sections: list[block.Section]) -> int:
    try:
        return block.block_tokens(sections)
    except ValueError:
        # The block cannot be rendered as it stands (two sections of one name, which a merge
        # carries forward): measure the text that agents actually load, same 4 chars a token.
        return -(-len(block_text) // 4)


def _screen(text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """(line, column, "kind: detail — fix") for each problem in text[start:end], positions in the file."""
    # Screen the block alone, then move each position from the block to the file.
    found: list[tuple[int, int, str]] = []
    for run, hint in _SCREENS:
        for p in run(text[start:end]):
            line, column = _file_position(text, start, p.line, p.column)
            found.append((line, column, f"{p.kind}: {p.text} — {hint}"))
    return found


def _unsafe_rules(text: str, start: int, end: int, facts: Facts) -> list[tuple[int, int, str]]:
    """The one safety screen learn applies, on each rule line of the block as people left it."""
    found: list[tuple[int, int, str]] = []
    for number, line in enumerate(text[start:end].splitlines(keepends=True), 1):
        bare = line.rstrip("\r\n")
        if bare.lstrip().startswith(("- ", "* ", "+ ")):
            reasons = rule.problems(bare.strip(), facts)
            if reasons:
                line_no, column = _file_position(text, start, number, len(bare) - len(bare.lstrip()) + 1)
                found.append((line_no, column, "unsafe-rule: " + "; ".join(reasons) + " — rewrite or remove the rule"))
    return found


def _file_position(text: str, block_start: int, line: int, column: int) -> tuple[int, int]:
    """A 1-based (line, column) within the block → the same point within the file."""
    breaks = list(screen.LINE_BREAK.finditer(text, 0, block_start))
    if line > 1:
        return len(breaks) + line, column
    # The block's first line may not start at a line start: shift by what precedes it.
    line_start = breaks[-1].end() if breaks else 0
    return len(breaks) + 1, column + (block_start - line_start)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check", help="check the headroom:learn block of context files (a pre-commit hook)",
                       description="Check the headroom:learn block of each file: well-formed markers, no hidden "
                                   "unicode, machine paths or secrets, and within the token budget. Prints "
                                   "path:line:col: kind: detail per problem and exits 1 if there is any.")
    p.add_argument("files", nargs="+", metavar="FILE", help="context file (AGENTS.md, CLAUDE.md, GEMINI.md, ...)")
    p.add_argument("--max-block-tokens", type=positive, default=DEFAULT_MAX_TOKENS, metavar="N",
                   help="token budget of the block, as learn's (default: %(default)s)")
    # The name check had before it took learn's: kept working, not shown.
    p.add_argument("--max-tokens", dest="max_block_tokens", type=positive, help=argparse.SUPPRESS)
    add_config_argument(p)


def from_args(args: argparse.Namespace) -> int:
    return check(files=args.files, max_tokens=args.max_block_tokens, out=sys.stdout)
