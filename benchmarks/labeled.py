"""A labeled corpus for the quality evaluation: planted learnings, planted traps, and the answer key.

`build(root, seed=…, sessions=…, runs=…)` writes the CI history of one repository (`acme/shop`:
a Python package managed by uv at the root, a Poetry worker in `services/worker`, a Django API
in `services/api`, a web app driven by the root `package.json`) as agent transcripts in the real
formats: Claude Code project JSONL, Codex rollout JSONL and Gemini CLI chat JSONL, one folder
per CI run (`run-<id>/claude|codex|gemini/…`). Everything comes from a seeded `random.Random`
and the fixture builders in `testing/`, so a seed always gives the same bytes.

What is planted:

- **Learnings**, each a recurring failure with its fix, of every kind the miner knows: an
  interpreter or runner (`python3 -m pytest` → `uv run pytest`), another script or command
  (`npm test` → `npm run test:unit`, `make lint` → `uv run ruff check .`, a program that is not
  installed → one that is), the same file at another path, a search that finds nothing in one
  folder and hits in another, a file refused whole for its size then read in parts, a command
  not permitted on the runner, and the same failing command retried three or more times. Each
  is in a random number (≥ 2) of sessions over ≥ 2 runs, with its fix in ≥ 2 of them.
- **Traps** ("not a learning"): a failure seen once (of every kind), transient errors that
  recur across sessions (timeouts, connection resets, rate limits) even when something works
  right after, tests and type checks that failed and passed once the agent edited code (recurring),
  a file read before the agent created it, a user rejection seen once, and recurring failures
  whose fix is seen in one session only.
- **Noise**: successful reads, edits, searches, globs and shell commands between them, and
  0-4 unrelated read-only calls between a failure and its fix.

The answer key (`Labels`) is derived from what was planted, never from the miner: each learning
becomes one expected (kind, key, fix) triple, spelled the way the miner reports it (read
headroom_ci/mining/observe.py): a shell key is the command head (`python3 -m pytest`, `npm test`,
`make lint`), its fix the fixing command's head; a path or a folder is repo-relative; a large
file's fix is `paged`; a permission has no fix; a loop's key is the exact retried command and its
fix the exact fixing command. These spellings are written by hand in the pattern tables below.
"""
from __future__ import annotations

import json
import posixpath
import random
import uuid
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path
from typing import Any
from typing import Literal

from headroom_ci.sessions.bundle import MANIFEST
from headroom_ci.sessions.bundle import manifest
from headroom_ci.sessions.model import Run
from testing import claude_fixtures as cl
from testing import codex_fixtures as cx
from testing import gemini_fixtures as gm

Fmt = Literal["claude", "codex", "gemini"]
ALL: tuple[Fmt, ...] = ("claude", "codex", "gemini")
# Codex has no read/search tools (it uses `sed`, `grep`, `cat` in the shell): path, scope and
# size learnings are the file tools' of Claude Code and Gemini CLI; only Claude Code refuses a
# whole-file read for its size.
FILE_TOOLS: tuple[Fmt, ...] = ("claude", "gemini")
CLAUDE_ONLY: tuple[Fmt, ...] = ("claude",)
FORMAT_WEIGHTS = {"claude": 0.55, "codex": 0.25, "gemini": 0.20}

REPO = "shop"
# GitHub-hosted runners check out under /home/runner/work, container jobs under /__w.
ROOTS = (f"/home/runner/work/{REPO}/{REPO}", f"/__w/{REPO}/{REPO}")
LABELS_FILE = "labels.json"
GENERATOR_VERSION = 1

KINDS = ("runner", "alternative", "variant", "prerequisite", "path", "scope", "large_file", "permission", "loop")
TRAP_KINDS = ("once", "transient", "dev", "rejected_once", "fix_once")


# --------------------------------------------------------------------------- the answer key


@dataclass(frozen=True)
class Label:
    """One planted learning, as the miner should report it."""

    id: str
    kind: str
    key: str
    fixes: tuple[str, ...]   # accepted fixes (a loop's fixing command may vary); () = not checked
    sessions: int            # sessions it was planted in
    runs: int
    fixed: int               # sessions where its fix follows
    note: str

    @property
    def fix(self) -> str | None:
        return self.fixes[0] if self.fixes else None

    def accepts(self, kind: str, key: str, fix: str | None) -> bool:
        return kind == self.kind and key == self.key and (not self.fixes or fix in self.fixes)


@dataclass(frozen=True)
class Distractor:
    """One planted trap: nothing the miner reports should come from it."""

    id: str
    kind: str                # once | transient | dev | rejected_once | fix_once
    keys: tuple[str, ...]    # what a rule born of it would be keyed on (for reporting)
    sessions: int
    note: str


@dataclass(frozen=True)
class Labels:
    seed: int
    sessions: int
    runs: int
    run_dirs: tuple[Path, ...]
    formats: dict[str, int]
    tool_calls: int
    labels: tuple[Label, ...]
    distractors: tuple[Distractor, ...]

    def triples(self) -> set[tuple[str, str, str | None]]:
        return {(lb.kind, lb.key, lb.fix) for lb in self.labels}

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["run_dirs"] = [p.name for p in self.run_dirs]
        return doc


# --------------------------------------------------------------------------- calls and episodes


@dataclass
class Step:
    """One tool call, format-neutral: the renderers below write it the way each agent does."""

    tool: str               # shell | read | grep | glob | edit | write
    cmd: str = ""           # shell
    path: str = ""          # read/edit/write: a repo-relative file; grep: a folder or file ("" = none)
    pattern: str = ""       # grep / glob
    offset: int | None = None
    limit: int | None = None
    output: str = ""        # a shell command's own output; a read's file text
    code: int = 0           # shell exit code
    hits: tuple[str, ...] = ()  # grep / glob: repo-relative files found (empty: found nothing)
    fail: str = ""          # a tool failure: missing | too_large | rejected | not_granted
    tokens: int = 0         # too_large: the size the tool reports
    absolute: bool = True   # grep: was the folder passed absolute


@dataclass
class Episode:
    steps: list[Step]
    fixing: str | None = None  # the exact fixing command (loops are keyed on it)


@dataclass
class Ctx:
    """What a builder needs: the randomness, the agent, where the checkout is, what it edited."""

    rng: random.Random
    fmt: Fmt
    root: str
    edited: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)

    @property
    def files(self) -> bool:
        return self.fmt in FILE_TOOLS


def sh(cmd: str, output: str = "", code: int = 0) -> Step:
    return Step("shell", cmd=cmd, output=output, code=code)


# --------------------------------------------------------------------------- tool output texts
# As the tools print them; a test count or a line number varies from run to run.


def cmd_not_found(program: str) -> tuple[str, int]:
    return f"bash: line 1: {program}: command not found", 127


def no_module(module: str, *, runner: str = "/usr/bin/python3") -> Callable[[random.Random], tuple[str, int]]:
    def text(rng: random.Random) -> tuple[str, int]:
        return f"{runner}: No module named {module}", 1
    return text


def import_error(module: str, where: str = "tests/conftest.py") -> Callable[[random.Random], tuple[str, int]]:
    """pytest collecting a conftest whose imports live in the project's environment only."""
    def text(rng: random.Random) -> tuple[str, int]:
        line = rng.randint(2, 9)
        return (f"ImportError while loading conftest '{{root}}/{where}'.\n{where}:{line}: in <module>\n"
                f"    from {module}.testclient import TestClient\n"
                f"E   ModuleNotFoundError: No module named '{module}'"), 4
    return text


def traceback(module: str, script: str) -> Callable[[random.Random], tuple[str, int]]:
    def text(rng: random.Random) -> tuple[str, int]:
        return (f"Traceback (most recent call last):\n  File \"{{root}}/{script}\", line {rng.randint(3, 30)}, "
                f"in <module>\n    import {module}\nModuleNotFoundError: No module named '{module}'"), 1
    return text


def not_found(program: str) -> Callable[[random.Random], tuple[str, int]]:
    return lambda rng: cmd_not_found(program)


def npm_missing(script: str) -> Callable[[random.Random], tuple[str, int]]:
    def text(rng: random.Random) -> tuple[str, int]:
        stamp = f"2026-05-{rng.randint(10, 28)}T0{rng.randint(0, 9)}_{rng.randint(10, 59)}_{rng.randint(10, 59)}_" \
                f"{rng.randint(100, 999)}Z"
        return (f'npm error Missing script: "{script}"\nnpm error\nnpm error To see a list of scripts, run:\n'
                f"npm error   npm run\nnpm error A complete log of this run can be found in: "
                f"/home/runner/.npm/_logs/{stamp}-debug-0.log"), 1
    return text


def make_missing(target: str) -> Callable[[random.Random], tuple[str, int]]:
    return lambda rng: (f"make: *** No rule to make target '{target}'.  Stop.", 2)


PEP668 = ("error: externally-managed-environment\n\n× This environment is externally managed\n"
          "╰─> To install Python packages system-wide, try apt install\n    python3-xyz, where xyz is the "
          "package you are trying to\n    install.\n\nnote: If you believe this is a mistake, please contact "
          "your Python installation or OS distribution provider.\nhint: See PEP 668 for the detailed "
          "specification.")


def pytest_passed(rng: random.Random) -> str:
    n = rng.randint(40, 380)
    return (f"============================= test session starts ==============================\n"
            f"platform linux -- Python 3.12.3, pytest-8.3.4, pluggy-1.5.0\nconfigfile: pyproject.toml\n"
            f"collected {n} items\n\n"
            f"============================== {n} passed in {rng.uniform(0.8, 9):.2f}s "
            f"===============================")


def vitest_passed(rng: random.Random) -> str:
    files, tests = rng.randint(6, 30), rng.randint(40, 260)
    return (f" ✓ web/src/cart/cart.test.ts ({rng.randint(3, 20)} tests) {rng.randint(5, 90)}ms\n\n"
            f" Test Files  {files} passed ({files})\n      Tests  {tests} passed ({tests})\n"
            f"   Duration  {rng.uniform(0.6, 4):.2f}s")


def quiet(rng: random.Random) -> str:
    return ""


def const(text: str) -> Callable[[random.Random], str]:
    return lambda rng: text


def mypy_ok(rng: random.Random) -> str:
    return f"Success: no issues found in {rng.randint(20, 90)} source files"


def installed(rng: random.Random) -> str:
    n = rng.randint(2, 9)
    return f"Resolved {rng.randint(20, 80)} packages in {rng.randint(90, 900)}ms\nInstalled {n} packages in " \
           f"{rng.randint(5, 60)}ms\n + pytest-cov==5.0.0"


# --------------------------------------------------------------------------- learnings: commands


@dataclass(frozen=True)
class Cmd:
    """A failing command and the one that works instead (runner, alternative) — and its loops."""

    id: str
    kind: str            # runner | alternative
    key: str             # the failing command's head, as the miner reports it
    fix: str             # the fixing command's head, as the miner reports it
    fail: str            # a template: `{tail}` is replaced by varied arguments
    ok: str
    tails: tuple[str, ...]
    error: Callable[[random.Random], tuple[str, int]]
    passed: Callable[[random.Random], str]
    loop: str | None = None      # the exact command an agent retries in a loop session
    loop_ok: str | None = None   # and the exact command that then works
    # The loop's key as the miner reports it: signature.normalize() turns every number into N
    # (so run-to-run ids and counts cluster), `python3` included.
    loop_key: str | None = None
    formats: tuple[Fmt, ...] = ALL
    note: str = ""

    def episode(self, ctx: Ctx, fixed: bool, loop: bool = False) -> Episode:
        rng = ctx.rng
        if loop:
            assert self.loop and self.loop_ok
            failing, fixing = self.loop, self.loop_ok
            tries = rng.randint(3, 5)
        else:
            tail = rng.choice(self.tails)
            # Mostly the same arguments under the right runner; sometimes the agent narrows them.
            fix_tail = tail if rng.random() < 0.75 else rng.choice(self.tails)
            failing, fixing = self.fail.format(tail=tail), self.ok.format(tail=fix_tail)
            tries = 1 if rng.random() < 0.75 else 2
        steps: list[Step] = []
        for i in range(tries):
            text, code = self.error(rng)
            steps.append(sh(failing, text.replace("{root}", ctx.root), code))
            if i < tries - 1 and rng.random() < 0.3:
                steps += gap(ctx, 1)
        steps += gap(ctx)
        if not fixed:
            return Episode(steps)
        steps.append(sh(fixing, self.passed(rng)))
        return Episode(steps, fixing)


PYTEST_TAILS = ("", " -x", " -q", " -k test_total", " tests/test_cart.py", " tests/ -x -q", " -k 'cart and not slow'",
                " tests/test_pricing.py::test_rounding", " --maxfail=1")
VITEST_TAILS = (" run", " run web/src/cart", " run --reporter=dot", " run -t 'applies discount'")

COMMANDS: tuple[Cmd, ...] = (
    Cmd("V-gh-pr-diff-stat", "variant", "gh pr diff --stat", "gh pr diff --name-only", "gh pr diff{tail} --stat",
        "gh pr diff{tail} --name-only", (" 12", " 88", " 104"),
        lambda rng: ("unknown flag: --stat\n\nUsage:  gh pr diff [<number> | <url> | <branch>] [flags]", 1),
        lambda rng: "src/shop/cart.py\nsrc/shop/pricing.py", note="gh pr diff has no --stat flag"),
    Cmd("R-python3-pytest", "runner", "python3 -m pytest", "uv run pytest", "python3 -m pytest{tail}",
        "uv run pytest{tail}", PYTEST_TAILS, import_error("fastapi"), pytest_passed,
        loop="python3 -m pytest -x", loop_ok="uv run pytest -x", loop_key="pythonN -m pytest -x",
        note="the system python3 lacks the project's dependencies"),
    Cmd("R-python-pytest-worker", "runner", "python -m pytest", "poetry run pytest",
        "cd services/worker && python -m pytest{tail}", "cd services/worker && poetry run pytest{tail}",
        ("", " -x", " tests/test_tasks.py", " -k retry"), not_found("python"), pytest_passed,
        note="no `python` on the runner; the worker is a Poetry project"),
    Cmd("R-pytest", "runner", "pytest", "uv run pytest", "pytest{tail}", "uv run pytest{tail}", PYTEST_TAILS,
        not_found("pytest"), pytest_passed, note="pytest is only in the uv venv"),
    # A missing program replaced by another with the same arguments is one learning whatever
    # the script: these two plants are both "use python3, not python".
    Cmd("R-python-bump", "runner", "python", "python3",
        "python scripts/bump_version.py{tail}", "python3 scripts/bump_version.py{tail}",
        (" --check", " patch --dry-run", " minor --dry-run"), not_found("python"),
        lambda rng: f"version 1.{rng.randint(2, 9)}.{rng.randint(0, 20)} -> ok (dry run)",
        note="`python` is not installed, `python3` is"),
    Cmd("R-python-changelog", "runner", "python", "python3",
        "python scripts/gen_changelog.py{tail}", "python3 scripts/gen_changelog.py{tail}",
        ("", " --since v1.4.0", " --out CHANGELOG.draft.md"), not_found("python"),
        lambda rng: f"wrote {rng.randint(3, 40)} entries", note="`python` is not installed, `python3` is"),
    Cmd("R-python3-seed", "runner", "python3 scripts/seed_db.py", "uv run python scripts/seed_db.py",
        "python3 scripts/seed_db.py{tail}", "uv run python scripts/seed_db.py{tail}", ("", " --small", " --reset"),
        traceback("sqlalchemy", "scripts/seed_db.py"), lambda rng: f"seeded {rng.randint(10, 500)} products",
        note="the seed script needs the uv environment"),
    Cmd("R-manage", "runner", "python3 manage.py", "uv run python manage.py",
        "cd services/api && python3 manage.py{tail}", "cd services/api && uv run python manage.py{tail}",
        (" check", " test orders", " showmigrations", " makemigrations --check --dry-run"),
        traceback("django", "services/api/manage.py"),
        const("System check identified no issues (0 silenced)."), note="Django is in the uv environment"),
    Cmd("R-python3-mypy", "runner", "python3 -m mypy", "uv run mypy", "python3 -m mypy{tail}", "uv run mypy{tail}",
        (" src", " src/shop", " src/shop/cart.py", " --strict src"), no_module("mypy"), mypy_ok,
        note="mypy is a dev dependency in the uv venv"),
    Cmd("R-mypy", "runner", "mypy", "uv run mypy", "mypy{tail}", "uv run mypy{tail}", (" src", " src/shop", " ."),
        not_found("mypy"), mypy_ok, note="mypy is not on PATH"),
    Cmd("R-ruff", "runner", "ruff check", "uv run ruff check", "ruff check{tail}", "uv run ruff check{tail}",
        (" .", " src", " --fix .", " src tests"), not_found("ruff"), const("All checks passed!"),
        note="ruff is not on PATH"),
    Cmd("R-vitest", "runner", "vitest", "npx vitest", "vitest{tail}", "npx vitest{tail}", VITEST_TAILS,
        not_found("vitest"), vitest_passed, loop="vitest run", loop_ok="npx vitest run",
        note="vitest is a local dev dependency"),
    Cmd("R-tsc", "runner", "tsc", "npx tsc", "tsc{tail}", "npx tsc{tail}", (" --noEmit", " -p web --noEmit"),
        not_found("tsc"), quiet, note="tsc is a local dev dependency"),
    Cmd("R-alembic", "runner", "python3 -m alembic", "uv run alembic", "python3 -m alembic{tail}",
        "uv run alembic{tail}", (" history", " heads", " check"), no_module("alembic"),
        const("No new upgrade operations detected."), note="alembic is in the uv environment"),
    Cmd("R-pip", "runner", "pip install", "uv pip install", "pip install{tail}", "uv pip install{tail}",
        (" -r requirements-dev.txt", " -e .", " pytest-cov"), lambda rng: (PEP668, 1), installed,
        note="PEP 668: the system pip refuses; uv pip installs into the venv"),
    Cmd("A-npm-test", "alternative", "npm test", "npm run test:unit", "npm test{tail}", "npm run test:unit{tail}",
        ("", " -- --run", " -- web/src/cart"), npm_missing("test"), vitest_passed,
        loop="npm test", loop_ok="npm run test:unit", note="the script is test:unit"),
    Cmd("A-npm-lint", "alternative", "npm run lint", "npm run lint:ts", "npm run lint{tail}",
        "npm run lint:ts{tail}", ("", " -- --fix"), npm_missing("lint"), quiet, note="the script is lint:ts"),
    Cmd("A-npm-build", "alternative", "npm run build", "npm run build:web", "npm run build{tail}",
        "npm run build:web{tail}", ("", " -- --mode production"), npm_missing("build"),
        lambda rng: f"vite v5.4.2 building for production...\n✓ {rng.randint(80, 400)} modules transformed.\n"
                    f"✓ built in {rng.uniform(1, 9):.2f}s", note="the script is build:web"),
    Cmd("A-make-lint", "alternative", "make lint", "uv run ruff check", "make lint{tail}", "uv run ruff check .{tail}",
        ("",), make_missing("lint"), const("All checks passed!"), loop="make lint", loop_ok="uv run ruff check .",
        note="the Makefile has no lint target"),
    Cmd("A-make-test", "alternative", "make test", "uv run pytest", "make test{tail}", "uv run pytest{tail}",
        ("",), make_missing("test"), pytest_passed, note="the Makefile has no test target"),
    Cmd("A-make-typecheck", "alternative", "make typecheck", "uv run mypy", "make typecheck{tail}",
        "uv run mypy src{tail}", ("",), make_missing("typecheck"), mypy_ok,
        loop="make typecheck", loop_ok="uv run mypy src", note="the Makefile has no typecheck target"),
    Cmd("A-make-format", "alternative", "make format", "uv run ruff format", "make format{tail}",
        "uv run ruff format .{tail}", ("",), make_missing("format"),
        lambda rng: f"{rng.randint(1, 6)} files reformatted, {rng.randint(30, 90)} files left unchanged",
        note="the Makefile has no format target"),
    Cmd("A-rg", "runner", "rg", "grep", "rg -n {tail}", "grep -rn {tail}",
        ("'def apply_discount' src", "'TODO' src/shop", "'useCart' web/src", "'class Order' src"), not_found("rg"),
        lambda rng: f"src/shop/pricing.py:{rng.randint(3, 200)}:def apply_discount(total, rule):",
        note="ripgrep is not installed on the runner"),
    Cmd("A-docker-compose", "runner", "docker-compose", "docker compose", "docker-compose {tail}",
        "docker compose {tail}", ("up -d db", "up -d", "ps", "logs db --tail 50"), not_found("docker-compose"),
        const("[+] Running 2/2\n ✔ Container shop-db-1     Started\n ✔ Container shop-redis-1  Started"),
        note="Compose v1 is gone from the runner image; v2 is a docker plugin"),
)


# --------------------------------------------------------------------------- learnings: files


@dataclass(frozen=True)
class PathMove:
    """A file the agent looks for at a path it does not have."""

    id: str
    wrong: str
    right: str
    decoy: str     # another file with the same name, which a glob also lists
    symbol: str    # what a grep for the file's content looks for
    formats: tuple[Fmt, ...] = FILE_TOOLS

    def episode(self, ctx: Ctx, fixed: bool, loop: bool = False) -> Episode:
        rng = ctx.rng
        steps = [Step("read", path=self.wrong, fail="missing")]
        steps += gap(ctx)
        if not fixed:
            return Episode(steps)
        name = posixpath.basename(self.right)
        how = rng.random()
        if how < 0.45:
            hits = [self.right, self.decoy] if rng.random() < 0.25 else [self.right]
            rng.shuffle(hits)  # a glob lists by modification time
            steps.append(Step("glob", pattern=f"**/{name}", hits=tuple(hits)))
            if rng.random() < 0.8:
                steps.append(read_ok(ctx, self.right))
        elif how < 0.65 and ctx.fmt == "claude":
            steps.append(Step("grep", pattern=self.symbol, hits=(self.right,), absolute=True))
            steps.append(read_ok(ctx, self.right))
        elif how < 0.8 and ctx.fmt == "claude":
            steps.append(sh(f"find . -name {name} -not -path './node_modules/*'", f"./{self.right}"))
            steps.append(read_ok(ctx, self.right))
        else:
            steps.append(read_ok(ctx, self.right))  # the agent guessed the right folder
        return Episode(steps)


@dataclass(frozen=True)
class Scope:
    """Code looked for in a folder that does not hold it."""

    id: str
    wrong: str
    right: str
    patterns: tuple[str, ...]
    hits: tuple[str, ...]
    formats: tuple[Fmt, ...] = FILE_TOOLS

    def episode(self, ctx: Ctx, fixed: bool, loop: bool = False) -> Episode:
        rng = ctx.rng
        pattern = rng.choice(self.patterns)
        absolute = rng.random() < 0.6
        steps = [Step("grep", pattern=pattern, path=self.wrong, absolute=absolute)]
        steps += gap(ctx)
        if fixed:
            # Sometimes the agent also loosens the pattern when it moves to the other folder:
            # `def apply_discount` becomes `apply_discount`.
            keyword, _, name = pattern.partition(" ")
            loosen = keyword in ("def", "class", "function") and rng.random() < 0.1
            again = name if loosen else pattern
            steps.append(Step("grep", pattern=again, path=self.right, hits=self.hits, absolute=absolute))
            steps.append(read_ok(ctx, self.hits[0]))
        return Episode(steps)


@dataclass(frozen=True)
class Large:
    """A file too large to read whole."""

    id: str
    path: str
    tokens: int
    symbol: str
    formats: tuple[Fmt, ...] = CLAUDE_ONLY

    def episode(self, ctx: Ctx, fixed: bool, loop: bool = False) -> Episode:
        rng = ctx.rng
        steps = [Step("read", path=self.path, fail="too_large", tokens=self.tokens)]
        if rng.random() < 0.4:  # find where to look first
            steps.append(Step("grep", pattern=self.symbol, path=self.path, hits=(self.path,)))
        steps += gap(ctx, rng.randint(0, 2))
        if fixed:
            offset = rng.choice([None, 1, rng.randint(2, 40) * 100])
            steps.append(read_ok(ctx, self.path, offset=offset, limit=rng.choice([200, 300, 400, 500])))
            if rng.random() < 0.3:
                steps.append(read_ok(ctx, self.path, offset=(offset or 1) + 500, limit=500))
        return Episode(steps)


@dataclass(frozen=True)
class Denied:
    """A command the runner does not permit; the agent can only go around it."""

    id: str
    key: str
    cmds: tuple[str, ...]
    text: str
    code: int
    formats: tuple[Fmt, ...] = ALL
    not_granted: bool = False  # refused by Claude Code's permission settings, not by the OS

    def episode(self, ctx: Ctx, fixed: bool, loop: bool = False) -> Episode:
        rng = ctx.rng
        steps: list[Step] = []
        for _ in range(rng.choice((1, 1, 2, 3))):
            cmd = rng.choice(self.cmds)
            if self.not_granted:
                steps.append(Step("shell", cmd=cmd, fail="not_granted"))
            else:
                steps.append(sh(cmd, self.text.replace("{root}", ctx.root), self.code))
            steps += gap(ctx, rng.randint(0, 1))
        return Episode(steps)


@dataclass(frozen=True)
class Prereq:
    """A command that fails until another one has run (the error says which), then passes."""

    id: str
    key: str             # the failing command's head, as the miner reports it
    fix: str             # the prerequisite's head
    cmd: str
    prep: str
    error: str
    prep_out: str
    passed: str
    formats: tuple[Fmt, ...] = ALL
    kind: str = "prerequisite"

    def episode(self, ctx: Ctx, fixed: bool, loop: bool = False) -> Episode:
        steps = [sh(self.cmd, self.error, 1), *gap(ctx)]
        if not fixed:
            return Episode(steps)
        return Episode([*steps, sh(self.prep, self.prep_out), sh(self.cmd, self.passed)], self.prep)


PREREQS: tuple[Prereq, ...] = (
    Prereq("Q-mix-deps", "mix test", "mix deps.get", "mix test", "mix deps.get",
           'Unchecked dependencies for environment test:\n* jason (Hex package)\n'
           '  the dependency is not available, run "mix deps.get"\n** (Mix) Can\'t continue due to errors on dependencies',
           "Resolving Hex dependencies...\nAll dependencies are up to date", "Finished in 0.4 seconds\n12 tests, 0 failures"),
    Prereq("Q-go-mod-tidy", "go build", "go mod tidy", "go build ./...", "go mod tidy",
           "go: updates to go.mod needed; to update it:\n\tgo mod tidy", "go: finding module for package x", ""),
)


@dataclass(frozen=True)
class Renamed:
    """A file renamed in its folder (`logging.py` → `logger.py`): the agent lists the folder or reads
    the new name next; another file of the folder read first is not the fix."""

    id: str
    wrong: str
    right: str
    neighbour: str   # another file of the same folder
    formats: tuple[Fmt, ...] = FILE_TOOLS

    def episode(self, ctx: Ctx, fixed: bool, loop: bool = False) -> Episode:
        rng = ctx.rng
        steps = [Step("read", path=self.wrong, fail="missing"), *gap(ctx)]
        if rng.random() < 0.5:
            steps.append(read_ok(ctx, self.neighbour))
        if not fixed:
            return Episode(steps)
        if rng.random() < 0.5:
            folder = posixpath.dirname(self.right)
            steps.append(Step("glob", pattern=f"{folder}/*", hits=(self.neighbour, self.right)))
        steps.append(read_ok(ctx, self.right))
        return Episode(steps)


RENAMED: tuple[Renamed, ...] = (
    Renamed("N-logger", "src/shop/log/logging.py", "src/shop/log/logger.py", "src/shop/log/handlers.py"),
    Renamed("N-lint-config", "web/.eslintrc.yml", "web/.eslintrc.yaml", "web/package.json"),
)


PATHS: tuple[PathMove, ...] = (
    PathMove("P-user", "services/api/models/user.py", "services/api/app/models/user.py",
             "services/admin/app/models/user.py", "class User("),
    PathMove("P-orders", "src/shop/orders.py", "src/shop/domain/orders.py", "src/shop/legacy/orders.py",
             "class Order("),
    PathMove("P-button", "web/src/components/Button.tsx", "web/src/ui/components/Button.tsx",
             "web/src/legacy/Button.tsx", "export function Button"),
    PathMove("P-config", "src/shop/config.py", "src/shop/core/config.py", "services/worker/worker/config.py",
             "class Settings("),
    PathMove("P-api-ts", "web/src/api.ts", "web/src/lib/api.ts", "web/src/mocks/api.ts", "export async function apiFetch"),
    PathMove("P-arch", "docs/ARCHITECTURE.md", "docs/design/ARCHITECTURE.md", "services/api/ARCHITECTURE.md",
             "## Components"),
    PathMove("P-test-checkout", "tests/test_checkout.py", "tests/unit/test_checkout.py",
             "tests/e2e/test_checkout.py", "def test_checkout_"),
    PathMove("P-email", "services/worker/tasks/email.py", "services/worker/worker/tasks/email.py",
             "services/api/app/notifications/email.py", "def send_receipt"),
    PathMove("P-schemas", "src/shop/schemas.py", "src/shop/api/schemas.py", "services/api/app/schemas.py",
             "class CartOut("),
    PathMove("P-cart-slice", "web/src/store/cartSlice.ts", "web/src/features/cart/cartSlice.ts",
             "web/src/legacy/store/cartSlice.ts", "createSlice({"),
)

SCOPES: tuple[Scope, ...] = (
    Scope("S-lib", "lib", "src/shop", ("def apply_discount", "class PriceRule", "def round_money"),
          ("src/shop/pricing.py",)),
    Scope("S-app-models", "app/models", "services/api/app/models", ("class Customer", "class Address"),
          ("services/api/app/models/customer.py",)),
    Scope("S-packages-ui", "packages/ui", "web/src/ui", ("export function Modal", "useTheme("),
          ("web/src/ui/Modal.tsx", "web/src/ui/theme.ts")),
    Scope("S-server", "server", "services/api", ("def healthcheck", "urlpatterns ="),
          ("services/api/shop_api/urls.py",)),
    Scope("S-tests-unit", "tests/unit", "tests", ("def db_session", "def client("), ("tests/conftest.py",)),
    Scope("S-pages", "web/src/pages", "web/src/routes", ("CheckoutPage", "export default function Orders"),
          ("web/src/routes/checkout.tsx", "web/src/routes/orders.tsx")),
    Scope("S-jobs", "services/worker/jobs", "services/worker/worker/tasks", ("def send_invoice", "@app.task"),
          ("services/worker/worker/tasks/invoices.py",)),
    Scope("S-migrations", "migrations", "alembic/versions", ("op.create_table", "def upgrade"),
          ("alembic/versions/3f2a_add_coupons.py",)),
)

LARGE: tuple[Large, ...] = (
    Large("L-fixtures", "data/fixtures.json", 52341, '"sku":'),
    Large("L-graphql", "web/src/generated/graphql.ts", 88412, "export type Order"),
    Large("L-pb2", "src/shop/generated/catalog_pb2.py", 31877, "DESCRIPTOR"),
    Large("L-changelog", "CHANGELOG.md", 27410, "## 1.4"),
    Large("L-openapi", "docs/openapi.yaml", 40120, "/orders/{id}"),
    Large("L-locales", "web/src/locales/en.json", 29963, '"checkout"'),
    Large("L-snapshots", "tests/snapshots/test_api.ambr", 61005, "test_list_orders"),
    Large("L-admin", "services/api/app/admin.py", 26508, "class OrderAdmin"),
)

GIT_403 = ("remote: Permission to acme/shop.git denied to github-actions[bot].\n"
           "fatal: unable to access 'https://github.com/acme/shop.git/': The requested URL returned error: 403")
DPKG_LOCK = ("E: Could not open lock file /var/lib/dpkg/lock-frontend - open (13: Permission denied)\n"
             "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), are you root?")
NPM_EACCES = ("npm error code EACCES\nnpm error syscall mkdir\nnpm error path /usr/local/lib/node_modules/pnpm\n"
              "npm error errno -13\nnpm error Error: EACCES: permission denied, mkdir "
              "'/usr/local/lib/node_modules/pnpm'")

DENIED: tuple[Denied, ...] = (
    Denied("D-git-push", "git push", ("git push origin HEAD", "git push -u origin fix/cart-rounding", "git push"),
           GIT_403, 128),
    Denied("D-apt", "apt-get install", ("apt-get install -y graphviz", "apt-get install -y libpq-dev"),
           DPKG_LOCK, 100),
    Denied("D-deploy", "./scripts/deploy.sh", ("./scripts/deploy.sh staging", "./scripts/deploy.sh --dry-run"),
           "bash: line 1: ./scripts/deploy.sh: Permission denied", 126),
    Denied("D-npm-global", "npm install", ("npm install -g pnpm", "npm install -g pnpm@9"), NPM_EACCES, 243),
    Denied("D-cp-etc", "cp", ("cp .env.example /etc/shop/.env", "cp deploy/nginx.conf /etc/nginx/conf.d/shop.conf"),
           "cp: cannot create regular file '/etc/shop/.env': Permission denied", 1),
    Denied("D-gh-pr", "gh pr create", ("gh pr create --fill", "gh pr create --fill --draft"),
           "", 0, formats=CLAUDE_ONLY, not_granted=True),
)


# --------------------------------------------------------------------------- traps


@dataclass(frozen=True)
class Flaky:
    """A transient failure (network, clock, quota) and what the agent did next, which worked."""

    id: str
    key: str
    cmd: str
    text: str
    code: int
    then: tuple[tuple[str, str], ...]   # (command, output) that worked afterwards
    formats: tuple[Fmt, ...] = ALL

    def episode(self, ctx: Ctx, fixed: bool, loop: bool = False) -> Episode:
        rng = ctx.rng
        steps = [sh(self.cmd, self.text, self.code) for _ in range(rng.choice((1, 1, 2, 3)))]
        steps += gap(ctx)
        cmd, out = rng.choice(self.then)
        steps.append(sh(cmd, out))
        return Episode(steps)


@dataclass(frozen=True)
class DevFix:
    """Normal development: a check fails on the agent's code, the agent edits, the check passes."""

    id: str
    key: str
    cmds: tuple[str, ...]
    failure: Callable[[random.Random], tuple[str, int]]
    edits: tuple[str, ...]
    recheck: tuple[tuple[str, Callable[[random.Random], str]], ...]  # what it runs after the edit
    formats: tuple[Fmt, ...] = ALL

    def episode(self, ctx: Ctx, fixed: bool, loop: bool = False) -> Episode:
        rng = ctx.rng
        cmd = rng.choice(self.cmds)
        text, code = self.failure(rng)
        steps = [sh(cmd, text, code)]
        steps += gap(ctx, rng.randint(0, 2))
        for path in rng.sample(self.edits, rng.randint(1, len(self.edits))):
            steps.append(edit(ctx, path))
        again, passed = rng.choice(self.recheck)
        steps.append(sh(cmd if again == "same" else again, passed(rng)))
        return Episode(steps)


@dataclass(frozen=True)
class NewFile:
    """The agent checks for a file it is about to create, then creates it."""

    id: str
    key: str
    formats: tuple[Fmt, ...] = FILE_TOOLS

    def episode(self, ctx: Ctx, fixed: bool, loop: bool = False) -> Episode:
        steps = [Step("read", path=self.key, fail="missing")]
        steps += gap(ctx, ctx.rng.randint(0, 2))
        steps.append(Step("write", path=self.key))
        ctx.created.append(self.key)
        steps += gap(ctx, ctx.rng.randint(0, 2))
        if ctx.rng.random() < 0.6:
            steps.append(git_status(ctx))
        return Episode(steps)


@dataclass(frozen=True)
class Unused:
    """The agent checks that a name is free before adding it: a search that rightly finds nothing."""

    id: str
    key: str
    patterns: tuple[str, ...]
    target: str
    formats: tuple[Fmt, ...] = FILE_TOOLS

    def episode(self, ctx: Ctx, fixed: bool, loop: bool = False) -> Episode:
        pattern = ctx.rng.choice(self.patterns)
        steps = [Step("grep", pattern=pattern, path=self.key, absolute=ctx.rng.random() < 0.5)]
        steps.append(edit(ctx, self.target))
        if ctx.rng.random() < 0.5:  # and sees it there now
            steps.append(Step("grep", pattern=pattern, path=self.key, hits=(self.target,)))
        return Episode(steps)


@dataclass(frozen=True)
class Rejected:
    """A user said no, once."""

    id: str
    key: str
    cmd: str
    formats: tuple[Fmt, ...] = ALL

    def episode(self, ctx: Ctx, fixed: bool, loop: bool = False) -> Episode:
        return Episode([Step("shell", cmd=self.cmd, fail="rejected")] + gap(ctx, 1))


def _pytest_failure(test: str) -> Callable[[random.Random], tuple[str, int]]:
    def text(rng: random.Random) -> tuple[str, int]:
        n = rng.randint(20, 300)
        got, want = rng.randint(10, 99), rng.randint(100, 200)
        return (f"FAILED tests/test_orders.py::{test} - AssertionError: assert {got} == {want}\n"
                f"============ 1 failed, {n} passed in {rng.uniform(0.5, 6):.2f}s ============"), 1
    return text


def _vitest_failure(rng: random.Random) -> tuple[str, int]:
    n = rng.randint(20, 200)
    return (" FAIL  web/src/cart/cart.test.ts > cart > applies the discount once\n"
            f"AssertionError: expected {rng.randint(10, 90)} to be {rng.randint(91, 120)} // Object.is equality\n"
            f" Test Files  1 failed | {rng.randint(3, 20)} passed\n      Tests  1 failed | {n} passed"), 1


def _mypy_failure(rng: random.Random) -> tuple[str, int]:
    line = rng.randint(10, 300)
    return (f'src/shop/cart.py:{line}: error: Argument 1 to "total" has incompatible type "str"; expected '
            f'"Decimal"  [arg-type]\nFound 1 error in 1 file (checked {rng.randint(20, 90)} source files)'), 1


def _tsc_failure(rng: random.Random) -> tuple[str, int]:
    return (f"web/src/cart/CartView.tsx({rng.randint(5, 200)},{rng.randint(3, 40)}): error TS2322: Type 'string' "
            "is not assignable to type 'number'."), 2


# Test names of a shop: a failing one is named in the output.
_TESTS = ("test_total", "test_apply_discount", "test_refund_partial", "test_card_declined", "test_tax_rounding",
          "test_empty_cart", "test_coupon_expired")


def _dev_traps() -> tuple[DevFix | NewFile | Unused, ...]:
    pytest_fail = {t: _pytest_failure(t) for t in _TESTS}
    return (
        DevFix("X-dev-pytest", "uv run pytest", ("uv run pytest tests/test_orders.py", "uv run pytest -x",
                                                 "uv run pytest tests/test_orders.py -k total"),
               lambda rng: pytest_fail[rng.choice(_TESTS)](rng), ("src/shop/orders_service.py", "src/shop/money.py"),
               (("same", pytest_passed), ("uv run pytest", pytest_passed))),
        DevFix("X-dev-vitest", "npm run test:unit", ("npm run test:unit", "npm run test:unit -- web/src/cart"),
               _vitest_failure, ("web/src/cart/cart.ts",), (("same", vitest_passed),)),
        DevFix("X-dev-mypy", "uv run mypy", ("uv run mypy src", "uv run mypy src/shop"), _mypy_failure,
               ("src/shop/cart.py",), (("same", mypy_ok), ("uv run mypy src", mypy_ok))),
        DevFix("X-dev-tsc", "npx tsc", ("npx tsc --noEmit", "npx tsc -p web --noEmit"), _tsc_failure,
               ("web/src/cart/CartView.tsx",), (("same", quiet), ("npx tsc --noEmit", quiet))),
        NewFile("X-dev-newfile", "src/shop/refunds.py"),
        Unused("X-dev-unused", "src/shop", ("def apply_coupon", "class CouponRule"), "src/shop/coupons.py"),
    )


def _transient_traps() -> tuple[Flaky, ...]:
    return (
        Flaky("X-npm-ci", "npm ci", "npm ci", "npm error code ECONNRESET\nnpm error network aborted\nnpm error "
              "network This is a problem related to network connectivity.", 1,
              (("npm ci", "added 812 packages in 21s"), ("npm install", "added 812 packages in 24s"))),
        Flaky("X-uv-sync", "uv sync", "uv sync --frozen",
              "error: Failed to fetch: `https://pypi.org/simple/fastapi/`\n  Caused by: Request failed after 3 "
              "retries\n  Caused by: operation timed out", 2,
              (("uv sync --frozen", "Resolved 84 packages in 1ms\nInstalled 84 packages in 312ms"),
               ("uv pip install -r requirements-dev.txt", "Installed 31 packages in 201ms"))),
        Flaky("X-gh-api", "gh api", "gh api repos/acme/shop/pulls --jq '.[].number'",
              "gh: API rate limit exceeded for installation ID 51234567. (HTTP 403)", 1,
              (("gh api repos/acme/shop/pulls --jq '.[].number'", "412\n409"), ("gh pr list", "412\tFix cart"))),
        Flaky("X-curl", "curl", "curl -fsSL https://registry.npmjs.org/vite/latest",
              "curl: (28) Operation timed out after 30001 milliseconds with 0 bytes received", 28,
              (("curl -fsSL https://registry.npmjs.org/vite/latest", '{"name":"vite","version":"5.4.2"}'),
               ("npm view vite version", "5.4.2"))),
        Flaky("X-git-fetch", "git fetch", "git fetch origin main",
              "fatal: unable to access 'https://github.com/acme/shop.git/': Could not resolve host: github.com", 128,
              (("git fetch origin main", "From https://github.com/acme/shop\n * branch   main -> FETCH_HEAD"),)),
        Flaky("X-compose-pull", "docker compose", "docker compose pull db",
              'Error response from daemon: Get "https://registry-1.docker.io/v2/": net/http: request canceled while '
              "waiting for connection (Client.Timeout exceeded while awaiting headers)", 1,
              (("docker compose pull db", "[+] Pulling 1/1\n ✔ db Pulled"),
               ("docker compose up -d db", "[+] Running 1/1\n ✔ Container shop-db-1  Started"))),
    )


def _once_traps() -> tuple[Any, ...]:
    """One of each kind of learning, seen in one session only."""
    return (
        Cmd("X-once-release", "runner", "python3 tools/release.py", "uv run python tools/release.py",
            "python3 tools/release.py{tail}", "uv run python tools/release.py{tail}", (" --dry-run",),
            traceback("semver", "tools/release.py"), const("release 1.5.0 (dry run)")),
        Cmd("X-once-storybook", "alternative", "npm run storybook", "npm run storybook:dev", "npm run storybook{tail}",
            "npm run storybook:dev{tail}", ("",), npm_missing("storybook"), const("Storybook 8.2 started")),
        Cmd("X-once-make-test-unit", "alternative", "make test-unit", "uv run pytest", "make test-unit",
            "uv run pytest tests/unit", ("",), make_missing("test-unit"), pytest_passed,
            loop="make test-unit", loop_ok="uv run pytest tests/unit"),
        PathMove("X-once-migrate", "scripts/migrate.py", "tools/db/migrate.py", "services/api/migrate.py",
                 "def migrate("),
        Scope("X-once-billing", "billing", "payments", ("class InvoiceLine",), ("payments/invoices.py",)),
        Large("X-once-catalog", "fixtures/catalog.json", 71230, '"category":'),
        Denied("X-once-chmod", "chmod", ("chmod -R 777 /opt/hostedtoolcache",),
               "chmod: changing permissions of '/opt/hostedtoolcache': Operation not permitted", 1),
    )


def _rejected_traps() -> tuple[Rejected, ...]:
    return (
        Rejected("X-reject-reset", "git reset", "git reset --hard origin/main", formats=CLAUDE_ONLY),
        Rejected("X-reject-rm", "rm", "rm -rf node_modules web/dist", formats=CLAUDE_ONLY),
        Rejected("X-reject-clean", "git clean", "git clean -fdx", formats=("gemini",)),
        Rejected("X-reject-publish", "npm publish", "npm publish --access public", formats=("codex",)),
    )


def _fix_once_traps() -> tuple[Any, ...]:
    """Recurring failures whose fix is seen in one session only."""
    return (
        Cmd("X-fix1-schema", "runner", "python3 tools/gen_schema.py", "uv run python tools/gen_schema.py",
            "python3 tools/gen_schema.py{tail}", "uv run python tools/gen_schema.py{tail}", ("", " --check"),
            traceback("yaml", "tools/gen_schema.py"), const("schema up to date")),
        Cmd("X-fix1-e2e", "alternative", "npm run e2e", "npm run test:e2e", "npm run e2e{tail}",
            "npm run test:e2e{tail}", ("", " -- --project=chromium"), npm_missing("e2e"),
            const("  24 passed (41.2s)")),
        Cmd("X-fix1-format", "alternative", "npm run format", "npm run format:write", "npm run format{tail}",
            "npm run format:write{tail}", ("",), npm_missing("format"), const("web/src/App.tsx 41ms")),
        PathMove("X-fix1-payments", "src/shop/payments.py", "src/shop/billing/payments.py",
                 "services/api/app/payments.py", "class PaymentIntent"),
        Scope("X-fix1-legacy", "src/shop/api", "legacy", ("class RefundPolicy",), ("legacy/refunds_v1.py",)),
        Large("X-fix1-seed", "data/seed.json", 45120, '"customers"'),
    )


# --------------------------------------------------------------------------- noise


# Files that exist and are read, edited and searched as the agents work. Their names differ from
# every planted file, so a noise read is never an accidental "fix" of a planted path.
NOISE_FILES = (
    "src/shop/cart.py", "src/shop/pricing.py", "src/shop/api/routes.py", "src/shop/db.py", "src/shop/events.py",
    "src/shop/money.py", "tests/test_cart.py", "tests/test_pricing.py", "tests/conftest.py", "web/src/App.tsx",
    "web/src/cart/CartView.tsx", "web/src/hooks/useCart.ts", "README.md", "pyproject.toml", "package.json",
    "services/worker/worker/tasks/receipts.py", "services/api/shop_api/views.py", "Makefile",
    "docs/CONTRIBUTING.md", "alembic/env.py", "services/worker/pyproject.toml", "web/vite.config.ts",
)
# What noise edits touch: code, not manifests.
EDITABLE = tuple(f for f in NOISE_FILES if f.endswith((".py", ".ts", ".tsx")))
NOISE_DIRS = ("src/shop", "tests", "web/src", "services/api", "services/worker/worker", "docs", "alembic")
NOISE_SYMBOLS = ("def total", "class Cart", "useCart", "def get_session", "TODO", "logger.warning", "Decimal(",
                 "export const", "def create_app", "@pytest.fixture")
CODE_LINES = ("from decimal import Decimal", "", "def total(items):", "    return sum(i.price * i.qty for i in items)",
              "class Cart:", "    def __init__(self) -> None:", "        self.items = []",
              "export function useCart() {", "  const [items, setItems] = useState([]);", "}")


def read_ok(ctx: Ctx, path: str, *, offset: int | None = None, limit: int | None = None) -> Step:
    rng = ctx.rng
    lines = [rng.choice(CODE_LINES) for _ in range(rng.randint(4, 30))]
    return Step("read", path=path, offset=offset, limit=limit, output="\n".join(lines))


def edit(ctx: Ctx, path: str) -> Step:
    if path not in ctx.edited:
        ctx.edited.append(path)
    return Step("edit", path=path)


def git_status(ctx: Ctx) -> Step:
    """`git status` as it is at this point of the session: what the agent edited and created."""
    if ctx.rng.random() < 0.5:
        lines = [f" M {p}" for p in ctx.edited] + [f"?? {p}" for p in ctx.created]
        return sh("git status --short", "\n".join(lines))
    out = ["On branch main", "Your branch is up to date with 'origin/main'.", ""]
    if ctx.edited:
        out += ["Changes not staged for commit:", '  (use "git add <file>..." to update what will be committed)']
        out += [f"\tmodified:   {p}" for p in ctx.edited] + [""]
    if ctx.created:
        out += ["Untracked files:", '  (use "git add <file>..." to include in what will be committed)']
        out += [f"\t{p}" for p in ctx.created] + [""]
    if not ctx.edited and not ctx.created:
        out.append("nothing to commit, working tree clean")
    return sh("git status", "\n".join(out))


def _noise_shell(ctx: Ctx) -> Step:
    rng = ctx.rng
    choice = rng.random()
    if choice < 0.25:
        return git_status(ctx)
    if choice < 0.4:
        d = rng.choice(NOISE_DIRS)
        return sh(f"ls {d}", "\n".join(sorted({posixpath.basename(f) for f in NOISE_FILES if f.startswith(d)})))
    if choice < 0.5:
        return sh("git log --oneline -5", "\n".join(f"{rng.getrandbits(28):07x} {m}" for m in
                                                     ("Fix cart rounding", "Bump deps", "Add coupons", "CI: cache uv",
                                                      "Refactor pricing")))
    if choice < 0.62:
        return sh("git diff --stat", "\n".join(f" {p} | {rng.randint(1, 30)} +-" for p in ctx.edited))
    if choice < 0.8 or ctx.fmt != "codex":
        f = rng.choice(NOISE_FILES)
        return sh(f"cat {f}" if rng.random() < 0.5 else f"sed -n '1,{rng.randint(4, 20) * 10}p' {f}",
                  "\n".join(rng.choice(CODE_LINES) for _ in range(8)))
    sym = rng.choice(NOISE_SYMBOLS)
    f = rng.choice(NOISE_FILES)
    return sh(f"grep -rn '{sym}' {posixpath.dirname(f) or '.'}", f"{f}:{rng.randint(1, 300)}:{sym}")


def _noise_checks(ctx: Ctx) -> Step:
    """The project's real checks, passing: what an agent runs after a change."""
    rng = ctx.rng
    cmd, out = rng.choice((("uv run pytest -q", pytest_passed), ("uv run pytest tests/test_cart.py", pytest_passed),
                           ("npm run test:unit", vitest_passed), ("uv run ruff check .", const("All checks passed!")),
                           ("uv run mypy src", mypy_ok)))
    return sh(cmd, out(rng))


def noise(ctx: Ctx, *, readonly: bool = False) -> Step:
    rng = ctx.rng
    r = rng.random()
    if not ctx.files:  # Codex: everything goes through the shell, edits through apply_patch
        if not readonly and r < 0.25:
            return edit(ctx, rng.choice(EDITABLE))
        if not readonly and r < 0.32:
            return _noise_checks(ctx)
        return _noise_shell(ctx)
    if r < 0.35:
        return read_ok(ctx, rng.choice(NOISE_FILES))
    if r < 0.5:
        f = rng.choice(NOISE_FILES)
        return Step("grep", pattern=rng.choice(NOISE_SYMBOLS), path=rng.choice((posixpath.dirname(f), "")),
                    hits=(f,), absolute=rng.random() < 0.5)
    if r < 0.58:
        f = rng.choice(NOISE_FILES)
        return Step("glob", pattern=f"**/{posixpath.basename(f)}", hits=(f,))
    if r < 0.78 or readonly:
        return _noise_shell(ctx)
    if r < 0.85:
        return _noise_checks(ctx)
    return edit(ctx, rng.choice(EDITABLE))


def gap(ctx: Ctx, n: int | None = None) -> list[Step]:
    """Unrelated read-only calls between a failure and its fix: 0 most often, up to 4."""
    if n is None:
        n = 0 if ctx.rng.random() < 0.4 else ctx.rng.randint(1, 4)
    return [noise(ctx, readonly=True) for _ in range(n)]


# --------------------------------------------------------------------------- placement


@dataclass
class Plan:
    """One session to write: where, which agent, and the episodes planted in it."""

    index: int
    run: int
    fmt: Fmt
    root: str
    planted: list[tuple[Any, bool, bool]] = field(default_factory=list)  # (pattern, fixed, loop)


def _place(rng: random.Random, plans: list[Plan], formats: Sequence[Fmt], n: int, *, min_runs: int) -> list[Plan]:
    """`n` distinct sessions of the given formats over at least `min_runs` runs."""
    pool = [p for p in plans if p.fmt in formats]
    if len(pool) < n:
        raise ValueError(f"too few sessions ({len(pool)}) for a pattern planted in {n}: raise --sessions")
    for _ in range(200):
        chosen = rng.sample(pool, n)
        if len({p.run for p in chosen}) >= min_runs:
            return chosen
    raise ValueError("could not spread a pattern over enough runs: raise --runs")


def _count(rng: random.Random) -> int:
    """How many sessions a learning is seen in: at least 2, mostly 2-6, sometimes more."""
    return 2 + min(int(rng.expovariate(1 / 2.5)), 8)


def _plant_learning(rng: random.Random, plans: list[Plan], pattern: Any) -> list[Label]:
    n = _count(rng)
    loops = 0
    if isinstance(pattern, Cmd) and pattern.loop:
        n = max(n, 3)
        loops = 2 if n < 5 or rng.random() < 0.5 else 3
    chosen = _place(rng, plans, pattern.formats, n, min_runs=2)
    # The fix follows in at least two of them; in the others the agent gives up or moves on.
    fixed = [i < 2 or rng.random() < 0.6 for i in range(n)]
    looped = [i < loops for i in range(n)]  # loop sessions are among the fixed ones
    order = list(range(n))
    rng.shuffle(order)
    # Thresholds count CI runs: the two sure fixes go to sessions of two different runs.
    at = {slot: i for i, slot in enumerate(order)}
    if chosen[at[0]].run == chosen[at[1]].run:
        other = next(i for i, p in enumerate(chosen) if p.run != chosen[at[0]].run)
        order[at[1]], order[other] = order[other], order[at[1]]
    for slot, plan in zip(order, chosen, strict=True):
        plan.planted.append((pattern, fixed[slot], looped[slot]))
    runs = len({p.run for p in chosen})
    if isinstance(pattern, Cmd):
        out = [Label(pattern.id, pattern.kind, pattern.key, (pattern.fix,), n, runs, sum(fixed), pattern.note)]
        if loops:
            loop_runs = len({p.run for slot, p in zip(order, chosen, strict=True) if looped[slot]})
            key = pattern.loop_key or pattern.loop or ""
            out.append(Label(pattern.id + "-loop", "loop", key, (pattern.loop_ok or "",), loops,
                             loop_runs, loops, f"`{pattern.loop}` retried 3-5 times, then `{pattern.loop_ok}`"))
        return out
    if isinstance(pattern, Prereq):
        return [Label(pattern.id, "prerequisite", pattern.key, (pattern.fix,), n, runs, sum(fixed),
                      f"run {pattern.fix} first")]
    if isinstance(pattern, Renamed):
        return [Label(pattern.id, "path", pattern.wrong, (pattern.right,), n, runs, sum(fixed),
                      f"renamed to {pattern.right}")]
    if isinstance(pattern, PathMove):
        return [Label(pattern.id, "path", pattern.wrong, (pattern.right,), n, runs, sum(fixed),
                      f"the file is at {pattern.right}")]
    if isinstance(pattern, Scope):
        return [Label(pattern.id, "scope", pattern.wrong, (pattern.right,), n, runs, sum(fixed),
                      f"the code is under {pattern.right}")]
    if isinstance(pattern, Large):
        return [Label(pattern.id, "large_file", pattern.path, ("paged",), n, runs, sum(fixed),
                      f"{pattern.tokens} tokens")]
    assert isinstance(pattern, Denied)
    # A refusal is a rule only about the repository path or the shell construct it names; these
    # name a program (`git push`, `apt-get install`) or a path outside the repository: "`git push`
    # is not permitted" would be wrong, so they are planted as traps the miner must not turn into rules.
    if pattern.key.startswith("./"):
        return [Label(pattern.id, "permission", pattern.key[2:], (), n, runs, 0, "permission denied on a repo path")]
    return []


def _plant_trap(rng: random.Random, plans: list[Plan], trap: Any, kind: str) -> Distractor:
    if kind in ("once", "rejected_once"):
        n = 1
    elif kind == "fix_once":
        n = rng.randint(2, 5)
    else:
        n = _count(rng) + 1
    chosen = _place(rng, plans, trap.formats, n, min_runs=min(n, 2))
    for i, plan in enumerate(chosen):
        fixed = kind != "fix_once" or i == 0
        # A trap seen once can be a loop too: three retries in one session are still one session.
        plan.planted.append((trap, fixed, isinstance(trap, Cmd) and trap.loop is not None))
    keys = [trap.key] if hasattr(trap, "key") else [getattr(trap, "wrong", getattr(trap, "path", ""))]
    if isinstance(trap, Cmd) and trap.loop:
        keys.append(trap.loop)
    notes = {"once": "seen in one session", "transient": "transient error, recurring",
             "dev": "fixed by editing code, recurring", "rejected_once": "user rejection, once",
             "fix_once": "recurring failure, fix seen once"}
    return Distractor(trap.id, kind, tuple(keys), n, notes[kind])


# --------------------------------------------------------------------------- sessions


PROMPTS = ("Fix the failing cart rounding test", "Add a coupon expiry check", "Make CI green on main",
           "Review the open PR and address comments", "Refactor pricing into its own module",
           "Add an endpoint to list orders by customer", "Fix the flaky checkout test",
           "Update the README with setup steps", "Implement partial refunds")


def _episodes(plan: Plan, rng: random.Random) -> tuple[list[Step], Ctx]:
    """The calls of one session: planted episodes in random order, noise around them."""
    ctx = Ctx(rng, plan.fmt, plan.root)
    planted = list(plan.planted)
    rng.shuffle(planted)
    steps = [noise(ctx) for _ in range(rng.randint(2, 6))]
    for pattern, fixed, loop in planted:
        steps += pattern.episode(ctx, fixed, loop).steps
        steps += [noise(ctx) for _ in range(rng.randint(2, 7))]
    steps += [noise(ctx) for _ in range(rng.randint(0, 6))]
    if rng.random() < 0.5:
        steps.append(git_status(ctx))
    return steps, ctx


def _sid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _abs(root: str, path: str) -> str:
    return f"{root}/{path}" if path else root


def _numbered(text: str, start: int = 1) -> str:
    return "\n".join(f"{i:>6}\u2192{line}" for i, line in enumerate(text.splitlines(), start))


CLAUDE_REJECTED = ("The user doesn't want to proceed with this tool use. The tool use was rejected (eg. if it was a "
                   "file edit, the new_string was NOT written to the file). STOP what you are doing and wait for the "
                   "user to tell you how to proceed.")


def _claude_call(step: Step, call_id: str, root: str, rng: random.Random) -> tuple[dict[str, Any], str, bool]:
    """(tool_use block, tool_result text, is_error) as Claude Code writes them."""
    if step.tool == "shell":
        use = cl.tool_use(call_id, "Bash", command=step.cmd, description="Run " + step.cmd.split(" ")[0])
        if step.fail == "rejected":
            return use, CLAUDE_REJECTED, True
        if step.fail == "not_granted":
            return use, "Claude requested permissions to use Bash, but you haven't granted it yet.", True
        if step.code:
            return use, f"Exit code {step.code}\n{step.output}", True
        return use, step.output, False
    if step.tool == "read":
        args: dict[str, Any] = {"file_path": _abs(root, step.path)}
        if step.offset is not None:
            args["offset"] = step.offset
        if step.limit is not None:
            args["limit"] = step.limit
        use = cl.tool_use(call_id, "Read", **args)
        if step.fail == "missing":
            note = f" Note: your current working directory is {root}." if rng.random() < 0.6 else ""
            return use, f"<tool_use_error>File does not exist.{note}</tool_use_error>", True
        if step.fail == "too_large":
            return use, (f"File content ({step.tokens} tokens) exceeds maximum allowed tokens (25000). Please use "
                         "offset and limit parameters to read specific portions of the file, or use the GrepTool "
                         "to search for specific content."), True
        return use, _numbered(step.output, step.offset or 1), False
    if step.tool == "grep":
        args = {"pattern": step.pattern}
        if step.path:
            args["path"] = _abs(root, step.path) if step.absolute else step.path
        content = rng.random() < 0.3
        if content:
            args["output_mode"] = "content"
            args["-n"] = True
        use = cl.tool_use(call_id, "Grep", **args)
        if not step.hits:
            return use, "No matches found" if content else "No files found", False
        if content:
            return use, "\n".join(f"{_abs(root, h)}:{rng.randint(1, 400)}:{step.pattern}" for h in step.hits), False
        noun = "file" if len(step.hits) == 1 else "files"
        return use, f"Found {len(step.hits)} {noun}\n" + "\n".join(_abs(root, h) for h in step.hits), False
    if step.tool == "glob":
        use = cl.tool_use(call_id, "Glob", pattern=step.pattern)
        return use, "\n".join(_abs(root, h) for h in step.hits) or "No files found", False
    if step.tool == "edit":
        use = cl.tool_use(call_id, "Edit", file_path=_abs(root, step.path), old_string="return total",
                          new_string="return round_money(total)")
        return use, (f"The file {_abs(root, step.path)} has been updated. Here's the result of running `cat -n` "
                     f"on a snippet of the edited file:\n    41\u2192    return round_money(total)"), False
    assert step.tool == "write", step.tool
    use = cl.tool_use(call_id, "Write", file_path=_abs(root, step.path), content="from decimal import Decimal\n")
    return use, f"File created successfully at: {_abs(root, step.path)}", False


def _claude(plan: Plan, steps: list[Step], sid: str, start: datetime, rng: random.Random) -> list[dict[str, Any]]:
    def ts(s: int) -> str:
        return (start + timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    env = {"session_id": sid, "cwd": plan.root, "branch": "main"}
    records = [cl.user_line(rng.choice(PROMPTS), ts=ts(0), **env)]
    for n, step in enumerate(steps, 1):
        call_id = f"toolu_01{rng.getrandbits(80):020x}"
        use, text, err = _claude_call(step, call_id, plan.root, rng)
        u = cl.usage(6, rng.randint(40, 400), rng.randint(10_000, 60_000), rng.randint(0, 2_000))
        records += cl.assistant_lines(f"msg_01{rng.getrandbits(64):016x}", [use], ts=ts(3 * n), u=u, **env)
        records.append(cl.user_line([cl.tool_result(call_id, text, is_error=True if err else None)],
                                    ts=ts(3 * n + 1), **env))
    return records


def _codex_patch(path: str) -> str:
    return (f"*** Begin Patch\n*** Update File: {path}\n@@\n-    return total\n+    return round_money(total)\n"
            "*** End Patch\n")


CODEX_REJECTED = "exec command rejected by user"


def _codex(plan: Plan, steps: list[Step], sid: str, n: int, rng: random.Random) -> list[dict[str, Any]]:
    t0 = n * 3600.0
    at = cx.at
    turn = cx.uuid7(t0 + 1, n)
    out: list[dict[str, Any]] = [
        cx.session_meta(ts=at(t0), id=sid, cwd=plan.root), cx.turn_context(ts=at(t0 + 1), turn_id=turn),
        cx.task_started(ts=at(t0 + 1), turn_id=turn), cx.response(cx.user_message(rng.choice(PROMPTS)), ts=at(t0 + 1)),
    ]
    unified = rng.random() < 0.7  # current builds run exec_command; older ones `shell`
    for i, step in enumerate(steps, 1):
        t = t0 + 5 * i
        call_id = f"call_{rng.getrandbits(96):024x}"
        if step.tool in ("edit", "write"):
            out.append(cx.response(cx.custom_call(call_id, "apply_patch", _codex_patch(step.path)), ts=at(t)))
            out.append(cx.response(cx.custom_output(call_id, cx.legacy_output(
                f"Success. Updated the following files:\nM {step.path}\n", 0)), ts=at(t + 1)))
            out.append(cx.patch_end(call_id, True, ts=at(t + 1)))
            continue
        assert step.tool == "shell", f"codex has no {step.tool} tool"
        if unified:
            out.append(cx.response(cx.function_call(call_id, "exec_command", {"cmd": step.cmd, "workdir": plan.root}),
                                   ts=at(t)))
        else:
            out.append(cx.response(cx.function_call(call_id, "shell", {"command": ["bash", "-lc", step.cmd],
                                                                        "workdir": plan.root}), ts=at(t)))
        if step.fail == "rejected":
            out.append(cx.response(cx.function_output(call_id, CODEX_REJECTED), ts=at(t + 1)))
            continue
        text = (cx.unified(step.output, exit_code=step.code, chunk=f"{rng.getrandbits(24):06x}") if unified
                else cx.shell_text(step.output, step.code))
        out.append(cx.response(cx.function_output(call_id, text), ts=at(t + 2)))
        out.append(cx.exec_end(call_id, step.code, ts=at(t + 2), status="completed" if step.code == 0 else "failed",
                               output=step.output))
    out.append(cx.token_count(rng.randint(50_000, 400_000), rng.randint(20_000, 300_000), rng.randint(1_000, 9_000),
                              ts=at(t0 + 5 * len(steps) + 5)))
    return out


def _gemini_call(step: Step, call_id: str, root: str, ts: str, rng: random.Random) -> dict[str, Any]:
    args: dict[str, Any]
    if step.tool == "shell":
        args = {"command": step.cmd, "description": "Run " + step.cmd.split(" ")[0]}
        if step.fail == "rejected":
            return gm.call(call_id, "run_shell_command", args, ts=ts, status="cancelled",
                           output=gm.cancelled("User did not allow tool call"))
        return gm.call(call_id, "run_shell_command", args, ts=ts,
                       output=gm.shell_output(step.output, exit_code=step.code or None,
                                              pgid=rng.randint(1000, 9999)))
    key = "file_path" if rng.random() < 0.6 else "absolute_path"  # renamed in later Gemini CLI versions
    if step.tool == "read":
        args = {key: _abs(root, step.path)}
        if step.offset is not None:
            args.update(offset=step.offset, limit=step.limit)
        if step.fail == "missing":
            return gm.call(call_id, "read_file", args, ts=ts, status="error",
                           error=f"File not found: {_abs(root, step.path)}")
        return gm.call(call_id, "read_file", args, ts=ts, output=step.output)
    if step.tool == "grep":
        where = step.path or "."
        args = {"pattern": step.pattern}
        if step.path:
            args["dir_path" if key == "file_path" else "path"] = _abs(root, step.path) if step.absolute else step.path
        if not step.hits:
            return gm.call(call_id, "search_file_content", args, ts=ts,
                           output=f'No matches found for pattern "{step.pattern}" in path "{where}".')
        body = "\n".join(f"File: {posixpath.relpath(h, step.path or '.')}\nL{rng.randint(1, 400)}: {step.pattern}"
                         for h in step.hits)
        noun = "match" if len(step.hits) == 1 else "matches"
        return gm.call(call_id, "search_file_content", args, ts=ts,
                       output=f'Found {len(step.hits)} {noun} for pattern "{step.pattern}" in path "{where}":\n'
                              f"---\n{body}\n---")
    if step.tool == "glob":
        listing = "\n".join(_abs(root, h) for h in step.hits)
        return gm.call(call_id, "glob", {"pattern": step.pattern}, ts=ts,
                       output=f'Found {len(step.hits)} file(s) matching "{step.pattern}" within {root}, sorted by '
                              f"modification time (newest first):\n{listing}")
    if step.tool == "edit":
        return gm.call(call_id, "replace", {"file_path": _abs(root, step.path), "old_string": "return total",
                                            "new_string": "return round_money(total)"}, ts=ts,
                       output=f"Successfully modified file: {_abs(root, step.path)} (1 replacements).")
    assert step.tool == "write", step.tool
    return gm.call(call_id, "write_file", {"file_path": _abs(root, step.path), "content": "x = 1\n"}, ts=ts,
                   output=f"Successfully created and wrote to new file: {_abs(root, step.path)}.")


def _gemini(plan: Plan, steps: list[Step], sid: str, start: datetime, rng: random.Random) -> list[dict[str, Any]]:
    def ts(s: int) -> str:
        return (start + timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    out = [gm.meta(sid, start=ts(0), updated=ts(4 * len(steps) + 4), directories=[plan.root]),
           gm.user("m0", rng.choice(PROMPTS), ts=ts(1))]
    i = 0
    while i < len(steps):  # a model turn carries one to three calls
        batch = steps[i:i + rng.randint(1, 3)]
        calls = [_gemini_call(s, f"call-{i + k}-{rng.getrandbits(32):08x}", plan.root, ts(4 * (i + k) + 3), rng)
                 for k, s in enumerate(batch)]
        out.append(gm.gemini(f"m{i + 1}", ts=ts(4 * (i + len(batch)) + 2), calls=calls,
                             toks=gm.tokens(rng.randint(8_000, 60_000), rng.randint(100, 900))))
        i += len(batch)
    return out


def _write(root: Path, run_id: str, plan: Plan, steps: list[Step], rng: random.Random) -> Path:
    sid = _sid(rng)
    start = datetime(2026, 5, 1, 8, 0, tzinfo=timezone.utc) + timedelta(hours=plan.index)
    stamp = start.strftime("%Y-%m-%dT%H-%M-%S")
    base = root / f"run-{run_id}"
    if not (base / MANIFEST).exists():
        # As collect writes it: the manifest names the run of every session in the bundle.
        base.mkdir(parents=True, exist_ok=True)
        (base / MANIFEST).write_text(json.dumps(manifest(repository="acme/shop", run=Run(
            run_id, attempt=1, url=f"https://github.com/acme/shop/actions/runs/{run_id}"))))
    if plan.fmt == "claude":
        encoded = plan.root.replace("/", "-").replace("_", "-")
        return cl.write_jsonl(base / "claude" / "projects" / encoded / f"{sid}.jsonl",
                              _claude(plan, steps, sid, start, rng))
    if plan.fmt == "codex":
        # Codex names and dates a rollout by its UUIDv7 session id, minted when it starts.
        sid = cx.uuid7(plan.index * 3600.0, plan.index)
        start = cx.BASE + timedelta(hours=plan.index)
        stamp, day = start.strftime("%Y-%m-%dT%H-%M-%S"), start.strftime("%Y/%m/%d")
        return cl.write_jsonl(base / "codex" / "sessions" / day / f"rollout-{stamp}-{sid}.jsonl",
                              _codex(plan, steps, sid, plan.index, rng))
    return cl.write_jsonl(base / "gemini" / "tmp" / gm.PROJECT_HASH / "chats" / f"session-{stamp[:16]}-{sid[:8]}.jsonl",
                          _gemini(plan, steps, sid, start, rng))


# --------------------------------------------------------------------------- build


def learnings() -> tuple[Any, ...]:
    return (*COMMANDS, *PREREQS, *PATHS, *RENAMED, *SCOPES, *LARGE, *DENIED)


def traps() -> tuple[tuple[Any, str], ...]:
    return (*((t, "once") for t in _once_traps()), *((t, "transient") for t in _transient_traps()),
            *((t, "dev") for t in _dev_traps()), *((t, "rejected_once") for t in _rejected_traps()),
            *((t, "fix_once") for t in _fix_once_traps()))


def _plans(rng: random.Random, sessions: int, runs: int) -> list[Plan]:
    if runs < 2 or sessions < runs:
        raise ValueError("need at least 2 runs and one session per run")
    formats: list[Fmt] = list(FORMAT_WEIGHTS)  # type: ignore[arg-type]
    weights = list(FORMAT_WEIGHTS.values())
    # Every run gets a session, then the rest land anywhere: runs differ in size as in CI.
    run_of = list(range(runs)) + [rng.randrange(runs) for _ in range(sessions - runs)]
    root_of = [ROOTS[0] if rng.random() < 0.8 else ROOTS[1] for _ in range(runs)]
    return [Plan(i, run_of[i], rng.choices(formats, weights)[0], root_of[run_of[i]]) for i in range(sessions)]


def build(root: Path, *, seed: int, sessions: int, runs: int) -> Labels:
    """Writes the corpus under `root` (one `run-<id>` folder per run) and returns its answer key."""
    rng = random.Random(seed)
    plans = _plans(rng, sessions, runs)
    labels: list[Label] = []
    for pattern in learnings():
        labels += _plant_learning(rng, plans, pattern)
    distractors = [_plant_trap(rng, plans, trap, kind) for trap, kind in traps()]
    run_ids = [str(15_200_000_000 + rng.randrange(10_000_000)) for _ in range(runs)]
    root.mkdir(parents=True, exist_ok=True)
    formats: dict[str, int] = {f: 0 for f in ALL}
    calls = 0
    for plan in plans:
        steps, _ = _episodes(plan, rng)
        _write(root, run_ids[plan.run], plan, steps, rng)
        formats[plan.fmt] += 1
        calls += len(steps)
    result = Labels(seed, sessions, runs, tuple(root / f"run-{r}" for r in sorted(set(run_ids))), formats, calls,
                    tuple(labels), tuple(distractors))
    (root / LABELS_FILE).write_text(json.dumps({"version": GENERATOR_VERSION, **result.to_dict()}, indent=1))
    return result
