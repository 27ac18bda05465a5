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
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass

from headroom_ci.block import find_block
from headroom_ci.mining.findings import Finding
from headroom_ci.rules import SECTIONS
from headroom_ci.safety.text import hidden_unicode
from headroom_ci.safety.text import machine_paths
from headroom_ci.safety.text import redact
from headroom_ci.safety.text import secrets

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


# ── untrusted wording ──────────────────────────────────────────────────────────────────────

def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_AI = r"(?:ai|a\.i\.|llm|assistant|language model|model|agent|bot|claude|codex|gemini|copilot|cursor)s?"
_INJECTION = (
    _rx(r"\b(?:ignore|disregard|forget|override)\b[^.\n]{0,30}\b(?:previous|prior|above|earlier|preceding|all|"
        r"any|your|other|the)\b[^.\n]{0,20}\b(?:instructions?|rules|prompts?|messages|guidelines|directions)\b"),
    _rx(r"\bsystem\s+prompt\b"),
    _rx(r"\b(?:new|updated|additional|hidden|secret|special)\s+instructions?\b"),
    _rx(r"\bnote\s+(?:to|for)\s+(?:the\s+|any\s+)?" + _AI + r"\b"),
    _rx(r"\b" + _AI + r"\b[^.\n]{0,30}\b(?:must|should|shall|needs? to|are required to|are instructed to|have to)\b"
        r"[^.\n]{0,30}\b(?:add|write|insert|append|include|put|record)\b"),
    _rx(r"\b(?:add|write|insert|append|put|include|record)\b[^.\n]{0,40}\b(?:agents|claude|gemini|memory|"
        r"copilot-instructions)\.md\b"),
    _rx(r"\b(?:add|write|insert|append)\s+(?:this|the\s+following|these)\s+(?:rules?|lines?|instructions?|notes?)\b"),
    _rx(r"<\|?(?:im_start|im_end|system|endoftext)\|?>|\[/?INST\]|</?(?:system|instructions?)>"),
)


def looks_like_injection(text: str) -> bool:
    """Whether text addresses an AI with instructions, as prompt injection does."""
    return any(p.search(text) for p in _INJECTION)


_NEGATED = re.compile(r"(?:\bnever|\bnot|n't|\bno)\s+(?:ever\s+)?$", re.IGNORECASE)
_CHECKS = (r"(?:tests?|test\s+suites?|checks?|ci|hooks?|pre-commit|lint(?:ing|ers?|s)?|type[- ]?check(?:s|ing|ers?)?|"
           r"mypy|eslint|ruff|flake8|pylint|security|verification|validation|sandbox(?:ing)?|safety|guardrails?|"
           r"code\s+review|reviews?|signing|assertions?|warnings?|errors?|failures?)")
_SKIP = _rx(r"\b(?:skip(?:ping)?|bypass(?:ing)?|disabl(?:e|ing)|turn(?:ing)?\s+off|deactivat(?:e|ing)|"
            r"suppress(?:ing)?|silenc(?:e|ing)|comment(?:ing)?\s+out|ignor(?:e|ing)|mut(?:e|ing))\b"
            r"[^.;:\n]{0,30}?\b" + _CHECKS + r"\b")
_MASKING = _rx(r"--no-verify\b|\|\|\s*(?:true|:|exit\s+0)(?![\w-])|\bcontinue-on-error\b|\ballow[_-]failures?\b|"
               r"--dangerously-skip-permissions|--yolo\b|pytest\.mark\.(?:skip|xfail)|@(?:unittest\.)?skip\b|"
               r"\b(?:it|describe|test)\.skip\(|\bxit\(|type:\s*ignore|\bnoqa\b|eslint-disable|@ts-(?:ignore|nocheck)|"
               r"\bnosec\b|\bSKIP=\w")
_SECRET_NOUN = (r"(?:\b(?:secrets?|credentials?|passwords?|api[ _-]?keys?|private\s+keys?|ssh\s+keys?|"
                r"(?:access|auth|api|bearer|github|gh|npm|pypi|secret|session|personal\s+access)[ _-]?tokens?|"
                r"env(?:ironment)?\s+(?:variables|vars)|cookies?)\b|\.env\b)")
_EXFILTRATION = (
    _rx(r"\b(?:send|post|upload|exfiltrat\w*|leak|forward|share|e-?mail|transmit|expose|publish)\b[^;\n]{0,40}?"
        + _SECRET_NOUN),
    _rx(r"\bprintenv\b|\benv\s*\||\bset\s*\||\becho\s+[\"']?\$\{?\w*(?:TOKEN|SECRET|PASSW(?:OR)?D|KEY)\b"),
    _rx(r"(?:~|\$HOME|\$\{HOME\})/\.(?:ssh|aws|gnupg|netrc|npmrc|pypirc|docker/config)|\bid_(?:rsa|ed25519|ecdsa)\b|"
        r"\bcat\s+\S*\.env\b"),
    _rx(r"\b(?:curl|wget|http|httpie|nc|ncat|netcat)\b[^\n]*\s(?:-d|--data(?:-\w+)?|-F|--form|-T|--upload-file|"
        r"--post-(?:data|file))(?![\w-])"),
    re.compile(r"\$\{\{\s*secrets\.|\$\{?[A-Z][A-Z0-9_]*(?:TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|ACCESS_KEY)\b"),
)
_CREDENTIALS = (
    _rx(r"\b(?:change|rotate|reset|replace|regenerate|revoke|overwrite|modify|set|export|update|edit|remove|"
        r"delete)\b[^.;\n]{0,30}\b(?:credentials?|passwords?|api[ _-]?keys?|(?:access|auth|api|bearer|github|gh|"
        r"npm|pypi|deploy|personal\s+access)[ _-]?tokens?|ssh\s+keys?|deploy\s+keys?|secrets?|authorized_keys|"
        r"known_hosts)\b"),
    _rx(r"\bgit\s+config\b[^\n`]*\b(?:credential|url\.|user\.(?:email|name|signingkey))|\bgh\s+auth\s+(?:login|"
        r"logout|refresh|token|setup-git)\b|\bgit\s+remote\s+(?:set-url|add)\b|\b(?:npm|yarn|pnpm)\s+(?:login|"
        r"adduser|token)\b|\bdocker\s+login\b|\bssh-(?:keygen|add|copy-id)\b"),
)
_FETCH = r"(?:curl|wget|fetch|iwr|irm|invoke-webrequest|invoke-restmethod)"
_RUNNER = (r"(?:sudo\s+(?:-\S+\s+)*)?(?:env\s+(?:\S+=\S*\s+)*)?(?:(?:ba|z|k|c|tc|da|fi|a)?sh|python[\d.]*|perl|"
           r"ruby|node|php|pwsh|powershell|iex|invoke-expression|source)\b")
_PIPE_TO_SHELL = (
    _rx(r"\b" + _FETCH + r"\b[^\n]*?\|\s*" + _RUNNER),
    _rx(r"\b(?:(?:ba|z|k)?sh|source)\s+<\(\s*" + _FETCH + r"\b"),
    _rx(r"\$\(\s*" + _FETCH + r"\b"),
    _rx(r"\biex\s*\(|\binvoke-expression\b"),
)
_MARKUP = (
    (re.compile(r"<!--|-->"), "an HTML comment"),
    (_rx(r"headroom:learn"), "marker text"),
    (re.compile(r"!\[[^\]]*\]\("), "a markdown image"),
)
_TAG = re.compile(r"<\s*/?\s*[A-Za-z][\w:-]*(?:\s[^<>]*)?/?\s*>")
_URL = _rx(r"\b[a-z][a-z0-9+.-]*://[^\s`<>\"')\]]+|\bwww\.[^\s`<>\"')\]]+|\b(?:javascript|data|vbscript):(?!\s)")
_CODE = re.compile(r"(`+)(.+?)\1")
_BARE_PATH = re.compile(r"(?<![\w./@-])(?:\.{1,2}/)?[\w.-]+(?:/[\w.-]+)+/?")
_INSTALL = _rx(r"\b(?:pip3?|npm|pnpm|yarn|bun|poetry|uv|cargo|gem|go|apt-get|apt|brew|conda)\s+"
               r"(?:(?:pip\s+)?install|add|i|get)\s+((?:[\w@./:=<>~^+-]+\s*){1,5})")
_SPLIT = re.compile(r"[\s'\"]+|&&|\|\||[;|()<>]")
_TRIVIAL = re.compile(r"[\W_]*\d*[\W_]*|N|-[A-Za-z]")  # numbers, punctuation, a lone short flag letter N


def _first(patterns: Iterable[re.Pattern[str]], text: str) -> re.Match[str] | None:
    return next((m for p in patterns for m in [p.search(text)] if m), None)


def _skip_instruction(text: str) -> re.Match[str] | None:
    # "Do not skip tests" is a fine rule; "skip the tests" is not.
    for m in _SKIP.finditer(text):
        if not _NEGATED.search(text[max(0, m.start() - 12): m.start()]):
            return m
    return None


def _danger(content: str) -> list[str]:
    out = []
    if (m := _skip_instruction(content)) or (m := _MASKING.search(content)):
        out.append(f"tells the agent to disable a check or skip tests ({m.group(0).strip()!r})")
    if m := _first(_EXFILTRATION, content):
        out.append(f"could send out or expose secrets ({m.group(0).strip()!r})")
    if m := _first(_CREDENTIALS, content):
        out.append(f"touches credentials ({m.group(0).strip()!r})")
    if m := _first(_PIPE_TO_SHELL, content):
        out.append(f"pipes a download into a shell ({m.group(0).strip()!r})")
    if looks_like_injection(content):
        out.append("reads like an instruction to an AI (prompt injection)")
    return out


def _markup(content: str) -> list[str]:
    out = [what for pattern, what in _MARKUP if pattern.search(content)]
    if _TAG.search(_CODE.sub(" ", content)):
        out.append("HTML")
    return [f"contains {what}" for what in out]


def _generic(content: str) -> list[str]:
    out = []
    if hidden := hidden_unicode(content):
        out.append("hidden unicode: " + ", ".join(p.text for p in hidden))
    if machine_paths(content):
        out.append("an absolute machine path")
    if found := secrets(content):
        out.append("a secret-looking string (" + ", ".join(sorted({p.kind for p in found})) + ")")
    return out


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


def _urls(content: str, evidence: Evidence) -> list[str]:
    return [u for m in _URL.finditer(content) for u in [m.group(0).rstrip(".,;:")] if u not in evidence.commands]


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
          existing: Mapping[str, str], max_tokens: int = MAX_RULE_TOKENS) -> tuple[list[Accepted], list[Rejected]]:
    """The rules that may go to the block, and the others with every reason they may not.

    `findings` are those the model was shown (the only ids it may cite); `known_path` says
    whether a repo-relative path exists in the repository; `existing` is `human_lines` of the
    target files.
    """
    by_id = {f.id: f for f in findings}
    accepted: list[Accepted] = []
    rejected: list[Rejected] = []
    seen: dict[str, str] = {}
    for p in proposals:
        ids = tuple(dict.fromkeys(p.finding_ids))
        cited = tuple(by_id[i] for i in ids if i in by_id)
        fp = fingerprint(p.section, ids, cited)
        reasons = _reasons(p, ids, cited, known_path=known_path, existing=existing, max_tokens=max_tokens)
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
             existing: Mapping[str, str], max_tokens: int) -> list[str]:
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
    reasons += _markup(content) + _generic(content) + _danger(content)
    if cited and not unknown:
        evidence = Evidence(cited)
        if urls := _urls(content, evidence):
            reasons.append("a URL not in the evidence: " + ", ".join(urls[:3]))
        if missing := _ungrounded(content, evidence, known_path):
            reasons.append("not in the cited evidence or the repository: " + ", ".join(f"`{t}`" for t in missing[:5]))
    elif urls := [m.group(0) for m in _URL.finditer(content)]:
        reasons.append("a URL not in the evidence: " + ", ".join(urls[:3]))
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
    """A rejected rule or its reason as safe to quote in a plan, a job summary or a PR: hidden
    characters spelled out, machine paths and secrets masked, no comment to hide text in, no
    live link, one line, bounded."""
    text = redact(_mask_machine_paths(_visible(text)))
    text = text.replace("<!--", "&lt;!--").replace("-->", "--&gt;")
    text = re.sub(r"(?i)\b([a-z][a-z0-9+.-]*)://", r"\1[:]//", text)
    text = re.sub(r"(?i)\bwww\.", "www[.]", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
