"""Findings → rules: one or two lines that say what to do instead (pure, deterministic)."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from headroom_ci.safety import inert
from headroom_ci.mining.commands import parse_command
from headroom_ci.mining.findings import Finding
from headroom_ci.mining.signature import normalize

# headroom-ai's section names, in the order the block lists them.
SECTIONS = (
    "Environment", "Command Patterns", "File Path Corrections", "Search Scope",
    "Known Large Files", "Permission Notes", "Retry Prevention", "User Preferences",
)
_SECTION_OF = {
    "runner": "Environment", "alternative": "Command Patterns", "path": "File Path Corrections",
    "scope": "Search Scope", "large_file": "Known Large Files", "permission": "Permission Notes",
    "loop": "Retry Prevention", "rejected": "User Preferences", "variant": "Command Patterns",
    "folder": "File Path Corrections", "skill": "Environment", "workdir": "Command Patterns",
    "prerequisite": "Command Patterns",
}
# Preferences of the people running the agent are the memory file's, not the project's.
_MEMORY_KINDS = frozenset({"rejected"})
_VERBS = {"test": "Run tests", "lint": "Lint", "format": "Format", "typecheck": "Type-check",
          "build": "Build", "install": "Install dependencies", "search": "Search"}
_ENVIRONMENTS = frozenset({"uv", "poetry", "pipenv", "pdm", "hatch", "rye", "npx", "bunx", "pnpm",
                           "bundle", "uvx", "yarn", "conda", "mamba"})
_TARGET_RUNNERS = frozenset({"make", "just", "task", "rake"})
_PHRASES = {
    "missing_script": "no such script or target", "command_not_found": "command not found",
    "file_not_found": "file not found", "module_not_found": "a module is missing",
    "permission_denied": "permission denied", "exit_nonzero": "non-zero exit", "too_large": "too large",
    "tool_error": "tool error", "empty_result": "no results", "usage_error": "wrong usage",
    "http_error": "HTTP error",
}
_SAFE_WORD = re.compile(r"^[\w.:@/+-]{1,80}$")
MAX_CODE = 100


@dataclass(frozen=True)
class Recommendation:
    fingerprint: str
    section: str
    content: str          # one markdown bullet
    target: str           # "context" | "memory"
    tokens_saved: int     # per session where the failure happened
    evidence_count: int   # sessions
    finding_ids: tuple[str, ...]


def code(text: str) -> str:
    """An inline code span no backtick inside can close, kept short."""
    return inert.code_span(text, limit=MAX_CODE)


def _word(text: str | None) -> str | None:
    return text if text and _SAFE_WORD.match(text) else None


def _fix_command(f: Finding) -> str:
    """The working command, normalized (the head the fix ran, never the agent's raw command line),
    with the folder it ran in."""
    example = next((e.fixing for e in f.evidence if e.fixing), None) or f.fix or ""
    parsed = parse_command(example)
    where = f" in {code(parsed.workdir.rstrip('/') + '/')}" if parsed.workdir not in (None, ".", "./") else ""
    return f"{code(f.fix or example)}{where}"


def _runner(f: Finding) -> str:
    fix = parse_command(f.fix or "")
    fail = parse_command(f.key)
    detail = _word(f.detail)
    if f.category == "module_not_found" and detail:
        why = (f"{code(detail)} is only in the {fix.program} environment" if fix.program in _ENVIRONMENTS
               else f"{code(detail)} is not installed for {code(fail.program)}")
    elif f.category == "command_not_found":
        why = f"{code(detail or fail.program)} is not installed"
    else:
        why = f"{code(f.key)} fails: {_PHRASES.get(f.category, f.category.replace('_', ' '))}"
    if fix.tool != fail.tool and not fix.tool.endswith(" " + fail.tool):
        # Another program, not the same one run differently: `rg` → `grep`.
        return f"- Use {_fix_command(f)}, not {code(f.key)}: {why}."
    verb = _VERBS.get(fix.purpose) or f"Run {code(fix.tool)}"
    return f"- {verb} with {_fix_command(f)}, not {code(f.key)}: {why}."


def _alternative(f: Finding, retries: int) -> str:
    fix = parse_command(f.fix or "")
    fail = parse_command(f.key)
    verb = _VERBS.get(fix.purpose) or _VERBS.get(fail.purpose)
    detail = _word(f.detail)
    if f.category == "missing_script" and detail:
        noun = "target" if fail.program in _TARGET_RUNNERS else "script"
        why = f"there is no {code(detail)} {noun}"
    else:
        why = _PHRASES.get(f.category, f.category.replace("_", " "))
    retried = "; do not retry it" if retries >= 3 else ""
    lead = f"{verb} with" if verb else "Use"
    return f"- {lead} {_fix_command(f)}, not {code(f.key)}: {why}{retried}."


def _variant(f: Finding) -> str:
    head = parse_command(f.key).head
    dropped = f.key[len(head):].split() if head and f.key.startswith(head) else []
    flags = [w for w in dropped if w.startswith("-")]
    if flags:
        return (f"- {code(head)} has no {', '.join(code(x) for x in flags)} option here: "
                f"use {code(f.fix or head)}.")
    if f.category == "http_error":
        return f"- {code(f.key)} answers an HTTP error: the working form is {code(f.fix or '')}."
    added = [w for w in (f.fix or "").split() if w.startswith("-")]
    if added and (f.fix or "").startswith(f.key):
        return f"- {code(f.key)} fails here without {' '.join(code(a) for a in added)} (its error says so): use {code(f.fix or '')}."
    return f"- {code(f.key)} fails: {_PHRASES.get(f.category, 'error')}; {code(f.fix or '')} works."


def _permission(f: Finding) -> str:
    if f.key == "<<heredoc":
        return ("- The sandbox refuses heredocs (`<<EOF`), which need a temp file: pass text with "
                "`-m`/`-F FILE` or write the file first.")
    if f.key.startswith("\\"):
        return "- The shell refuses `\\` line continuations: write the command on one line."
    return f"- The sandbox refuses {code(f.key)} (permission denied): leave it alone."


def _content(f: Finding, retries: dict[str, int]) -> str:
    if f.kind == "runner":
        return _runner(f)
    if f.kind == "alternative":
        return _alternative(f, max(retries.get(normalize(f.key), 0), f.peak))
    if f.kind == "variant":
        return _variant(f)
    if f.kind == "prerequisite":
        return (f"- Run {code(f.fix or '')} before {code(f.key)}: without it {code(f.key)} fails "
                f"({_PHRASES.get(f.category, f.category.replace('_', ' '))}).")
    if f.kind == "path":
        return f"- {code(f.key)} does not exist: the file is {code(f.fix or '')}."
    if f.kind == "folder":
        where = f": the files are in {code(f.fix.rstrip('/') + '/')}" if f.fix else ""
        return f"- There is no {code(f.key.rstrip('/') + '/')} folder{where}."
    if f.kind == "scope":
        return (f"- Searches in {code(f.key)} find nothing in most sessions: what they look for is in "
                f"{code(f.fix or '')}.")
    if f.kind == "large_file":
        return (f"- {code(f.key)} is too large to read whole: read it in parts (offset/limit) "
                f"or search it.")
    if f.kind == "permission":
        return _permission(f)
    if f.kind == "skill":
        return f"- There is no {code(f.key)} skill: do it with the usual tools."
    if f.kind == "workdir":
        return ("- The shell keeps its working directory between commands: after `cd` into a folder, "
                "repository-relative paths fail; run commands from the repository root "
                "(`cd` back, or pass the folder as an argument).")
    if f.kind == "rejected":
        return f"- Ask before running {code(f.key)}: the user has refused it."
    instead = f"; use {code(f.fix)} instead" if f.fix else ""
    # The key is normalized (numbers collapsed) to cluster; show a command as it was typed.
    typed = next((e.failing for e in f.evidence), f.key)
    return f"- Do not retry {code(parse_command(typed).head or f.key)} when it fails ({_PHRASES.get(f.category, 'error')}){instead}."


def recommend(findings: Sequence[Finding]) -> list[Recommendation]:
    """One rule per finding, in the findings' rank order. A retry loop of a command that has
    its own rule adds its count to that rule instead of a rule of its own."""
    commands = {normalize(f.key) for f in findings if f.kind in ("runner", "alternative", "prerequisite")}
    retries = {f.key: f.peak for f in findings if f.kind == "loop"}
    out = []
    for f in findings:
        if f.kind == "loop" and f.key in commands:
            continue
        out.append(Recommendation(
            fingerprint=f.fingerprint, section=_SECTION_OF[f.kind], content=_content(f, retries),
            target="memory" if f.kind in _MEMORY_KINDS else "context",
            tokens_saved=f.wasted_tokens // max(f.sessions, 1), evidence_count=f.sessions,
            finding_ids=(f.id,),
        ))
    return out
