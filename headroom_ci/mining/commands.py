"""What a shell command is for: its head, the tool it runs, and its purpose (pure)."""
from __future__ import annotations

import re
import shlex
from typing import NamedTuple

# Programs that run another program: the wrapped tool is what the command does.
_WRAPPERS: dict[tuple[str, ...], int] = {
    ("uv", "run"): 2, ("poetry", "run"): 2, ("pipenv", "run"): 2, ("pdm", "run"): 2,
    ("hatch", "run"): 2, ("rye", "run"): 2, ("bundle", "exec"): 2, ("pnpm", "exec"): 2,
    ("npm", "exec"): 2, ("yarn", "exec"): 2, ("npx",): 1, ("bunx",): 1, ("pnpx",): 1, ("uvx",): 1,
}
# Programs whose first argument names what they do (`make lint`, `cargo test`).
_SUBCOMMANDS = frozenset({
    "make", "just", "task", "rake", "cargo", "go", "git", "docker", "kubectl", "gradle", "./gradlew",
    "gradlew", "mvn", "./mvnw", "dotnet", "deno", "bun", "mix", "pip", "pip3", "uv", "poetry",
    "pnpm", "yarn", "npm", "tox", "nox", "helm", "terraform", "bazel", "swift", "composer",
    "apt-get", "apt", "brew", "pipx", "gh", "conda", "mamba",
})
_NPM_LIKE = frozenset({"npm", "pnpm", "yarn", "bun"})
# Subcommands that are groups of their own: `uv pip install`, `docker compose up`, `gh pr create`.
_GROUPS = frozenset({("uv", "pip"), ("docker", "compose"), ("gh", "pr"), ("gh", "run"), ("gh", "issue"),
                     ("poetry", "self"), ("cargo", "+nightly"), ("npm", "exec"), ("kubectl", "rollout")})
_PREFIXES = frozenset({"sudo", "time", "nice", "env", "command", "exec", "nohup", "stdbuf", "timeout"})
_SETUP = frozenset({"cd", "pushd", "source", ".", "export", "set", "unset", "mkdir", "echo"})
_SEPARATORS = re.compile(r"\s*(?:&&|\|\||;|\|(?!\|)|\n)\s*")
_ENV_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_PYTHON = re.compile(r"^python(\d(\.\d+)?)?$|^py$")

_PURPOSES: tuple[tuple[str, re.Pattern[str]], ...] = tuple((p, re.compile(rx)) for p, rx in (
    ("typecheck", r"\b(mypy|pyright|tsc|typecheck|type-check|check-types|types)\b"),
    # Before lint: `ruff format` formats, a bare `ruff` lints.
    ("format", r"\b(fmt|format|black|prettier|isort|gofmt|rustfmt)\b"),
    ("lint", r"\b(lint|ruff|flake8|pylint|eslint|golangci-lint|clippy|rubocop|shellcheck|stylelint)\b"),
    ("test", r"\b(test|tests|pytest|jest|vitest|mocha|unittest|spec|rspec|phpunit|ctest|tox|nox)\b"),
    ("build", r"\b(build|compile|bundle|webpack|vite build)\b"),
    ("install", r"\b(install|sync|ci|restore|add)\b"),
    ("search", r"^(rg|grep|egrep|ag|ack|fd|find|git grep)\b"),
))


class Command(NamedTuple):
    head: str      # the part that decides what runs: "uv run pytest", "npm run test:unit"
    tool: str      # what it runs: "pytest", "test:unit", "manage.py"
    program: str   # the first program: "uv", "npm", "python3"
    purpose: str   # test | lint | format | typecheck | build | install | search | other
    workdir: str | None  # a leading `cd DIR &&`


def _tokens(segment: str) -> list[str]:
    try:
        return shlex.split(segment)
    except ValueError:  # unbalanced quotes in a transcript: fall back to words
        return segment.split()


def _main_segment(cmd: str) -> tuple[list[str], str | None]:
    workdir = None
    for segment in _SEPARATORS.split(cmd.strip()):
        words = _tokens(segment)
        while words and (_ENV_ASSIGN.match(words[0]) or words[0] in _PREFIXES):
            words = words[2:] if words[0] == "timeout" else words[1:]
        if not words:
            continue
        if words[0] in ("cd", "pushd") and len(words) > 1:
            workdir = words[1]
            continue
        if words[0] in _SETUP:
            continue
        return words, workdir
    return [], workdir


def _args(words: list[str]) -> list[str]:
    return [w for w in words if not w.startswith("-")]


def _resolve(words: list[str]) -> tuple[list[str], str]:
    """(the head's words, the tool) of a command's words."""
    program = words[0].rsplit("/", 1)[-1] if not words[0].startswith("./") else words[0]
    for wrapper, n in _WRAPPERS.items():
        if tuple(words[:len(wrapper)]) == wrapper and len(words) > n:
            inner, tool = _resolve(words[n:])
            return [*words[:n], *inner], tool
    if _PYTHON.match(program):
        if len(words) > 2 and words[1] == "-m":
            return [program, "-m", words[2]], words[2]
        rest = _args(words[1:])
        if rest and rest[0].endswith(".py"):
            return [program, rest[0]], rest[0].rsplit("/", 1)[-1]
        return [program], program
    if program in _NPM_LIKE:
        rest = _args(words[1:])
        if rest[:1] == ["run"] and len(rest) > 1:
            return [program, "run", rest[1]], rest[1]
        if rest:
            return [program, rest[0]], rest[0]
        return [program], program
    if program in _SUBCOMMANDS:
        rest = _args(words[1:])
        if len(rest) > 1 and (program, rest[0]) in _GROUPS and re.fullmatch(r"[\w:.@-]+", rest[1]):
            return [program, rest[0], rest[1]], f"{program} {rest[0]} {rest[1]}"
        if rest and re.fullmatch(r"[\w:.@/-]+", rest[0]) and "/" not in rest[0]:
            # `ruff check` style: keep the subcommand, it is what differs between a fix and a failure
            return [program, rest[0]], rest[0] if program in ("make", "just", "task", "rake") else f"{program} {rest[0]}"
        return [program], program
    rest = _args(words[1:])
    if program == "ruff" and rest[:1] in (["check"], ["format"]):
        return [program, rest[0]], f"ruff {rest[0]}"
    return [program], program


def _purpose(text: str) -> str:
    for name, pattern in _PURPOSES:
        if pattern.search(text):
            return name
    return "other"


def parse_command(cmd: str) -> Command:
    words, workdir = _main_segment(cmd)
    if not words:
        return Command("", "", "", "other", workdir)
    head_words, tool = _resolve(words)
    head = " ".join(head_words)
    return Command(head, tool, head_words[0], _purpose(head.lower()), workdir)
