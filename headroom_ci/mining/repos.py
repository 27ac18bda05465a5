"""Which repository a session worked in, so sessions of different repositories are never pooled (pure)."""
from __future__ import annotations

import re

# A checkout in CI: /home/runner/work/<repo>/<repo>, /__w/<repo>/<repo>.
_CI = re.compile(r"^(?:/home/runner/work|/__w)/([^/]+)/\1(?:/|$)")
# Worktrees live beside or inside the main checkout: they are the same repository.
_WORKTREE = re.compile(r"/\.claude-worktrees/([^/]+)/[^/]+$|/\.claude/worktrees/[^/]+$|/\.worktrees/.+$")
# Not a repository: a home folder, a drive or file-system root, the temp folder itself.
_NOT_A_REPO = re.compile(r"^(?:[A-Za-z]:)?/?$|^(?:[A-Za-z]:)?/(?:Users|home)/[^/]+$|^/root$|^~$|"
                         r"^(?:/private)?/(?:tmp|var/folders/.*/T)$")

THIS = ""        # no cwd, or a relative one (a collected bundle's "."): the repository being learned
NOT_A_REPOSITORY = "(no repository)"


def repository_of(cwd: str | None) -> str:
    """A short name for the repository a session's cwd lies in: the checkout's folder name, with
    worktree folders folded into their repository."""
    if not cwd:
        return THIS
    path = cwd.replace("\\", "/").rstrip("/") or "/"
    if not (path.startswith(("/", "~")) or re.match(r"^[A-Za-z]:/", path + "/")):
        return THIS
    m = _CI.match(path)
    if m:
        return m.group(1)
    m = _WORKTREE.search(path)
    if m:
        if m.group(1):
            return m.group(1)
        path = path[:m.start()]
    if _NOT_A_REPO.match(path):
        return NOT_A_REPOSITORY
    return path.rsplit("/", 1)[-1]


def folder_of(cwd: str | None) -> str | None:
    """The cwd as a comparable absolute path, or None."""
    if not cwd:
        return None
    path = cwd.replace("\\", "/").rstrip("/")
    return path if path.startswith("/") or re.match(r"^[A-Za-z]:/", path + "/") else None
