"""Machine paths → repo-relative text (pure)."""
from __future__ import annotations

import functools
import re
from collections.abc import Sequence

# GitHub-hosted and container runners check a repository out at these places.
_WORKSPACE = r"(?:/home/runner/work/([^/\s'\"]+)/\1|/github/workspace|/__w/([^/\s'\"]+)/\2)"
_WORKSPACE_RE = re.compile(_WORKSPACE + r"(?![\w.-])")
_WORKSPACE_ANY = re.compile(_WORKSPACE + r"(?:/|(?![\w.-]))")
_ABSOLUTE = re.compile(r"/|[A-Za-z]:[\\/]")
# A home folder only where a path starts (the text's start, after a space, quote or `=`, or
# `file://`): `/tmp/x/home/.npm/…` is not a home. `/var/home/<user>` is Fedora Atomic's. It ends
# where the path does (`cd /home/bob && ls` names a user too), not inside a longer name.
_HOMES = re.compile(r"(?:^|(?<=[\s'\"=:(\[{<>,;|&`])|(?<=//))"
                    r"(?:(?:/var)?/home/[\w.@+-]+|/Users/[\w.@+-]+|/root)(?![^/\s'\")\]}>,;:|&`])")


def repo_roots(*, cwd: str | None, repo_path: str | None = None) -> tuple[str, ...]:
    """The folders paths are made relative to, most specific first: --repo-path, then the
    session's cwd (or the runner workspace it lies in)."""
    roots = []
    for root in (repo_path, cwd):
        # A relative cwd (a collect bundle's ".", "web") is already repo-relative: as a root it
        # would strip "." or "web" wherever they appear as words.
        if root and _ABSOLUTE.match(root):
            m = _WORKSPACE_RE.match(root)
            root = m.group(0) if m else root.rstrip("/")
            if root and root not in roots:
                roots.append(root)
    return tuple(roots)


@functools.lru_cache(maxsize=64)
def _root_pattern(root: str) -> re.Pattern[str]:
    return re.compile(re.escape(root) + r"(?:/|(?![\w.-]))")


def _strip(m: re.Match[str]) -> str:
    return "" if m.group(0).endswith("/") else "."


def relativize(text: str, roots: Sequence[str]) -> str:
    """Repo paths become relative (the root itself `.`), runner workspaces too, other homes `~`."""
    if "/" not in text:
        return text
    for root in roots:
        text = _root_pattern(root).sub(_strip, text)
    text = _WORKSPACE_ANY.sub(_strip, text)
    return _HOMES.sub("~", text)
