"""Safety checks for text that may end up in an agent's context file.

Every piece of marker-block text passes these checks before it reaches a rule, a plan, a PR
or a commit: the LLM screening, the ``check`` pre-commit hook and the PR body reuse them.
Pure: str in, findings out; no I/O.

Each check returns ``Problem`` tuples with 1-based line and column counted in code points,
lines broken at ``\\r\\n``, ``\\r`` or ``\\n`` as editors (and headroom_ci.learning.block's error
messages) count them, not at U+2028 as str.splitlines would. ``Problem.text`` is safe to
print: secrets are masked.
"""
from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Callable
from typing import NamedTuple

# Re-exported: the check hook, the LLM screen and older callers import them from here.
from headroom_ci.safety.redact import ENTROPY_THRESHOLD as ENTROPY_THRESHOLD
from headroom_ci.safety.redact import redact as redact
from headroom_ci.safety.redact import scan
from headroom_ci.safety.redact import SECRET_PATTERNS as SECRET_PATTERNS
from headroom_ci.safety.redact import shannon_entropy as shannon_entropy


class Problem(NamedTuple):
    kind: str
    line: int
    column: int
    text: str


LINE_BREAK = re.compile(r"\r\n|\r|\n")


class _Locator:
    """Offset → (line, column), both 1-based."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [m.end() for m in LINE_BREAK.finditer(text)]

    def __call__(self, offset: int) -> tuple[int, int]:
        i = bisect.bisect_right(self._starts, offset) - 1
        return i + 1, offset - self._starts[i] + 1


def _excerpt(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ── hidden unicode ───────────────────────────────────────────────────────────────────────────

# Trojan Source (CVE-2021-42574): these reorder what a reviewer sees versus what the agent reads.
_BIDI = frozenset([*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C])
# Invisible joiners and spaces: they split or hide words without a visible trace in a diff.
_ZERO_WIDTH = frozenset([0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x180E])
# Whitespace controls that are part of ordinary text (CR: CRLF files).
_ALLOWED_CONTROLS = frozenset("\t\n\r")


def _hidden_kind(ch: str, offset: int) -> str | None:
    cp = ord(ch)
    if cp in _BIDI:
        return "bidi-control"
    if cp in _ZERO_WIDTH:
        # A BOM at the very start of a file is an encoding mark, not content.
        return None if (cp == 0xFEFF and offset == 0) else "zero-width"
    category = unicodedata.category(ch)
    if category == "Cf":
        # Other format characters: soft hyphen, Unicode tags (U+E0000 block, used to smuggle
        # ASCII instructions invisibly), interlinear annotations, …
        return "invisible-char"
    if category == "Cc" and ch not in _ALLOWED_CONTROLS:
        # C0/C1 controls (ESC, NUL, …): invisible in a rendered diff, active in a terminal.
        return "invisible-char"
    if category in ("Zl", "Zp"):
        # U+2028/U+2029: a line break to some readers and not to others.
        return "invisible-char"
    if 0xE0100 <= cp <= 0xE01EF:
        # Variation selectors supplement: no visible effect on Latin text, so runs of them can
        # carry arbitrary bytes. U+FE00–U+FE0F are left alone: emoji presentation uses them.
        return "invisible-char"
    return None


def _codepoint_name(ch: str) -> str:
    # Controls have no Unicode name, only an alias; the number is what a reader can search for.
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X} {name}" if name else f"U+{ord(ch):04X}"


def hidden_unicode(text: str) -> list[Problem]:
    """Invisible or reordering characters; a run of the same kind is one Problem.

    Runs are collapsed because tag-character smuggling produces hundreds in a row, and one
    finding per run is enough to locate and delete them.
    """
    locate = _Locator(text)
    problems: list[Problem] = []
    run_kind: str | None = None  # the kind of the run ending at the previous character
    run_start = run_len = 0
    for offset, ch in enumerate(text):
        # Printable ASCII, nearly all of the text, is never hidden: skip the lookups.
        kind = _hidden_kind(ch, offset) if not ch.isprintable() or ord(ch) > 0x7F else None
        if kind is not None and kind == run_kind:
            run_len += 1
            continue
        if run_kind is not None:
            problems.append(_hidden_problem(text, run_kind, run_start, run_len, locate))
            run_kind = None
        if kind is not None:
            run_kind, run_start, run_len = kind, offset, 1
    if run_kind is not None:
        problems.append(_hidden_problem(text, run_kind, run_start, run_len, locate))
    return problems


def _hidden_problem(text: str, kind: str, start: int, length: int,
                    locate: Callable[[int], tuple[int, int]]) -> Problem:
    line, column = locate(start)
    detail = _codepoint_name(text[start])
    if length > 1:
        detail += f" (+{length - 1} more)"
    return Problem(kind, line, column, detail)


# ── machine paths ────────────────────────────────────────────────────────────────────────────

# Where a path ends: whitespace, quotes, brackets and the punctuation that follows a path in
# prose or markdown.
_PATH_TAIL = r"""[^\s'"`<>()\[\]{},;|*]*"""
# A path starts at a boundary: not inside a word, a relative path (a/home/x) or $VAR/home.
_PATH_HEAD = r"(?<![\w.~$%-])"

_MACHINE_PATH = re.compile(
    _PATH_HEAD + r"(?:"
    r"/home/[\w.-]+"                       # a Linux user's home; also /home/runner/work/… on Actions
    r"|/Users/[\w.-]+"                     # a macOS user's home
    r"|/root(?![\w.-])"                    # root's home
    r"|/github/workspace(?![\w.-])"        # the workspace inside a container action
    r"|(?:/private)?/var/folders/[\w.-]+"  # macOS per-user temp dirs
    r"|/tmp/[\w.-]+"                       # filtered by _random_tmp: /tmp/build is fine, /tmp/tmpk3x9… not
    r")" + _PATH_TAIL,
)
_WINDOWS_HOME = re.compile(r"(?<![\w])[A-Za-z]:(?:\\{1,2}|/)Users(?:\\{1,2}|/)[^\s\\/'\"`<>|]+" + r"""[^\s'"`<>|,;]*""",
                           re.IGNORECASE)
# scheme://host/… : a path after a host is a URL path, not a file on somebody's machine.
# file:///home/… has no host, so it is not excluded.
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/'\"`<>]+[^\s'\"`<>]*")
_TRAILING_PUNCT = ".:,;!?"


def _random_tmp(path: str) -> bool:
    """Whether /tmp/<segment> names a per-run or per-user directory rather than a fixed one."""
    segment = path.split("/")[2]
    if segment.startswith("pytest-of-"):           # holds the user name
        return True
    if re.fullmatch(r"tmp[._-]?[A-Za-z0-9_]{6,}", segment):  # tempfile.mkdtemp(), mktemp
        return True
    # A long letters-and-digits run with several of each: a random suffix, not a word.
    for token in re.findall(r"[A-Za-z0-9]{8,}", segment):
        if sum(c.isdigit() for c in token) >= 2 and sum(c.isalpha() for c in token) >= 2:
            return True
    return False


def machine_paths(text: str) -> list[Problem]:
    """Absolute paths that belong to one machine or person (homes, runner and temp dirs)."""
    locate = _Locator(text)
    url_spans = [m.span() for m in _URL.finditer(text)]

    def in_url(offset: int) -> bool:
        return any(start < offset < end for start, end in url_spans)

    problems: list[Problem] = []
    for m in sorted([*_MACHINE_PATH.finditer(text), *_WINDOWS_HOME.finditer(text)], key=lambda m: m.start()):
        path = m.group(0).rstrip(_TRAILING_PUNCT)
        if in_url(m.start()):
            continue
        if path.startswith("/tmp/") and not _random_tmp(path):
            continue
        line, column = locate(m.start())
        problems.append(Problem("machine-path", line, column, _excerpt(path)))
    return problems


# ── secrets ──────────────────────────────────────────────────────────────────────────────────
# The table and the matching live in headroom_ci.safety.redact, which also redacts everything that
# leaves the process; here they report where a secret is, masked.


def mask(secret: str) -> str:
    """The first characters of a secret, then "…": at most 4, and at most a quarter of it."""
    return secret[: min(4, len(secret) // 4)] + "…"


def secrets(text: str) -> list[Problem]:
    """Strings that look like credentials; ``text`` shows only a masked prefix."""
    locate = _Locator(text)
    problems = [Problem(kind, *locate(start), mask(text[start:end])) for kind, start, end in scan(text)]
    return sorted(problems, key=lambda p: (p.line, p.column))


def screen(text: str) -> list[Problem]:
    """All checks, in reading order."""
    return sorted([*hidden_unicode(text), *machine_paths(text), *secrets(text)],
                  key=lambda p: (p.line, p.column))
