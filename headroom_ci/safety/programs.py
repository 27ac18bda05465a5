"""What a rule may ask of each program (pure): the per-program half of the command allowlist.

git and gh are allowlists of subcommands; package managers may install, run or create only
packages the repository names; wrappers and runners (`nice`, `uv run`, `mise x`) are looked
through; flags are matched as the programs match them (git takes any unique prefix of a long
option, short options bundle: `--no-verif`, `-uf`).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Sequence

Named = Callable[[str], bool]

# Programs that run the rest of the line, and the flags of theirs that take a value.
WRAPPERS = {"nice": {"-n"}, "ionice": {"-c", "-n"}, "stdbuf": set(), "command": set(), "builtin": set(),
            "busybox": set(), "chronic": set(), "unbuffer": set(), "caffeinate": set(), "exec": set()}
# (program, subcommand) that run a command given after their own flags, and those flags' values.
RUNNERS = {("uv", "run"), ("poetry", "run"), ("pipenv", "run"), ("pdm", "run"), ("hatch", "run"), ("rye", "run"),
           ("bundle", "exec"), ("conda", "run"), ("pixi", "run"), ("mise", "exec"), ("mise", "x")}
_RUNNER_VALUES = {"--python", "-p", "--directory", "--project", "--env-file", "--group", "--extra", "-n", "--name",
                  "-e", "--environment", "-C", "--cd", "--package"}
# Flags whose value is a package to fetch: it must be one the repository names.
_PACKAGE_VALUES = {"--with", "--with-editable", "--from", "--with-requirements"}

GIT_SUBCOMMANDS = frozenset({
    "add", "am", "apply", "bisect", "blame", "branch", "cat-file", "checkout", "cherry-pick", "clone", "commit",
    "describe", "diff", "fetch", "format-patch", "grep", "init", "log", "ls-files", "ls-remote", "ls-tree", "merge",
    "merge-base", "mv", "pull", "push", "range-diff", "rebase", "reflog", "remote", "restore", "rev-list",
    "rev-parse", "revert", "rm", "shortlog", "show", "sparse-checkout", "stash", "status", "switch", "tag",
    "worktree"})
# Long options no git subcommand may get in a rule (any unique prefix counts, as git takes it).
_GIT_LONG = ("--upload-pack", "--receive-pack", "--exec", "--exec-path", "--repo", "--force", "--force-with-lease",
             "--force-if-includes", "--mirror", "--delete", "--prune", "--no-verify", "--git-dir", "--work-tree")
# Short options, bundled or not, that force, delete or skip hooks, by subcommand.
_GIT_SHORT = {"push": "fd", "commit": "n", "branch": "dDfM", "tag": "df", "rebase": "x", "merge": "n", "clone": "u"}
_GIT_SUBS_OF = {"bisect": {"run"}, "remote": {"add", "set-url", "remove", "rm", "rename", "set-head", "prune"},
                "worktree": {"remove", "prune"}, "stash": {"drop", "clear"}}

# gh: what may be read. Everything else writes to the repository, its settings or elsewhere.
GH_READS = {"pr": {"view", "list", "diff", "checks", "status", "checkout"}, "issue": {"view", "list", "status"},
            "run": {"view", "list", "watch"}, "workflow": {"view", "list"}, "release": {"view", "list"},
            "repo": {"view"}, "label": {"list"}, "search": None, "status": None, "api": None, "cache": {"list"}}
_GH_API_WRITES = ("-X", "--method", "-f", "-F", "--field", "--raw-field", "--input")

# Package managers: subcommands that run the project's own scripts (no package is named).
_SCRIPT_SUBS = frozenset({"run", "run-script", "test", "t", "tst", "start", "stop", "restart", "ci", "ls", "list",
                          "why", "outdated", "audit", "version", "pack", "view", "info", "explain", "help", "prune",
                          "dedupe", "rebuild", "build", "dev", "lint", "typecheck", "format", "check", "install",
                          "i", "sync", "lock", "tree", "show", "freeze"})
_JS_MANAGERS = frozenset({"npm", "pnpm", "yarn", "bun"})
_ONE_PACKAGE = frozenset({"npx", "pnpx", "bunx", "uvx"})
_INSTALLERS = {"pip": {"install", "wheel", "download"}, "pipx": {"install", "run", "inject"}, "uv": {"add"},
               "poetry": {"add"}, "pdm": {"add"}, "cargo": {"add", "install", "binstall"}, "gem": {"install"},
               "go": {"get", "install", "run"}, "brew": {"install"}, "apt": {"install"}, "apt-get": {"install"},
               "conda": {"install"}, "mamba": {"install"}, "pixi": {"add"}, "composer": {"require"},
               "dotnet": {"add"}, "mise": {"use", "install", "x", "exec"}}
_TAKES_VALUE = {"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "--prefix", "--target", "-t",
                "--root", "--python", "-p", "-w", "--workspace", "--filter", "--group", "-G", "-o", "--output",
                "--index-url", "--extra-index-url", "-i", "--find-links", "-f", "--registry", "--index",
                "--default-index"}
_ALIASED = re.compile(r"@?(?:npm|github|gitlab|bitbucket|git|git\+\w+|file|link|https?):|\bgit\+")

# Other programs' options that run commands or delete files.
_PROGRAM_FLAGS = {
    "find": {"-exec": "runs commands", "-execdir": "runs commands", "-ok": "runs commands", "-okdir": "runs commands",
             "-delete": "deletes files", "-fprint": "writes files", "-fprintf": "writes files", "-fls": "writes files"},
    "tar": {"--to-command": "runs commands", "--checkpoint-action": "runs commands", "-I": "runs commands",
            "--use-compress-program": "runs commands", "--rsh-command": "runs commands", "-F": "runs commands",
            "--info-script": "runs commands", "--new-volume-script": "runs commands"},
    "sed": {"-i": "edits files in place", "--in-place": "edits files in place"},
}
# Flags that make a check pass whatever it finds.
WEAKENING = {"--exit-zero": "makes a check pass whatever it finds", "--passWithNoTests": "passes with no tests",
             "--pass-with-no-tests": "passes with no tests", "--deselect": "leaves tests out",
             "--ignore": "leaves checks or tests out", "--collect-only": "runs no test", "--co": "runs no test",
             "--no-tests": "runs no test", "--fail-under": "lowers a threshold",
             "--cov-fail-under": "lowers a threshold", "--no-cov": "drops a check"}


def short_flags(args: Sequence[str]) -> set[str]:
    """The letters of every single-dash option, bundled ones split (`-uf` → u, f)."""
    return {ch for a in args if re.fullmatch(r"-[A-Za-z]+", a) for ch in a[1:]}


def long_flag(arg: str, denied: Sequence[str]) -> str | None:
    """The denied long option `arg` spells in full or as a unique-enough prefix (`--no-verif`)."""
    flag = arg.split("=", 1)[0]
    if not flag.startswith("--"):
        return None
    for name in denied:
        if flag == name or (len(flag) >= 5 and name.startswith(flag)):
            return name
    return None


def git(args: list[str]) -> list[str]:
    out: list[str] = []
    while args and args[0].startswith("-"):
        flag = args.pop(0)
        if flag == "-c" or flag.startswith(("-c", "--config-env")):
            return ["`git -c` changes configuration"]
        if (name := long_flag(flag, _GIT_LONG)) is not None:
            return [f"`git {name}` runs or points git elsewhere"]
        if flag == "-C" and args:
            args.pop(0)
    if not args:
        return out
    sub, rest = args[0], args[1:]
    if sub in ("config", "credential", "credential-store", "credential-cache"):
        return [f"`git {sub}` changes configuration or credentials"]
    if sub not in GIT_SUBCOMMANDS:
        return [f"`git {sub}` is not a subcommand a rule may name"]
    if rest and rest[0] in _GIT_SUBS_OF.get(sub, ()):
        out.append(f"`git {sub} {rest[0]}` changes or runs more than a rule should")
    for a in rest:
        if (name := long_flag(a, _GIT_LONG)) is not None:
            out.append("a force push or remote deletion" if name in ("--force", "--force-with-lease",
                                                                     "--force-if-includes", "--mirror", "--delete",
                                                                     "--prune")
                       else f"`{name}` skips hooks" if name == "--no-verify" else f"`git {name}` runs or points git elsewhere")
    bad = set(_GIT_SHORT.get(sub, "")) & short_flags(rest)
    if bad:
        out.append(f"`git {sub} -{''.join(sorted(bad))}` forces, deletes or skips hooks")
    if sub == "push" and any(a.startswith("+") or (":" in a and not a.startswith("-")) for a in rest):
        out.append("pushes to a ref other than the current branch's")
    return list(dict.fromkeys(out))


def gh(args: list[str]) -> list[str]:
    if not args:
        return []
    group, rest = args[0], args[1:]
    if group in ("auth", "secret", "ssh-key", "gpg-key", "variable"):
        return [f"`gh {group}` touches credentials"]
    if group not in GH_READS:
        return [f"`gh {group}` writes or changes settings"]
    subs = GH_READS[group]
    if subs is not None and (not rest or rest[0] not in subs):
        return [f"`gh {group} {rest[0] if rest else ''}`".replace(" `", "`") + " writes or changes settings"]
    if group == "api":
        for i, a in enumerate(rest):
            flag = a.split("=", 1)[0]
            method = a.split("=", 1)[1] if "=" in a else (rest[i + 1] if i + 1 < len(rest) else "")
            if flag in ("-X", "--method") and method.upper() == "GET":
                continue
            if flag in _GH_API_WRITES or re.fullmatch(r"-X\w+", a):
                return ["`gh api` with a method or fields writes"]
    return []


def packages(program: str, args: list[str], named: Named) -> list[str]:
    """Packages a command would fetch and run or install that the repository does not name."""
    if program == "python":
        module = _python_module(args)
        if module is None:
            return []
        program, args = module[0], module[1:]
    if program == "uv" and args[:2] in (["tool", "install"], ["tool", "run"]):
        program, args = "uvx", args[2:]
    if program == "uv" and args[:2] == ["pip", "install"]:
        program, args = "pip", args[1:]
    if program == "mise" and "--" in args:
        args = args[:args.index("--")]
    out = [f"installs a package the repository does not name ({v})" for v in _values(args, _PACKAGE_VALUES)
           if not named(_package(v))]
    if program in _ONE_PACKAGE:
        return out + _named_or_not(program, _positionals(args)[:1], named)
    if program in _JS_MANAGERS:
        pos = _positionals(args)
        if not pos or pos[0] in _SCRIPT_SUBS:
            return out
        sub = pos[0]
        return out + _named_or_not(program, pos[1:2] if sub in ("exec", "x", "dlx", "create", "init") else pos[1:],
                                   named)
    subs = _INSTALLERS.get(program)
    pos = _positionals(args)
    if subs is None or not pos or pos[0] not in subs:
        return out
    if program == "go":
        return out + [f"installs a package the repository does not name ({p.split('@')[0]})" for p in pos[1:]
                      if ("." in p.split("/")[0] or "@" in p) and not named(p.split("@")[0])]
    return out + _named_or_not(program, pos[1:2] if program == "pipx" and pos[0] == "run" else pos[1:], named)


def _python_module(args: list[str]) -> list[str] | None:
    """`python [-I] -m pip …` / `-mpip …` → ["pip", …]; None when no module runs."""
    for i, a in enumerate(args):
        if a == "-m" and i + 1 < len(args):
            return args[i + 1:]
        if a.startswith("-m") and len(a) > 2:
            return [a[2:], *args[i + 1:]]
        if not a.startswith("-"):
            return None
    return None


def _positionals(args: Sequence[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a == "--":
            continue
        if a.startswith("-"):
            skip = a in _TAKES_VALUE or a in _PACKAGE_VALUES
            continue
        out.append(a)
    return out


def _values(args: Sequence[str], flags: set[str]) -> list[str]:
    out = []
    for i, a in enumerate(args):
        flag, eq, value = a.partition("=")
        if flag in flags:
            value = value if eq else (args[i + 1] if i + 1 < len(args) else "")
            out += [v for v in value.split(",") if v]
    return out


def _named_or_not(program: str, specs: Sequence[str], named: Named) -> list[str]:
    out = []
    for spec in specs:
        if spec.startswith((".", "/")) or spec.endswith((".txt", ".toml", ".cfg", ".lock")):
            continue  # a local path or a requirements file, checked by the path rules
        if _ALIASED.search(spec) or ("://" in spec):
            out.append(f"a package from an alias, URL or repository ({spec})")
            continue
        name = _package(spec.split(":", 1)[1] if program == "mise" and ":" in spec else spec)
        if name and not named(name):
            out.append(f"installs a package the repository does not name ({name})")
    return out


def _package(spec: str) -> str:
    """A package argument without its version: `pkg==1.2`, `pkg@1.2`, `@scope/pkg@^1`."""
    name = re.split(r"[=<>~!]=?|\[|;", spec, maxsplit=1)[0]
    if "@" in name[1:]:
        name = name[0] + name[1:].split("@", 1)[0]
    return name


def program_flags(program: str, args: Sequence[str]) -> list[str]:
    table = _PROGRAM_FLAGS.get(program, {})
    out = []
    for a in args:
        flag = a.split("=", 1)[0]
        what = table.get(flag) or next((w for f, w in table.items() if f.startswith("--") and flag.startswith(f)), None)
        if what is None and re.fullmatch(r"-[A-Za-z]+", a):
            what = next((table[f"-{ch}"] for ch in a[1:] if f"-{ch}" in table), None)
        if what:
            out.append(f"`{program} {flag}` {what}")
    return out


def unwrap(words: list[str]) -> tuple[list[str], str | None]:
    """The command a wrapper or runner runs (`nice -n 5 make` → `make`), and the wrapper's name."""
    head = words[0].lower()
    if head in WRAPPERS:
        rest = words[1:]
        while rest and (rest[0].startswith("-") or rest[0].isdigit()):
            flag = rest.pop(0)
            if flag in WRAPPERS[head] and rest:
                rest.pop(0)
        return rest, head
    if len(words) > 1 and (head, words[1]) in RUNNERS:
        rest = words[2:]
        if head == "mise":
            return (rest[rest.index("--") + 1:] if "--" in rest else []), f"{head} {words[1]}"
        while rest and rest[0].startswith("-"):
            flag = rest.pop(0)
            if (flag in _RUNNER_VALUES or flag in _PACKAGE_VALUES) and "=" not in flag and rest:
                rest.pop(0)
        return rest, f"{head} {words[1]}"
    return words, None
