"""The allowlist for a command or path quoted in a rule (pure).

A rule is read by every later agent run, and its commands were typed by an agent that an issue
body, a web page or a dependency's output may have steered. So a command in a rule is allowed
only as a plain invocation: a program, its subcommand and arguments made of a small safe
alphabet, paths inside the repository. Everything a shell would treat specially is refused
(pipes, substitution, redirection, chaining, quoting, globs, variables), and so are the
invocations that change what the agent may do rather than what it runs: environment and
credential changes, force pushes, hook-skipping flags, permission changes, inline code for an
interpreter, downloads, and package installs or indexes the repository does not itself name.
"""
from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from collections.abc import Sequence
from typing import NamedTuple

MAX_COMMAND = 200

# What a plain argument may be made of. `<id>`-style placeholders are taken out first.
_SAFE = re.compile(r"[A-Za-z0-9_.,:/=@+%^-]*")
_PLACEHOLDER = re.compile(r"<[A-Za-z][\w-]{0,30}>")
_SPECIAL = (
    ("$(", "command substitution"), ("`", "command substitution"), ("$", "a variable"),
    ("|", "a pipe"), (";", "command chaining"), ("&", "command chaining"), (">", "redirection"),
    ("<", "redirection"), ("(", "a subshell"), (")", "a subshell"), ("{", "brace expansion"),
    ("}", "brace expansion"), ("'", "quoting"), ('"', "quoting"), ("\\", "an escape"),
    ("*", "a glob"), ("?", "a glob"), ("[", "a glob"), ("]", "a glob"), ("!", "history expansion"),
    ("#", "a comment"), ("~", "a home-folder path"),
)
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_URL = re.compile(r"(?i)^(?:[a-z][a-z0-9+.-]*://|git@|www\.)")

# Programs whose every use changes the agent's environment, privileges or the network.
_DENIED_PROGRAMS = {
    **dict.fromkeys(("sudo", "su", "doas", "pkexec", "runas"), "runs as another user"),
    **dict.fromkeys(("eval", "exec", "source", ".", "xargs", "env", "nohup", "timeout", "time", "watch"),
                    "runs another command"),
    **dict.fromkeys(("export", "set", "unset", "alias", "setenv", "declare", "typeset", "readonly"),
                    "changes the environment"),
    **dict.fromkeys(("chmod", "chown", "chgrp", "chattr", "setfacl", "umask"), "changes permissions"),
    **dict.fromkeys(("curl", "wget", "nc", "ncat", "netcat", "telnet", "ftp", "sftp", "scp", "ssh", "rsync",
                     "iwr", "irm", "invoke-webrequest", "invoke-restmethod", "aria2c", "socat"),
                    "reaches the network"),
    **dict.fromkeys(("ssh-keygen", "ssh-add", "ssh-copy-id", "gpg", "security", "keyring", "pass"),
                    "touches credentials"),
    **dict.fromkeys(("dd", "mkfs", "shred", "fdisk", "mount", "umount", "kill", "killall", "pkill", "crontab",
                     "systemctl", "launchctl", "reboot", "shutdown"), "changes the machine"),
}
# Interpreters, and the flags that hand them code to run.
_INLINE = {
    "bash": ("-c",), "sh": ("-c",), "zsh": ("-c",), "dash": ("-c",), "ksh": ("-c",), "fish": ("-c",),
    "pwsh": ("-c", "-command", "-encodedcommand"), "powershell": ("-c", "-command", "-encodedcommand"),
    "python": ("-c",), "node": ("-e", "-p", "--eval", "--print"), "deno": ("eval",), "bun": ("-e", "--eval"),
    "perl": ("-e", "-E"), "ruby": ("-e",), "php": ("-r",), "lua": ("-e",), "osascript": ("-e",),
}
# Flags that skip a check or weaken a safety, wherever they appear.
_DENIED_FLAGS = {
    "--no-verify": "skips hooks", "--no-gpg-sign": "skips signing", "--dangerously-skip-permissions":
    "skips permission checks", "--yolo": "skips permission checks", "--insecure": "disables TLS checks",
    "--no-check-certificate": "disables TLS checks", "--trusted-host": "disables TLS checks",
    "--allow-unauthenticated": "disables signature checks", "--unsafe-perm": "runs install scripts as root",
    "--break-system-packages": "changes the system Python",
}
# Flags whose value is a package index or source: allowed only when the repository names it.
_INDEX_FLAGS = frozenset({"--index-url", "--extra-index-url", "-i", "--find-links", "-f", "--registry",
                          "--index", "--default-index", "--source", "--pre-release-index"})
_INDEX_PROGRAMS = frozenset({"pip", "uv", "npm", "pnpm", "yarn", "poetry", "gem", "bun", "pipx"})
# How each package manager installs a named package: (program, subcommands).
_INSTALLS = {
    "pip": ("install",), "pipx": ("install", "run", "inject"), "uv": ("add",),
    "uvx": ("",), "poetry": ("add",), "pdm": ("add",), "npm": ("install", "i", "add", "exec"),
    "npx": ("",), "pnpm": ("add", "install", "i", "dlx"), "pnpx": ("",), "yarn": ("add", "dlx"),
    "bun": ("add", "install", "i", "x"), "bunx": ("",), "cargo": ("add", "install"), "gem": ("install",),
    "go": ("get", "install"), "brew": ("install",), "apt": ("install",), "apt-get": ("install",),
    "conda": ("install",), "mamba": ("install",), "composer": ("require",), "dotnet": ("add",),
}
_GIT_CONFIG = frozenset({"config", "credential", "credential-store", "credential-cache"})


class Facts(NamedTuple):
    """What the repository itself names: words of its manifests and config (package names,
    index and repository URLs). Gathered at the edge; empty means the strictest screen."""
    names: frozenset[str] = frozenset()


# Files in which a repository names its packages, scripts, indexes and remotes.
MANIFESTS = ("package.json", "pyproject.toml", "setup.cfg", "setup.py", "Pipfile", "Cargo.toml", "go.mod",
             "Gemfile", "mix.exs", "composer.json", ".npmrc", "pip.conf", "uv.toml", "pnpm-workspace.yaml",
             "Makefile", "justfile", "Taskfile.yml", "deno.json", "environment.yml")
MANIFEST_PREFIXES = ("requirements",)   # requirements.txt, requirements-dev.txt, requirements/…
_WORD = re.compile(r"[A-Za-z0-9@][\w.@/+:~-]*")


def facts_from(files: Mapping[str, str]) -> Facts:
    """The names a repository's manifests hold (file name → text): every word and URL in them,
    also in lower case, since package names compare without case."""
    names: set[str] = set()
    for text in files.values():
        for m in _WORD.finditer(text[:1_000_000]):
            word = m.group(0).rstrip(".,:/")
            names.update((word, word.lower()))
    return Facts(frozenset(names))


def _program(word: str) -> str:
    base = posixpath.basename(word).lower()
    return re.sub(r"(?<=[a-z])[\d.]+$", "", base) if base.startswith(("python", "pip")) else base


def _outside(word: str) -> bool:
    value = word.split("=", 1)[1] if word.startswith("-") and "=" in word else word
    if value.startswith("/"):
        return True
    return ".." in value.split("/")


def _package(word: str) -> str:
    """A package argument without its version: `pkg==1.2`, `pkg@1.2`, `@scope/pkg@^1`."""
    name = re.split(r"[=<>~!]=?|\[", word, maxsplit=1)[0]
    if "@" in name[1:]:
        name = name[0] + name[1:].split("@", 1)[0]
    return name


def _named(word: str, facts: Facts) -> bool:
    word = word.rstrip("/")
    return word in facts.names or word.lower() in facts.names


def problems(command: str, facts: Facts = Facts()) -> list[str]:
    """Why `command` (a code span of a rule: a command, a path or a name) may not be in a rule;
    empty when it may."""
    if len(command) > MAX_COMMAND:
        return [f"a command longer than {MAX_COMMAND} characters"]
    bare = _PLACEHOLDER.sub("id", command)
    out: list[str] = []
    for token, what in _SPECIAL:
        if token in bare and what not in out:
            out.append(what)
    words = bare.split(" ")
    words = [w for w in words if w]
    if not words:
        return out
    if not out and not all(_SAFE.fullmatch(w) for w in words):
        out.append("characters outside the plain-argument set")
    if out:
        return out
    if _ASSIGNMENT.match(words[0]):
        return ["sets an environment variable"]
    for w in words:
        value = w.split("=", 1)[1] if w.startswith("-") and "=" in w else w
        if _URL.match(value) and not _named(value, facts):
            out.append(f"a URL the repository does not name ({value})")
        elif _outside(w):
            out.append(f"a path outside the repository ({value})")
    if len(words) == 1:
        return out
    return out + _invocation(words, facts)


def _invocation(words: Sequence[str], facts: Facts) -> list[str]:
    program = _program(words[0])
    args = list(words[1:])
    out: list[str] = []
    if program in _DENIED_PROGRAMS:
        return [f"`{program}` {_DENIED_PROGRAMS[program]}"]
    inline = _INLINE.get(program)
    if inline and any(a.lower() in inline or a.lower().startswith(tuple(f + "=" for f in inline)) for a in args):
        out.append(f"hands `{program}` code to run")
    for a in args:
        flag = a.split("=", 1)[0]
        if flag in _DENIED_FLAGS:
            out.append(f"`{flag}` {_DENIED_FLAGS[flag]}")
    if program == "git":
        out += _git(args)
    if program == "gh" and args and args[0] in ("auth", "secret", "ssh-key", "gpg-key", "variable"):
        out.append(f"`gh {args[0]}` touches credentials")
    if program in _INDEX_PROGRAMS or (program == "python" and args[:2] == ["-m", "pip"]):
        out += _indexes(args, facts)
    out += _installs(program, args, facts)
    return out


def _git(args: list[str]) -> list[str]:
    out: list[str] = []
    while args and args[0].startswith("-"):
        flag = args.pop(0)
        if flag == "-c" or flag.startswith("--config-env") or flag.startswith("-c"):
            return ["`git -c` changes configuration"]
        if flag in ("-C", "--git-dir", "--work-tree") and args:
            args.pop(0)
    if not args:
        return out
    sub, rest = args[0], args[1:]
    if sub in _GIT_CONFIG or (sub == "remote" and rest[:1] and rest[0] in ("add", "set-url")):
        out.append(f"`git {sub}` changes configuration or credentials")
    if sub == "push":
        if any(a in ("-f", "--force", "--mirror", "--delete", "-d", "--prune") or a.startswith("--force")
               for a in rest):
            out.append("a force push or remote deletion")
        if any(a.startswith("+") or (":" in a and not a.startswith("-")) for a in rest):
            out.append("pushes to a ref other than the current branch's")
    if sub == "commit" and any(a == "-n" or (re.fullmatch(r"-[a-zA-Z]+", a) and "n" in a) for a in rest):
        out.append("`git commit -n` skips hooks")
    return out


def _indexes(args: list[str], facts: Facts) -> list[str]:
    out: list[str] = []
    for i, a in enumerate(args):
        flag, _, value = a.partition("=")
        if flag in _INDEX_FLAGS:
            value = value or (args[i + 1] if i + 1 < len(args) else "")
            if not _named(value, facts):
                out.append(f"a package index the repository does not name ({flag} {value})".rstrip())
    return out


def _installs(program: str, args: list[str], facts: Facts) -> list[str]:
    if program == "python" and args[:2] == ["-m", "pip"]:
        program, args = "pip", args[2:]
    if program == "uv" and args[:2] in (["tool", "install"], ["tool", "run"]):
        program, args = "uvx", args[2:]
    if program == "uv" and args[:2] == ["pip", "install"]:
        program, args = "pip", args[1:]
    subs = _INSTALLS.get(program)
    if subs is None:
        return []
    sub = ""
    if subs != ("",):
        if not args or args[0] not in subs:
            return []
        sub, args = args[0], args[1:]
    out: list[str] = []
    skip_next = False
    # A runner takes one package and hands it the rest: `npx vitest run`.
    one = subs == ("",) or program in ("npm", "pnpm", "yarn", "bun", "pipx") and sub in ("exec", "dlx", "x", "run")
    for a in args:
        if skip_next:
            skip_next = False
            continue
        if a.startswith("-"):
            # A flag's value is not a package (`-r requirements.txt`, `--prefix dir`).
            skip_next = a in ("-r", "--requirement", "-c", "--constraint", "-e", "--editable", "--prefix",
                              "--target", "-t", "--root", "--python", "-p", "-w", "--workspace", "--filter") \
                or a in _INDEX_FLAGS
            continue
        if a.startswith((".", "/")):
            continue  # a local path, checked by the path rules
        name = a.split("@", 1)[0] if program == "go" else _package(a)
        if name and not _named(name, facts):
            out.append(f"installs a package the repository does not name ({name})")
        if one:
            break
    return out
