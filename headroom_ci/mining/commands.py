"""What a shell command is for: its head, the tool it runs, and its purpose (pure)."""
from __future__ import annotations

import re
import shlex
from typing import NamedTuple

# Programs that run another program: the wrapped tool is what the command does.
_WRAPPERS: dict[tuple[str, ...], int] = {
    ("uv", "run"): 2, ("poetry", "run"): 2, ("pipenv", "run"): 2, ("pdm", "run"): 2,
    ("hatch", "run"): 2, ("rye", "run"): 2, ("bundle", "exec"): 2, ("pnpm", "exec"): 2,
    ("npm", "exec"): 2, ("yarn", "exec"): 2, ("mise", "exec"): 2, ("mise", "x"): 2, ("npx",): 1, ("bunx",): 1, ("pnpx",): 1, ("uvx",): 1,
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
                     ("poetry", "self"), ("go", "mod"), ("go", "work"), ("cargo", "+nightly"), ("npm", "exec"), ("kubectl", "rollout")})
_PREFIXES = frozenset({"sudo", "time", "nice", "env", "command", "exec", "nohup", "stdbuf", "timeout"})
_SETUP = frozenset({"cd", "pushd", "source", ".", "export", "set", "unset", "mkdir", "echo"})
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


# The lexer is the standard library's shlex in POSIX mode with punctuation_chars, so `&&`, `||`,
# `;`, `|`, `&` and parentheses are tokens of their own and quotes are honoured. bashlex was
# weighed: it parses bash only (Claude Code's shell is often zsh), raises on much of what agents
# type, and has had no release since 2023. What shlex does not know is handled before lexing:
# backslash-newline continuations, heredoc bodies, command substitutions.
_OPERATORS = frozenset({"&&", "||", ";", "|", "&", "(", ")", ";;", "|&", "\n"})
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_]\w*)\1([^\n]*)\n.*?(?:\n[ \t]*\2[ \t]*(?=\n|$)|$)", re.S)
_DIR_FLAGS = {("git", "-C"), ("make", "-C"), ("npm", "--prefix"), ("pnpm", "--dir"), ("pnpm", "-C"),
              ("yarn", "--cwd"), ("go", "-C")}
SUBST = "__substitution__"


def _substitutions_out(cmd: str) -> str:
    """`$(…)` and backquotes become one placeholder word: what runs inside is not the command."""
    out: list[str] = []
    i, n = 0, len(cmd)
    while i < n:
        if cmd.startswith("$(", i) or cmd[i] == "`":
            close, depth, j = ("`", 0, i + 1) if cmd[i] == "`" else (")", 1, i + 2)
            while j < n:
                if close == ")" and cmd[j] == "(":
                    depth += 1
                elif cmd[j] == close:
                    depth -= 1
                    if depth <= 0:
                        break
                j += 1
            out.append(SUBST)
            i = j + 1
            continue
        out.append(cmd[i])
        i += 1
    return "".join(out)


def lex(cmd: str) -> list[list[str]]:
    """The simple commands of a command line, each as its words."""
    text = _HEREDOC.sub(lambda m: "<<" + m.group(2) + m.group(3) + "\n", cmd.replace("\\\n", " "))
    text = _substitutions_out(text).replace("\n", " ; ")
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes in a transcript: fall back to words
        tokens = text.split()
    segments: list[list[str]] = [[]]
    for tok in tokens:
        if tok in _OPERATORS or (tok and set(tok) <= set("&|;()")):
            segments.append([])
        elif tok.startswith(("<", ">")) or tok[:1].isdigit() and tok[1:2] in ("<", ">"):
            segments[-1].append("\0redirect")
        else:
            segments[-1].append(tok)
    out = []
    for words in segments:
        if words and words[0].startswith("#"):
            continue  # a comment line
        # A redirection's target is not an argument: `2>&1`, `> out.txt`.
        kept: list[str] = []
        skip = False
        for w in words:
            if w == "\0redirect":
                skip = True
                continue
            if skip:
                skip = False
                continue
            kept.append(w)
        if kept:
            out.append(kept)
    return out


def _main_segment(cmd: str) -> tuple[list[str], str | None]:
    workdir = None
    setup: list[str] = []
    for words in lex(cmd.strip()):
        while words and (_ENV_ASSIGN.match(words[0]) or words[0] in _PREFIXES):
            words = words[2:] if words[0] == "timeout" else words[1:]
        if not words:
            continue
        if words[0] in ("cd", "pushd") and len(words) > 1:
            workdir = words[1]
            continue
        if words[0] in _SETUP:
            setup = setup or words
            continue
        program = words[0].rsplit("/", 1)[-1]
        for k, w in enumerate(words[1:3], start=1):
            if (program, w) in _DIR_FLAGS and len(words) > k + 1:
                workdir = words[k + 1]
                words = [words[0], *words[1:k], *words[k + 2:]]
                break
        return words, workdir
    # Only setup (`mkdir -p build`): it is the command.
    return ([setup[0]] if setup and setup[0] not in ("echo", "set", "unset") else []), workdir


def main_words(cmd: str) -> list[str]:
    """The words of the command that decides what runs (after `cd`, setup and assignments)."""
    return _main_segment(cmd)[0]


def _args(words: list[str]) -> list[str]:
    return [w for w in words if not w.startswith("-")]


def _resolve(words: list[str]) -> tuple[list[str], str]:
    """(the head's words, the tool) of a command's words."""
    program = words[0].rsplit("/", 1)[-1] if not words[0].startswith("./") else words[0]
    for wrapper, n in _WRAPPERS.items():
        if tuple(words[:len(wrapper)]) == wrapper and len(words) > n:
            rest = words[n + 1:] if words[n] == "--" else words[n:]
            if not rest:
                break
            inner, tool = _resolve(rest)
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
    if text.startswith(("git ", "gh ")) or text in ("git", "gh"):
        # Version control: `git add` is not an install, `git commit` not a build.
        return "search" if text.startswith("git grep") else "other"
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
