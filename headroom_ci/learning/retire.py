"""Rules the repository now contradicts, with the reason (pure: the facts are given).

A rule is retired only when the repository says it is wrong: the file it names as the right one
is gone, the path it says does not exist exists, or the script, target or recipe it recommends is
no longer defined. A rule whose failure stopped is working, and stays.
"""
from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from headroom_ci.learning.efficacy import parse_time
from headroom_ci.learning.merge import InEffect

# A code span: `x` or `` x `` (what rules.code writes).
_SPAN = re.compile(r"(`+) ?(.+?) ?\1")
_PATH_RULE = re.compile(r"^- (`+) ?(?P<missing>.+?) ?\1 does not exist: the file is (`+) ?(?P<right>.+?) ?\3")
# program → (the manifest that defines its names, what a name is called there)
_RUNNERS = {"npm": ("package.json", "script"), "pnpm": ("package.json", "script"), "yarn": ("package.json", "script"),
            "bun": ("package.json", "script"), "make": ("Makefile", "target"), "just": ("justfile", "recipe"),
            "task": ("Taskfile.yml", "task")}
_BUILTIN = {"npm": {"install", "ci", "test", "start", "exec", "init", "run", "run-script", "i", "x"},
            "pnpm": {"install", "add", "exec", "dlx", "i"}, "yarn": {"install", "add", "dlx", "exec"},
            "bun": {"install", "add", "x"}}


@dataclass(frozen=True)
class Facts:
    exists: Callable[[str], bool]                       # a repo-relative path exists now
    defined: Callable[[str], frozenset[str] | None]     # manifest path → the names it defines (None: no file)


# "… with `npm run test:unit` in `web/`, not …": the folder the command runs in.
_WORKDIR = re.compile(r" in (`+) ?([\w./@+-]+?)/? ?\1")


def recommended(content: str) -> tuple[str, str, str] | None:
    """(program, name, manifest path) of the script/target the rule's first code span runs, if any."""
    m = _SPAN.search(content)
    if m is None:
        return None
    try:
        words = shlex.split(m.group(2))
    except ValueError:
        return None
    if not words or words[0] not in _RUNNERS:
        return None
    program, rest = words[0], [w for w in words[1:] if not w.startswith("-")]
    if program in ("npm", "pnpm", "bun") and rest[:1] in (["run"], ["run-script"]):
        rest = rest[1:]
    if not rest or rest[0] in _BUILTIN.get(program, set()):
        return None
    where = _WORKDIR.match(content, m.end())
    folder = f"{where.group(2)}/" if where and where.group(2) not in (".", "") else ""
    return program, rest[0], folder + _RUNNERS[program][0]


def contradiction(content: str, facts: Facts) -> str | None:
    """Why the repository contradicts a rule's text now, or None."""
    if m := _PATH_RULE.match(content):
        if not facts.exists(m.group("right")):
            return f"`{m.group('right')}` no longer exists"
        if facts.exists(m.group("missing")):
            return f"`{m.group('missing')}` exists now"
        return None
    if found := recommended(content):
        program, name, manifest = found
        names = facts.defined(manifest)
        if names is not None and name not in names:
            return f"{manifest} no longer defines the {_RUNNERS[program][1]} `{name}`"
    return None


def contradicted(rules: Sequence[InEffect], facts: Facts) -> dict[str, str]:
    """Fingerprint → reason, for the rules the repository contradicts."""
    return {r.fingerprint: reason for r in rules if (reason := contradiction(r.content, facts))}


def unseen(rules: Sequence[InEffect], *, since: Mapping[str, str], last_seen: Mapping[str, datetime],
           now: datetime, days: int) -> dict[str, str]:
    """Fingerprint → reason, for rules in effect longer than `days` whose failure no run of the
    last `days` had (--retire-after)."""
    out = {}
    for r in rules:
        start = parse_time(since.get(r.fingerprint))
        if start is None or now - start < timedelta(days=days):
            continue
        seen = last_seen.get(r.failure)
        if seen is None or now - seen >= timedelta(days=days):
            out[r.fingerprint] = f"its failure was not seen for {days} days or more (--retire-after {days})"
    return out


def manifest_names(manifest: str, text: str) -> frozenset[str]:
    """The names a manifest defines: package.json scripts, Makefile targets, justfile recipes,
    Taskfile tasks (`manifest` is the file's name or path)."""
    manifest = manifest.rsplit("/", 1)[-1]
    if manifest == "package.json":
        try:
            doc = json.loads(text)
        except ValueError:
            return frozenset()
        scripts = doc.get("scripts") if isinstance(doc, dict) else None
        return frozenset(scripts) if isinstance(scripts, dict) else frozenset()
    if manifest == "Makefile":
        return frozenset(n for m in re.finditer(r"^([A-Za-z0-9_.%/-][^:=#\s]*(?:\s+[^:=#\s]+)*)\s*::?(?!=)", text, re.M)
                         for n in m.group(1).split())
    if manifest == "justfile":
        return frozenset(m.group(1) for m in re.finditer(r"^@?([A-Za-z0-9_-]+)[^:=\n]*:(?!=)", text, re.M))
    return frozenset(m.group(1) for m in re.finditer(r"^  ([A-Za-z0-9_:-]+):", text, re.M))
