"""One session → what went wrong in it and what fixed it (pure)."""
from __future__ import annotations

import difflib
import posixpath
import re
from collections import defaultdict
from collections.abc import Callable
from collections.abc import Sequence
from typing import NamedTuple

from headroom_ci.mining.commands import main_words
from headroom_ci.mining.paths import relativize
from headroom_ci.mining.signature import CallSig
from headroom_ci.mining.signature import normalize
from headroom_ci.mining.signature import shell_command
from headroom_ci.mining.signature import signature_of
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.model import ToolCall

# Failures that say nothing about the repository: the network, the clock, a
# parallel call's error, tests failing while code is being written.
NOT_LEARNINGS = frozenset({
    "timeout", "network", "rate_limit", "interrupted", "sibling_error", "test_failure",
    "syntax_error", "edit_mismatch", "not_read_first", "tool_unavailable",
})
# Failures of the environment, not of the code: a fix after an edit still counts.
_ENVIRONMENT = frozenset({"module_not_found", "command_not_found", "missing_script", "file_not_found"})
WINDOW = 12  # calls after a failure in which its fix is looked for
LOOP_MIN = 3

_MODULE = re.compile(r"No module named '?([\w.]+)|Cannot find module '([^']+)'|cannot find package \"?([\w./-]+)")
# zsh says "command not found: psql", bash and sh "psql: command not found".
_NOT_FOUND_PROGRAM = re.compile(r"command not found: ([\w.+-]+)|(?:^|\s|:)([a-zA-Z_][\w.+-]*): (?:command )?not found")
_EMPTY = re.compile(r"^\s*(?:no matches found|no files found|found 0 |0 matches|no results)", re.I)
_HEADER = re.compile(r"^(?:exit code:? -?\d+|process exited with code -?\d+|chunk id:|wall time:|"
                     r"original token count:|output:|<tool_use_error>|</tool_use_error>|error: exit code)",
                     re.I)
_TELLING = re.compile(r"error|not found|no such|missing|denied|no rule|exceed|cannot|unable|fatal|"
                      r"does not exist|not permitted|too large", re.I)
_HINT = re.compile(r"did you mean:? ['\"`]?([\w./@-]+?)['\"`]?\??$", re.I | re.M)
# zsh "permission denied: PATH", bash "PATH: Permission denied".
_DENIED = re.compile(r"permission denied: ([^\s'\",()]+)", re.I)
_DENIED_BASH = re.compile(r"([^\s'\",():]+): permission denied", re.I)
_CD_MISSING = re.compile(r"(?:^|\s|:)cd(?::\d+)?: (?:no such file or directory: (\S+)|(\S+): No such file or directory)")
_UNKNOWN_SKILL = re.compile(r"^Unknown skill: ([\w:.-]+)")
_FORCE = frozenset({"-f", "--force", "--force-with-lease", "--no-verify", "-n", "--allow-empty", "-D"})
# Grep filters that narrow a search: an empty answer says nothing about the folder.
_NARROWING = ("glob", "type", "include", "-i", "multiline")
_PAGED = frozenset({"offset", "limit", "start_line", "end_line", "line_start", "pages", "startLine"})


class Observation(NamedTuple):
    kind: str              # runner | alternative | prerequisite | variant | command (no fix seen) | path |
                           # scope | large_file | permission | rejected | loop | skill | workdir
    key: str               # what failed, as clustered across sessions
    fix: str | None        # what worked instead, as clustered
    category: str
    failing: str           # the failing call, repo-relative, for evidence
    fixing: str | None     # the call that worked
    error: str             # the error's telling line
    detail: str | None     # a missing module, a script name
    wasted_tokens: int
    occurrences: int = 1


def _listed_path(line: str, roots: Sequence[str]) -> str | None:
    """The path a listing or search line names (`src/a.py`, `./src/a.py`, `src/a.py:12:…`), or None
    for anything else (`?? src/a.py` from git status, prose)."""
    token = line.strip().split(":", 1)[0]
    if not token or any(c.isspace() for c in token) or "/" not in token:
        return None
    return relativize(token, roots).removeprefix("./")


def call_tokens(call: ToolCall) -> int:
    """What a call cost in context: its input and its full output, ~4 characters a token."""
    size = call.output_size + sum(len(v) for v in call.input.values() if isinstance(v, str))
    return size // 4 + 10


def error_line(call: ToolCall, roots: Sequence[str]) -> str:
    """The line that tells what went wrong: an error line if there is one, else the first."""
    lines = [ln.strip().replace("<tool_use_error>", "").replace("</tool_use_error>", "")
             for ln in call.output.splitlines()]
    # Gemini's shell output starts "Output: <first line>"; Codex's is a bare "Output:" header.
    lines = [ln[8:] if ln[:8].lower() == "output: " else ln for ln in lines]
    lines = [ln for ln in lines if ln and not _HEADER.match(ln)]
    telling = next((ln for ln in lines if _TELLING.search(ln)), lines[0] if lines else None)
    return relativize(telling, roots)[:160] if telling else call.error_category or "failed"


def is_empty_search(call: ToolCall) -> bool:
    if call.kind not in ("search", "glob") or call.is_error:
        return False
    text = call.output.strip()
    return not text or bool(_EMPTY.match(text))


def _detail(call: ToolCall, sig: CallSig) -> str | None:
    if call.error_category == "module_not_found":
        m = _MODULE.search(call.output)
        return next((g for g in m.groups() if g), None) if m else None
    if call.error_category == "command_not_found":
        m = _NOT_FOUND_PROGRAM.search(call.output)
        return (m.group(1) or m.group(2)) if m else sig.head.split(" ")[0] or None
    if call.error_category == "missing_script":
        return sig.tool or None
    return None


def _substitute(missing: CallSig, fix: CallSig) -> str | None:
    """The program that stands in for a missing one (`docker compose` for `docker-compose`,
    `python3` for `python`, `grep` for `rg`), or None when the fix runs the same tool another
    way (`pytest` → `uv run pytest`): then the command, not the program, is what failed."""
    if not missing.program:
        return None
    if fix.program != missing.program and (
            (_args(missing.target) and _args(missing.target) == _args(fix.target))
            or (missing.head.split()[1:] and missing.head.split()[1:] == fix.head.split()[1:])):
        return fix.program  # `python x.py` → `python3 x.py`
    if fix.tool == missing.tool:
        return None
    parts = missing.program.split("-")
    if len(parts) > 1 and fix.target.split()[:len(parts)] == parts:
        return " ".join(parts)
    return fix.program or None


def _same_search(a: str | None, b: str | None) -> bool:
    """The same search, or one loosened (`def apply_discount` → `apply_discount`)."""
    if not a or not b:
        return False
    return a == b or (len(b) >= 4 and b in a) or (len(a) >= 4 and a in b)


def _args(command: str) -> list[str]:
    return [w for w in command.split()[1:] if not w.startswith("-")]


def _replaces(missing: str, other: str) -> bool:
    """After "command not found": `python x.py` → `python3 x.py`, `rg -n foo src` → `grep -rn foo src`,
    `docker-compose up` → `docker compose up`: the same arguments under another program."""
    want = _args(missing)
    if not want:
        return False  # a bare program: any other bare command would match
    have = other.split()
    if have and missing.split()[0].replace("-", " ").split() == have[:len(missing.split()[0].split("-"))]:
        return True
    return want == _args(other)[-len(want):]


def _flags(target: str) -> list[str]:
    """The flags of the main command only: not a piped `grep -E`'s."""
    words = main_words(target)
    return list(dict.fromkeys(w.split("=", 1)[0] for w in words if w.startswith("-") and len(w) > 1 and w != "--"))


def _plain(target: str) -> list[str]:
    return [normalize(w) for w in main_words(target) if not w.startswith("-")]


def _similar_name(a: str, b: str) -> bool:
    """`logging.go` / `logger.go`, `.golangci.yml` / `.golangci.yaml`: a file renamed, not another file."""
    if a == b:
        return False
    stem_a, ext_a = posixpath.splitext(a)
    stem_b, ext_b = posixpath.splitext(b)
    if stem_a == stem_b:
        return True  # another extension
    if ext_a != ext_b or posixpath.commonprefix([stem_a, stem_b]).__len__() < 3:
        return False  # `common_test.go` / `hooks_test.go` share a suffix, not a name
    return difflib.SequenceMatcher(None, stem_a, stem_b).ratio() >= 0.6


def _folder(path: str) -> str:
    return posixpath.dirname(path.rstrip("/")) or "."


def _closest(wanted: str, candidates: set[str]) -> str | None:
    """The listed file that shares the most leading folders with the wanted path; None on a tie
    (`web/src/lib/api.ts` or `web/src/mocks/api.ts` for `web/src/api.ts`: a listing does not say)."""
    def shared(path: str) -> int:
        n = 0
        for a, b in zip(wanted.split("/"), path.split("/"), strict=False):
            if a != b:
                break
            n += 1
        return n
    ranked = sorted(candidates, key=lambda p: (-shared(p), p))
    if len(ranked) > 1 and shared(ranked[0]) == shared(ranked[1]):
        return None
    return ranked[0]


def is_narrowed(call: ToolCall) -> bool:
    """A search narrowed by a file filter or an output mode that can hide matches."""
    return any(call.input.get(k) for k in _NARROWING)


class _Session:
    def __init__(self, session: Session, roots: Sequence[str]) -> None:
        self.calls = session.tool_calls
        self.roots = roots
        self.sigs = [signature_of(c, roots) for c in self.calls]

    def failed(self, i: int) -> bool:
        return self.calls[i].is_error or is_empty_search(self.calls[i])

    def ok(self, j: int) -> bool:
        return not self.failed(j)

    def variant(self, i: int) -> int | None:
        """The same command run again with other flags or arguments, and passing: `gh pr diff --stat`
        → `gh pr diff --name-only`. Only when the error says the usage was wrong, or names the
        flag that fixed it (`use --force`, `Use -f if you really want to add them`)."""
        fail, call = self.sigs[i], self.calls[i]
        if not fail.head:
            return None
        for j in range(i + 1, min(i + 1 + WINDOW, len(self.calls))):
            sig = self.sigs[j]
            if sig.kind != "shell" or sig.head != fail.head or not self.ok(j):
                continue
            added = [f for f in _flags(sig.target) if f not in _flags(fail.target)]
            same_flags = sorted(_flags(sig.target)) == sorted(_flags(fail.target))
            same_args = _plain(sig.target) == _plain(fail.target)
            if (call.error_category == "usage_error" and same_args and not same_flags) or (
                    call.error_category == "http_error" and same_flags and not same_args):
                return j  # a wrong flag and only the flags changed, a wrong API path and only it changed
            if added and not set(added) & _FORCE and any(
                    re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", call.output) for f in added):
                return j  # the error's own hint (never a forcing one: `git add -f` adds an ignored file)
            return None
        return None

    def shell_fix(self, i: int) -> tuple[str, int] | None:
        fail, call = self.sigs[i], self.calls[i]
        edited = False
        for j in range(i + 1, min(i + 1 + WINDOW, len(self.calls))):
            sig = self.sigs[j]
            if sig.kind in ("edit", "write"):
                edited = True
            if sig.kind != "shell" or not sig.head:
                continue
            if sig.head == fail.head:
                if self.ok(j):
                    k = None if edited else self.prerequisite(i, j)
                    # The same command passed later: after a prerequisite ran, else flaky or fixed by editing code.
                    return ("prerequisite", k) if k is not None else ("resolved", j)
                continue
            if not self.ok(j) or (edited and call.error_category not in _ENVIRONMENT):
                continue
            if fail.tool and (sig.tool == fail.tool or sig.tool.endswith(" " + fail.head)):
                return "runner", j  # the same tool under another runner: `pip install` → `uv pip install`
            # A missing program replaced by another doing the same: a fact of the environment.
            if call.error_category == "command_not_found" and (
                    _replaces(fail.target, sig.target) or sig.purpose == fail.purpose != "other"):
                return "runner", j
            if sig.purpose == fail.purpose != "other":
                return "alternative", j
        return None

    def prerequisite(self, i: int, j: int) -> int | None:
        """A command that ran between a failure and the same command passing, and that prepares it:
        an install or a build, or the command the error itself asked for (`run mix deps.get`)."""
        out = self.calls[i].output
        if self.sigs[i].program in ("git", "gh"):
            return None  # `git pull` before `git push`: the remote's state that day, not the repository's
        for k in range(i + 1, j):
            sig = self.sigs[k]
            if sig.kind != "shell" or not sig.head or sig.head == self.sigs[i].head or not self.ok(k):
                continue
            if sig.purpose in ("install", "build") or re.search(rf"(?<![\w-]){re.escape(sig.head)}(?![\w-])", out):
                return k
        return None

    def path_fix(self, i: int) -> tuple[str, int | None] | None:
        """Where the file really is: the error's own hint ("Did you mean .golangci.yaml?"), the same
        name read next, a file renamed in the same folder, else the same name found by a listing
        or search."""
        wanted = self.sigs[i].path
        if not wanted:
            return None
        name = posixpath.basename(wanted)
        folder = _folder(wanted)
        m = _HINT.search(self.calls[i].output.replace("</tool_use_error>", ""))
        if m:
            hint = relativize(m.group(1), self.roots).removeprefix("./")
            if "/" not in hint and folder != ".":
                hint = posixpath.join(folder, hint)
            if hint != wanted:
                return hint, None
        window = range(i + 1, min(i + 1 + WINDOW, len(self.calls)))
        for j in window:
            sig = self.sigs[j]
            if sig.kind in ("read", "edit") and self.ok(j) and sig.path and sig.path != wanted and (
                    posixpath.basename(sig.path) == name
                    or (_folder(sig.path) == folder and _similar_name(name, posixpath.basename(sig.path)))):
                return sig.path, j
        for j in window:
            if self.sigs[j].kind in ("glob", "search", "shell") and self.ok(j):
                listed = {found for line in self.calls[j].output.splitlines()[:200]
                          if (found := _listed_path(line, self.roots)) and found != wanted and (
                              posixpath.basename(found) == name or (
                                  _folder(found) == folder and _similar_name(name, posixpath.basename(found))))}
                if listed:
                    best = _closest(wanted, listed)
                    return (best, j) if best else None
        return None

    def paged_read(self, i: int) -> int | None:
        path = self.sigs[i].path
        for j in range(i + 1, min(i + 1 + WINDOW, len(self.calls))):
            if self.sigs[j].kind == "read" and self.sigs[j].path == path and self.ok(j) \
                    and _PAGED & set(self.calls[j].input):
                return j
        return None

    def scope_fix(self, i: int) -> int | None:
        fail = self.sigs[i]
        for j in range(i + 1, min(i + 1 + WINDOW, len(self.calls))):
            sig = self.sigs[j]
            if sig.kind in ("search", "glob") and self.ok(j) and sig.path != fail.path \
                    and _same_search(fail.pattern, sig.pattern):
                return j
        return None

    def moved_away(self, i: int) -> bool:
        """An earlier command of the session left the shell in another folder (`cd sub && …`): the
        shell keeps its working directory between commands."""
        for j in range(i - 1, -1, -1):
            sig = self.sigs[j]
            if sig.kind == "shell" and sig.workdir not in (None, ".", "./", "~", "/") and self.ok(j) \
                    and not sig.workdir.startswith("/"):
                return True
        return False


class Touched(NamedTuple):
    """What one session did without failing, for base rates across sessions (a write creates a
    file, it does not show that one was there)."""
    paths: frozenset[str]           # files and folders read, edited, listed or searched with success
    searched_ok: frozenset[str]     # folders or files a search found something in
    searched_empty: frozenset[str]  # ... found nothing in (a narrowed search is not counted)


def touched(session: Session, *, roots: Sequence[str]) -> Touched:
    paths: set[str] = set()
    ok: set[str] = set()
    empty: set[str] = set()
    for call in session.tool_calls:
        if call.kind not in ("read", "edit", "search", "glob"):
            continue
        sig = signature_of(call, roots)
        if not sig.path or call.is_error:
            continue
        if call.kind in ("search", "glob"):
            if is_empty_search(call):
                if not is_narrowed(call):
                    empty.add(sig.path)
                continue
            ok.add(sig.path)
        paths.add(sig.path)
    return Touched(frozenset(paths), frozenset(ok), frozenset(empty))


def observe(session: Session, *, roots: Sequence[str]) -> list[Observation]:
    s = _Session(session, roots)
    out: list[Observation] = []
    fixes: dict[str, str] = {}  # failing signature → the head that replaced it, for loops
    for i, call in enumerate(s.calls):
        if not s.failed(i):
            continue
        sig, category = s.sigs[i], call.error_category or "empty_result"
        if category in NOT_LEARNINGS:
            continue
        obs = _observe_one(s, i, sig, category)
        if obs is not None:
            out.append(obs)
            if obs.fix and sig.kind == "shell":
                fixes[sig.signature] = obs.fixing or obs.fix
    out.extend(_loops(s, fixes))
    return out


def _denied(call: ToolCall, sig: CallSig, roots: Sequence[str]) -> str | None:
    """What a refusal is about: the path it names, else the construct the sandbox refuses (a heredoc's
    temp file, a backslash line continuation); None when it names nothing a rule could say."""
    m = _DENIED.search(call.output) or _DENIED_BASH.search(call.output)
    named = relativize(m.group(1), roots).removeprefix("./") if m else ""
    if named and named not in (".", "/") and ("/" in named or "." in named):
        return "<<heredoc" if named.startswith(("/tmp", "<tmp>", "~/.cache")) and "<<" in sig.target else named
    if "<<" in sig.target:
        return "<<heredoc"
    if "\\\n" in shell_command(call.input) or " \\ " in sig.target:
        return "\\ line continuation"
    return None


def _observe_one(s: _Session, i: int, sig: CallSig, category: str) -> Observation | None:
    call = s.calls[i]

    def seen(kind: str, key: str, fix: str | None, fixing: str | None) -> Observation:
        return Observation(kind, key, fix, category, sig.target, fixing, error_line(call, s.roots),
                           _detail(call, sig), call_tokens(call))

    if category == "user_rejected":
        # A command the user refused; a rejected plan or edit is how plan mode and review work.
        return seen("rejected", sig.head, None, None) if sig.kind == "shell" and sig.head else None
    if sig.kind == "other":
        m = _UNKNOWN_SKILL.match(error_line(call, s.roots))
        return seen("skill", m.group(1), None, None) if m else None
    if sig.kind == "shell":
        if category == "permission_denied":
            what = _denied(call, sig, s.roots)
            return seen("permission", what, None, None) if what else None
        if category == "file_not_found":
            m = _CD_MISSING.search(call.output)
            gone = (m.group(1) or m.group(2)) if m else None
            if gone and not gone.startswith(("/", "~")) and s.moved_away(i):
                return seen("workdir", "cd", None, None)
        j = s.variant(i)
        if j is not None:
            return _variant(s, i, j, seen)
        found = s.shell_fix(i)
        if found is None:
            return seen("command", sig.head, None, None) if sig.head else None
        kind, j = found
        if kind == "resolved":
            return None
        substitute = _substitute(sig, s.sigs[j]) if category == "command_not_found" and kind != "prerequisite" else None
        if substitute:
            # Another program stands in whatever it is asked to do: the missing program is the key.
            return seen(kind, sig.program, substitute, s.sigs[j].target)
        return seen(kind, sig.head, s.sigs[j].head, s.sigs[j].target)
    if not sig.path:
        return None
    # A failure without a fix is still observed: the fix threshold is counted against them.
    if sig.kind == "read" and category == "too_large":
        paged = s.paged_read(i)
        return seen("large_file", sig.path, "paged" if paged is not None else None,
                    s.sigs[paged].target if paged is not None else None)
    if sig.kind in ("read", "edit", "write", "search", "glob") and category == "file_not_found":
        moved = s.path_fix(i)
        fixing = (s.sigs[moved[1]].target if moved[1] is not None else moved[0]) if moved else None
        return seen("path", sig.path, moved[0] if moved else None, fixing)
    if category == "empty_result" and not is_narrowed(call) and sig.path not in (".", ""):
        hit = s.scope_fix(i)
        where = s.sigs[hit].path if hit is not None else None
        return seen("scope", sig.path, where, s.sigs[hit].target if hit is not None and where else None)
    return None


def _variant(s: _Session, i: int, j: int, seen: Callable[[str, str, str | None, str | None], Observation]
             ) -> Observation:
    """The key names what was wrong (the flag the fix dropped, or the arguments' shape), the fix
    what replaced it."""
    fail, fix = s.sigs[i], s.sigs[j]
    dropped = [f for f in _flags(fail.target) if f not in _flags(fix.target)]
    added = [f for f in _flags(fix.target) if f not in _flags(fail.target)]
    if dropped or added:
        return seen("variant", " ".join([fail.head, *dropped]), " ".join([fix.head, *added]), fix.target)
    key, to = _shape(fail), _shape(fix)
    if key == to or key == fail.head or to == fix.head:
        return seen("command", fail.head, None, None)  # no shape to tell apart: not a fix a rule can say
    return seen("variant", key, to, fix.target)


def _shape(sig: CallSig) -> str:
    """The head and its plain arguments, numbers and hashes collapsed: `gh api repos/o/r/pulls/N/comments/N`."""
    words = [normalize(w) for w in main_words(sig.target)]
    head = sig.head.split()
    rest = []
    for w in words[len(head):]:
        if w.startswith("-") or not re.fullmatch(r"[\w./:<>-]+", w):
            break  # what follows a flag is its value, not the command's shape
        rest.append(w)
    return " ".join([*head, *rest[:2]])


def _loops(s: _Session, fixes: dict[str, str]) -> list[Observation]:
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, call in enumerate(s.calls):
        if call.is_error and (call.error_category or "") not in NOT_LEARNINGS | {"user_rejected"}:
            groups[(s.sigs[i].signature, call.error_category or "tool_error")].append(i)
    out = []
    for (signature, category), idx in groups.items():
        if len(idx) < LOOP_MIN:
            continue
        first = s.calls[idx[0]]
        sig = s.sigs[idx[0]]
        fix = fixes.get(signature)
        out.append(Observation(
            "loop", normalize(sig.target), fix, category, sig.target, fix, error_line(first, s.roots),
            None, sum(call_tokens(s.calls[i]) for i in idx[1:]), len(idx)))
    return out
