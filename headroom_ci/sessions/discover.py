"""The agents' own session folders on this machine, narrowed to one repository."""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

from headroom_ci.sessions.load import iter_paths
from headroom_ci.sessions.model import Agent
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.model import Skip


def _home(env: str, default: str) -> Path:
    return Path(os.environ.get(env) or Path.home() / default)


def _inside(cwd: str | None, repo: Path) -> bool:
    if not cwd:
        return False
    try:
        Path(cwd).resolve().relative_to(repo)
    except (ValueError, OSError):
        return False
    return True


def _claude_folders(repo: Path) -> list[Path]:
    # Claude names a project folder after its cwd with every non-alphanumeric character as
    # "-". The name is lossy, so it only narrows the search; the records' cwd decides.
    encoded = re.sub(r"[^A-Za-z0-9]", "-", str(repo))
    projects = _home("CLAUDE_CONFIG_DIR", ".claude") / "projects"
    if not projects.is_dir():
        return []
    return sorted(p for p in projects.iterdir() if p.is_dir() and (p.name == encoded or p.name.startswith(encoded + "-")))


def _gemini_folders(repo: Path) -> list[Path]:
    tmp = _home("GEMINI_HOME", ".gemini") / "tmp"
    folders = [tmp / hashlib.sha256(str(repo).encode()).hexdigest()]
    try:
        mapping = json.loads((tmp.parent / "projects.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        mapping = {}
    projects = mapping.get("projects", mapping) if isinstance(mapping, dict) else None
    slug = projects.get(str(repo)) if isinstance(projects, dict) else None
    if isinstance(slug, str):
        folders.append(tmp / slug)
    if tmp.is_dir():
        for marker in tmp.glob("*/.project_root"):
            try:
                if Path(marker.read_text(encoding="utf-8").strip()).resolve() == repo:
                    folders.append(marker.parent)
            except OSError:
                continue
    return [f / "chats" for f in dict.fromkeys(folders) if (f / "chats").is_dir()]


def agent_homes() -> dict[Agent, Path]:
    """The folder each agent keeps everything in: no session of its own lies outside it."""
    return {"claude": _home("CLAUDE_CONFIG_DIR", ".claude"), "gemini": _home("GEMINI_HOME", ".gemini"),
            "codex": _home("CODEX_HOME", ".codex"),
            "opencode": Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "opencode"}


def agent_folders(repo: Path) -> list[tuple[Agent, Path]]:
    """Each agent's folders (and OpenCode's database files) that may hold `repo`'s sessions.

    Codex and OpenCode keep every project's sessions together: their sessions still have to
    be narrowed by cwd (see `local_sessions`)."""
    codex = _home("CODEX_HOME", ".codex")
    opencode = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "opencode"
    found: list[tuple[Agent, Path]] = [("claude", p) for p in _claude_folders(repo)]
    found += [("gemini", p) for p in _gemini_folders(repo)]
    found += [("codex", p) for p in (codex / "sessions", codex / "archived_sessions") if p.is_dir()]
    found += [("opencode", p) for p in (opencode / "storage",) if p.is_dir()]
    found += [("opencode", p) for p in (sorted(opencode.glob("opencode*.db")) if opencode.is_dir() else [])]
    return found


def local_folders(repo: Path) -> list[Path]:
    return [path for _, path in agent_folders(repo)]


def belongs(session: Session, repo: Path) -> bool:
    """Whether a session read from an agent's own folders is `repo`'s (`repo` resolved)."""
    # Gemini's folder is the repository's own; its chats rarely record a cwd.
    return session.agent == "gemini" or _inside(session.cwd, repo)


def local_sessions(repo: Path) -> Iterator[Session | Skip]:
    """Sessions of every local agent whose working directory is `repo` or inside it."""
    repo = repo.resolve()
    for item in iter_paths(local_folders(repo)):
        if isinstance(item, Skip) or belongs(item, repo):
            yield item
