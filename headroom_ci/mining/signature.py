"""A tool call's normalized signature: the same mistake in two sessions looks the same (pure)."""
from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple

from headroom_ci.mining.commands import parse_command
from headroom_ci.mining.paths import relativize
from headroom_ci.sessions.model import ToolCall
from headroom_ci.sessions.model import ToolKind

_PATH_KEYS = ("file_path", "absolute_path", "filePath", "path", "dir_path", "directory", "notebook_path")
_PATCH_FILE = re.compile(r"^\*\*\* (?:Update|Add|Delete) File: (.+)$", re.M)
_TEMP = re.compile(r"(?:/tmp|/var/folders/[^\s]+?/T|\$TMPDIR|~/\.cache)/[^\s'\"]+")
# A hash has a letter in it; a run of digits is a number, whatever its length.
_HASH = re.compile(r"\b(?=[0-9]*[a-f])[0-9a-f]{7,64}\b")
_NUMBER = re.compile(r"\d+")
_QUOTES = re.compile(r"['\"`]")
_SPACE = re.compile(r"\s+")


class CallSig(NamedTuple):
    kind: ToolKind
    target: str            # repo-relative: the command, the file, the pattern
    head: str = ""         # shell: what decides what runs ("uv run pytest")
    tool: str = ""         # shell: what it runs ("pytest")
    purpose: str = "other"  # shell: test | lint | format | typecheck | build | install | search | other
    program: str = ""      # shell: the first program ("uv", "docker-compose")
    workdir: str | None = None
    path: str | None = None
    pattern: str | None = None

    @property
    def signature(self) -> str:
        return f"{self.kind}:{normalize(self.target)}"


def normalize(text: str) -> str:
    """Collapse what varies between runs of the same mistake: temp names, hashes, numbers, quoting."""
    text = _TEMP.sub("<tmp>", text)
    text = _HASH.sub("<hash>", text)
    text = _NUMBER.sub("N", text)
    text = _QUOTES.sub("", text)
    return _SPACE.sub(" ", text).strip()


def shell_command(input: Mapping[str, Any]) -> str:
    cmd = input.get("command", input.get("cmd"))
    if isinstance(cmd, list):
        words = [w for w in cmd if isinstance(w, str)]
        # Codex wraps commands as ["bash", "-lc", "<script>"].
        if len(words) == 3 and words[1] in ("-lc", "-c") and words[0].endswith("sh"):
            return words[2]
        return " ".join(words)
    return cmd if isinstance(cmd, str) else ""


def _path(input: Mapping[str, Any]) -> str | None:
    for key in _PATH_KEYS:
        value = input.get(key)
        if isinstance(value, str) and value:
            return value
    patch = input.get("input")
    if isinstance(patch, str):
        m = _PATCH_FILE.search(patch)
        if m:
            return m.group(1).strip()
    return None


def signature_of(call: ToolCall, roots: Sequence[str]) -> CallSig:
    kind = call.kind
    if kind == "shell":
        cmd = relativize(shell_command(call.input), roots)
        parsed = parse_command(cmd)
        return CallSig(kind, _SPACE.sub(" ", cmd).strip(), parsed.head, parsed.tool, parsed.purpose,
                       parsed.program, parsed.workdir)
    raw_path = _path(call.input)
    path = relativize(raw_path, roots) if raw_path else None
    if kind in ("search", "glob"):
        pattern = call.input.get("pattern", call.input.get("query"))
        pattern = pattern if isinstance(pattern, str) else ""
        where = path or "."
        return CallSig(kind, f"{pattern} in {where}", path=where, pattern=pattern)
    return CallSig(kind, path or call.name, path=path)
