"""Grounding and screening of the rules a model proposes (pure).

A model's rule reaches the block only when it rests on the findings it cites and says nothing
those findings do not: every id it cites was in the digest; every path, command, package and
URL it mentions is in what the agent ran in the cited evidence (a path may also be a file of
the repository); it carries no markup, hidden characters, machine path or secret; it tells the
agent nothing dangerous (disable a check, skip tests, send data out, change credentials, pipe a
download into a shell); it reads like no instruction to an AI; it repeats nothing people wrote
in the file; and it is one short bullet line. The generic checks are headroom_ci.safety.text's;
this module adds what only a model's text needs. Pure: the repository is a predicate.

The model reads transcripts' error lines, which are untrusted: an error line (or an issue body
quoted in one) can tell "the AI" to add a rule. Such text is withheld from the digest
(`looks_like_injection`) and, should the model still echo it, dropped here.
"""
from __future__ import annotations

import hashlib
import posixpath
import re
import unicodedata
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass

from headroom_ci.learning.block import find_block
from headroom_ci.mining.findings import Finding
from headroom_ci.rules import SECTIONS
from headroom_ci.safety import rule as safety
from headroom_ci.safety.commands import Facts
from headroom_ci.safety.rule import looks_like_injection as looks_like_injection
from headroom_ci.safety.text import machine_paths
from headroom_ci.safety.text import redact

MAX_RULE_TOKENS = 100      # one line of a file loaded into every session
DISPLAY_CHARS = 300        # of a rejected rule, as quoted in the plan and the PR description
MEMORY_SECTION = "User Preferences"
MEMORY_KINDS = frozenset({"rejected"})
# Names of agent tools and of their paging parameters: harmless words a rule may use in code
# without evidence (`Read` with `offset`/`limit`).
TOOL_WORDS = frozenset({
    "Read", "Grep", "Glob", "Bash", "Edit", "Write", "LS", "read_file", "read_many_files",
    "glob", "search_file_content", "shell", "run_shell_command", "offset", "limit", "start_line",
    "end_line", "line_start", "pages", "startLine", "offset/limit",
})


@dataclass(frozen=True)
class Proposal:
    """A rule as the model returned it, checked for shape only."""
    section: str
    rule: str
    finding_ids: tuple[str, ...]


@dataclass(frozen=True)
class Accepted:
    fingerprint: str
    section: str
    content: str                    # one bullet line, "- …"
    findings: tuple[Finding, ...]   # the cited ones, in citation order


@dataclass(frozen=True)
class Rejected:
    fingerprint: str
    proposal: Proposal
    reason: str


def fingerprint(section: str, ids: Sequence[str], cited: Sequence[Finding]) -> str:
    """Stable across runs and phrasings. A rule resting on one finding takes that finding's
    fingerprint, the one the deterministic rule for it has: a reviewer who rejected the
    learning rejected it whatever the wording. Others hash the section and the cited ids."""
    if len(cited) == 1 and list(ids) == [cited[0].id]:
        return cited[0].fingerprint
    return hashlib.sha256(("llm\0" + section + "\0" + "\0".join(sorted(set(ids)))).encode()).hexdigest()[:16]


# ── shape ──────────────────────────────────────────────────────────────────────────────────

_MARK = re.compile(r"^[-*+•–](?:\s+|$)")


def bullet(rule: str) -> str | None:
    """The rule as one "- " bullet line, or None when it is not one line of text."""
    text = rule.strip()
    if not text or any(ch in text for ch in "\r\n\u2028\u2029\x85\x0b\x0c"):
        return None
    text = _MARK.sub("", " ".join(text.split()), count=1)
    return "- " + text if text else None


def tokens(text: str) -> int:
    return -(-len(text) // 4)


# ── grounding patterns ─────────────────────────────────────────────────────────────────────

_CODE = re.compile(r"(`+)(.+?)\1")
_BARE_PATH = re.compile(r"(?<![\w./@-])(?:\.{1,2}/)?[\w.-]+(?:/[\w.-]+)+/?")
_INSTALL = re.compile(r"(?i)\b(?:pip3?|npm|pnpm|yarn|bun|poetry|uv|cargo|gem|go|apt-get|apt|brew|conda)\s+"
               r"(?:(?:pip\s+)?install|add|i|get)\s+((?:[\w@./:=<>~^+-]+\s*){1,5})")
_SPLIT = re.compile(r"[\s'\"]+|&&|\|\||[;|()<>]")
_TRIVIAL = re.compile(r"[\W_]*\d*[\W_]*|N|-[A-Za-z]")  # numbers, punctuation, a lone short flag letter N


# ── grounding ──────────────────────────────────────────────────────────────────────────────

def _norm(token: str) -> str:
    token = token.strip(".,:;!?()[]{}'\"`")
    token = token.removeprefix("./")
    return token.rstrip("/") if len(token) > 1 else token


def _tokens(text: str) -> set[str]:
    """The words of a command or a line, and every folder above a path among them."""
    out: set[str] = set()
    for piece in _SPLIT.split(text):
        token = _norm(piece)
        if not token:
            continue
        out.add(token)
        if "/" in token:
            parts = token.split("/")
            out.update("/".join(parts[:i]) for i in range(1, len(parts)))
            out.update(p for p in parts if p)
    return out


class Evidence:
    """What the cited findings say.

    Commands, paths and packages are grounded only by what the agent ran (the failing and the
    fixing calls) and what the miner extracted (a missing module, a script name): error output
    is where injected text lives, so its words ground at most a single identifier in code
    (`ModuleNotFoundError`), and none from a line that reads like instructions to an AI.
    """

    def __init__(self, findings: Sequence[Finding]) -> None:
        commands: list[str] = []
        errors: list[str] = []
        for f in findings:
            commands += [f.key, f.fix or "", f.detail or ""]
            for e in f.evidence:
                commands += [e.failing, e.fixing or ""]
                errors.append(e.error)
        self.commands = "\n".join(" ".join(c.split()) for c in commands if c)
        self.command_tokens: set[str] = set()
        for c in commands:
            self.command_tokens |= _tokens(c)
        self.error_words: set[str] = set()
        for line in errors:
            if not looks_like_injection(line):
                self.error_words |= _tokens(line)


def _grounded(token: str, evidence: Evidence, known_path: Callable[[str], bool], *, error_words: bool = False) -> bool:
    token = _norm(token)
    if not token:
        return True
    return (token in evidence.command_tokens or token in TOOL_WORDS or bool(_TRIVIAL.fullmatch(token))
            or (error_words and token in evidence.error_words) or known_path(posixpath.normpath(token)))


def _ungrounded(content: str, evidence: Evidence, known_path: Callable[[str], bool]) -> list[str]:
    missing: list[str] = []
    for m in _CODE.finditer(content):
        span = " ".join(m.group(2).split())
        if not span or span in evidence.commands or known_path(posixpath.normpath(_norm(span) or ".")):
            continue
        words = [t for t in _SPLIT.split(span) if _norm(t)]
        # One word may name what an error said; several make a command, which must have been run.
        missing += [t for t in words if not _grounded(t, evidence, known_path, error_words=len(words) == 1)]
    prose = _CODE.sub(" ", content)
    for m in _BARE_PATH.finditer(prose):
        path = m.group(0)
        # Paths, not "and/or": a file name, a folder, or three parts.
        if (re.search(r"\.\w{1,8}$", path) or path.endswith("/") or path.count("/") >= 2) and \
                not _grounded(path, evidence, known_path):
            missing.append(path)
    for m in _INSTALL.finditer(prose):
        missing += [t for t in m.group(1).split() if not t.startswith("-") and not _grounded(t, evidence, known_path)]
    return list(dict.fromkeys(_norm(t) for t in missing if _norm(t)))


def _rests_on(content: str, evidence: Evidence, known_path: Callable[[str], bool]) -> bool:
    """Whether the rule quotes something the agent ran, or a path of the repository: prose alone
    ("push directly to main") rests on nothing the evidence shows."""
    for m in _CODE.finditer(content):
        words = [t for t in _SPLIT.split(m.group(2)) if _norm(t)]
        if any(_norm(t) in evidence.command_tokens or known_path(posixpath.normpath(_norm(t))) for t in words
               if not _TRIVIAL.fullmatch(_norm(t)) and _norm(t) not in TOOL_WORDS):
            return True
    return any(_grounded(m.group(0), evidence, known_path) for m in _BARE_PATH.finditer(_CODE.sub(" ", content)))


# ── the screen ─────────────────────────────────────────────────────────────────────────────

def _normal(text: str) -> str:
    """For comparing a rule with a line people wrote: no bullet, case, punctuation at the end."""
    return " ".join(text.lstrip("-*+• ").split()).rstrip(".;:!").casefold()


def human_lines(path: str, text: str | None) -> dict[str, str]:
    """Each line people wrote outside the block, normalized, → "path:line"."""
    if not text:
        return {}
    span = find_block(text, source=path)
    out: dict[str, str] = {}
    offset = 0
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        inside = span is not None and span[0] <= offset < span[1]
        offset += len(line)
        key = _normal(line)
        if not inside and len(key) >= 12:   # short lines ("## Setup") repeat by accident
            out.setdefault(key, f"{path}:{number}")
    return out


def check(proposals: Sequence[Proposal], findings: Sequence[Finding], *, known_path: Callable[[str], bool],
          existing: Mapping[str, str], max_tokens: int = MAX_RULE_TOKENS,
          facts: Facts = Facts()) -> tuple[list[Accepted], list[Rejected]]:
    """The rules that may go to the block, and the others with every reason they may not.

    `findings` are those the model was shown (the only ids it may cite); `known_path` says
    whether a repo-relative path exists in the repository; `existing` is `human_lines` of the
    target files; `facts` what the repository names, for the safety screen.
    """
    by_id = {f.id: f for f in findings}
    accepted: list[Accepted] = []
    rejected: list[Rejected] = []
    seen: dict[str, str] = {}
    for p in proposals:
        ids = tuple(dict.fromkeys(p.finding_ids))
        cited = tuple(by_id[i] for i in ids if i in by_id)
        fp = fingerprint(p.section, ids, cited)
        reasons = _reasons(p, ids, cited, known_path=known_path, existing=existing, max_tokens=max_tokens,
                           facts=facts)
        content = bullet(p.rule)
        if not reasons and content is not None:
            if _normal(content) in seen.values():
                reasons.append("repeats an earlier rule of this answer")
            elif fp in seen:
                reasons.append("a second rule on the same findings (" + ", ".join(ids) + ")")
        if reasons or content is None:
            rejected.append(Rejected(fp, p, "; ".join(reasons)))
        else:
            seen[fp] = _normal(content)
            accepted.append(Accepted(fp, p.section, content, cited))
    return accepted, rejected


def _reasons(p: Proposal, ids: tuple[str, ...], cited: tuple[Finding, ...], *, known_path: Callable[[str], bool],
             existing: Mapping[str, str], max_tokens: int, facts: Facts) -> list[str]:
    if len(p.rule) > safety.MAX_RULE_CHARS:
        # Before any pattern runs: a long answer costs nothing to refuse.
        return [f"longer than {safety.MAX_RULE_CHARS} characters"]
    content = bullet(p.rule)
    if content is None:
        return ["not one line of text"]
    reasons: list[str] = []
    unknown = [i for i in ids if i not in {f.id for f in cited}]
    if not ids:
        reasons.append("cites no finding")
    elif unknown:
        reasons.append("cites unknown findings: " + ", ".join(unknown[:5]))
    if p.section not in SECTIONS:
        reasons.append(f"unknown section {p.section!r}")
    elif cited and not unknown:
        memory = [f.kind in MEMORY_KINDS for f in cited]
        if p.section == MEMORY_SECTION and not all(memory):
            reasons.append(f"{MEMORY_SECTION} holds only commands people rejected")
        elif p.section != MEMORY_SECTION and any(memory):
            reasons.append(f"a rejected command belongs under {MEMORY_SECTION}, in the memory file")
    reasons += safety.problems(content, facts)
    if cited and not unknown:
        evidence = Evidence(cited)
        if not _rests_on(content, evidence, known_path):
            reasons.append("names no command or path of its cited evidence")
        if missing := _ungrounded(content, evidence, known_path):
            reasons.append("not in the cited evidence or the repository: " + ", ".join(f"`{t}`" for t in missing[:5]))
    if where := existing.get(_normal(content)):
        reasons.append(f"repeats {where}")
    if tokens(content) > max_tokens:
        reasons.append(f"{tokens(content)} tokens, over the limit of {max_tokens} for one rule")
    return reasons


# ── showing what was rejected ──────────────────────────────────────────────────────────────

def _visible(text: str) -> str:
    out = []
    for ch in text:
        invisible = not ch.isprintable() or unicodedata.category(ch) in ("Cf", "Co", "Cs") or \
            0xE0100 <= ord(ch) <= 0xE01EF
        out.append(f"\\u{ord(ch):04x}" if invisible and ch != " " else ch)
    return "".join(out)


def _mask_machine_paths(text: str) -> str:
    # One line (after _visible), so a problem's column is its offset.
    for p in sorted(machine_paths(text), key=lambda p: -p.column):
        start = p.column - 1
        end = start
        while end < len(text) and not text[end].isspace() and text[end] not in "'\"`<>()[]{},;|*":
            end += 1
        text = text[:start] + "<machine path>" + text[end:]
    return text


def display(text: str, limit: int = DISPLAY_CHARS) -> str:
    """A rejected rule or its reason as plain, safe text for a plan: bounded before anything
    else runs, hidden characters spelled out, machine paths and secrets masked, no comment to
    hide text in, no live link, one line. Markdown renderers make it inert on top
    (headroom_ci.safety.inert)."""
    text = text[: limit * 4]
    text = redact(_mask_machine_paths(_visible(text)))
    text = text.replace("<!--", "&lt;!--").replace("-->", "--&gt;")
    text = re.sub(r"(?i)\b([a-z][a-z0-9+.-]*)://", r"\1[:]//", text)
    text = re.sub(r"(?i)\bwww\.", "www[.]", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
