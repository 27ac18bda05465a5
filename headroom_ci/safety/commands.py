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

from headroom_ci.safety import programs

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
_URL_ANYWHERE = re.compile(r"(?i)(?:[a-z][a-z0-9+.-]*://|(?<![\w.-])www\.|(?<![\w:])//[\w-]+\.[\w.-]+)")
_SECRET_FILE = re.compile(r"(?i)(?:^|/)(?:\.env(?:\.[\w-]+)?|\.npmrc|\.pypirc|\.netrc|\.git-credentials|id_(?:rsa|dsa|"
                          r"ecdsa|ed25519)\w*|[\w-]*credentials[\w.-]*|[\w.-]+\.(?:pem|key|p12|pfx|keystore))$")
# scp-style remotes: user@host:path, host.tld:path.
_REMOTE = re.compile(r"(?i)^(?:[\w.-]+@[\w.-]+:|[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}:(?!\d+$))")

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
    "--break-system-packages": "changes the system Python", "--admin": "bypasses branch protection",
    "--upload-pack": "runs a command", "--receive-pack": "runs a command", "--exec": "runs a command",
}
# Flags whose value is a package index or source: allowed only when the repository names it.
_INDEX_FLAGS = frozenset({"--index-url", "--extra-index-url", "-i", "--find-links", "-f", "--registry",
                          "--index", "--default-index", "--source", "--pre-release-index"})
_INDEX_PROGRAMS = frozenset({"pip", "uv", "npm", "pnpm", "yarn", "poetry", "gem", "bun", "pipx"})
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


def _named(word: str, facts: Facts) -> bool:
    word = word.rstrip("/")
    return word in facts.names or word.lower() in facts.names


STRICT = Facts()  # nothing named: the strictest screen


def problems(command: str, facts: Facts = STRICT) -> list[str]:
    """Why `command` (a code span of a rule: a command, a path or a name) may not be in a rule;
    empty when it may."""
    if len(command) > MAX_COMMAND:
        return [f"a command longer than {MAX_COMMAND} characters"]
    bare = _PLACEHOLDER.sub("id", command)
    out: list[str] = []
    for token, what in _SPECIAL:
        if token in bare and what not in out:
            out.append(what)
    words = [w for w in bare.split(" ") if w]
    if not words:
        return out
    if not out and not all(_SAFE.fullmatch(w) for w in words):
        out.append("characters outside the plain-argument set")
    if out:
        return out
    if _ASSIGNMENT.match(words[0]):
        return ["sets an environment variable"]
    out += _arguments(words, facts)
    if len(words) == 1:
        program = _program(words[0])
        if "/" not in words[0] and program in _DENIED_PROGRAMS:
            out.append(f"`{program}` {_DENIED_PROGRAMS[program]}")
        return out
    return list(dict.fromkeys(out + _invocation(words, facts)))


def _arguments(words: Sequence[str], facts: Facts) -> list[str]:
    """What any argument may not be: a URL or remote the repository does not name, a path out of
    it (also glued to a short option: `-C..`, `-o/etc/x`), the repository's .git folder."""
    out: list[str] = []
    for w in words:
        value = w.split("=", 1)[1] if w.startswith("-") and "=" in w else w
        glued = w[2:] if re.fullmatch(r"-[A-Za-z].+", w) and "=" not in w else ""
        url = _URL_ANYWHERE.search(value)
        if url and not _named(value[url.start():], facts) and not _named(value, facts):
            out.append(f"a URL the repository does not name ({value[url.start():]})")
        elif _REMOTE.match(value) and not _named(value, facts):
            out.append(f"a remote the repository does not name ({value})")
        elif _outside(value) or (glued and _outside(glued)):
            out.append(f"a path outside the repository ({value})")
        if any(part == ".git" for part in value.split("/")):
            out.append(f"the repository's .git folder ({value})")
        if _SECRET_FILE.search(value):
            out.append(f"a file that holds secrets ({value})")
    return out


def _invocation(words: Sequence[str], facts: Facts) -> list[str]:
    inner, wrapper = programs.unwrap(list(words))
    if wrapper is not None:
        # The runner's own packages (`uv run --with x`, `mise x npm:x --`), then what it runs.
        named = programs.packages(_program(words[0]), list(words[1:]), lambda name: _named(name, facts))
        if not inner:
            return named
        return named + (_invocation(inner, facts) if len(inner) > 1 else problems(inner[0], facts))
    program = _program(words[0])
    args = list(words[1:])
    if program in _DENIED_PROGRAMS:
        return [f"`{program}` {_DENIED_PROGRAMS[program]}"]
    out: list[str] = []
    inline = _INLINE.get(program)
    if inline and (any(a.lower() in inline or a.lower().startswith(tuple(f + "=" for f in inline)) for a in args)
                   or {f[1] for f in inline if len(f) == 2} & programs.short_flags(args)):
        out.append(f"hands `{program}` code to run")
    for a in args:
        name = programs.long_flag(a, tuple(_DENIED_FLAGS))
        if name is not None:
            out.append(f"`{name}` {_DENIED_FLAGS[name]}")
        flag = a.split("=", 1)[0]
        if flag in programs.WEAKENING:
            out.append(f"`{flag}` {programs.WEAKENING[flag]}")
    if program == "git":
        out += programs.git(args)
    elif program == "gh":
        out += programs.gh(args)
    if program in _INDEX_PROGRAMS or (program == "python" and "pip" in args[:3]):
        out += _indexes(args, facts)
    out += programs.packages(program, args, lambda name: _named(name, facts))
    out += programs.program_flags(program, args)
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
