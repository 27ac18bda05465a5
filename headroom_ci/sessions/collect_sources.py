"""The sessions this CI job produced: where each agent left them, narrowed to the workspace.

- the agents' own folders (`sessions.discover`): Claude Code's project folders of the workspace
  (`CLAUDE_CONFIG_DIR` honoured, subagents included), Codex rollouts under `$CODEX_HOME`
  (`sessions/` and `archived_sessions/`), the Gemini CLI project folder of the workspace,
  OpenCode's database and storage. A session from these is kept only when it belongs to the
  workspace (its cwd is the workspace or inside it; any chat of Gemini's project folder);
- `$RUNNER_TEMP/claude-execution-output.json`, which anthropics/claude-code-action writes:
  this job's by definition;
- the paths the caller names (files, folders, zips), taken whole.

Every file is read once, whichever of these leads to it first.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from headroom_ci.sessions.discover import agent_folders
from headroom_ci.sessions.discover import agent_homes
from headroom_ci.sessions.discover import belongs
from headroom_ci.sessions.load import iter_paths
from headroom_ci.sessions.model import Agent
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.model import Skip

EXECUTION_FILE = "claude-execution-output.json"
# What upload-artifact refuses in a path, and what no file system minds in a folder name.
_UNSAFE = re.compile(r'[\x00-\x1f"*:<>?|\\]')


@dataclass(frozen=True)
class Source:
    path: Path       # a folder or file the readers are handed
    label: str       # where its files go below a bundle's raw/ ("codex/sessions", "paths/1-logs")
    narrowed: bool   # an agent's own folder: only the workspace's sessions are kept
    home: Path | None = None  # the agent's folder it must stay inside (a link out of it is not followed)


@dataclass(frozen=True)
class Found:
    session: Session
    source: Source


def sources(workspace: Path, *, runner_temp: Path | None, paths: Sequence[str]) -> list[Source]:
    """Where to look, the agents' folders first: a file also named by a path is then narrowed."""
    repo = workspace.resolve()
    homes = agent_homes()
    found = [Source(path, _label(agent, path, repo), narrowed=True, home=homes[agent])
             for agent, path in agent_folders(repo)]
    if runner_temp is not None and (runner_temp / EXECUTION_FILE).is_file():
        found.append(Source(runner_temp / EXECUTION_FILE, "claude-code-action", narrowed=False))
    for n, raw in enumerate(paths, 1):
        path = Path(raw)
        found.append(Source(path, f"paths/{n}-{safe_name(path.name or 'path')}", narrowed=False))
    return found


def find(found: Sequence[Source], workspace: Path) -> Iterator[Found | Skip]:
    """The sessions of `found` that belong to this job, a file at a time, and what was skipped."""
    repo = workspace.resolve()
    kept = []
    for where in found:
        if where.home is not None and not _within(where.path, where.home):
            # A project folder linked elsewhere (another repository, ~/.ssh) is not this job's.
            yield Skip(str(where.path), None, "a link out of the agent's folder: not followed")
            continue
        kept.append(where)
    found = kept
    for item in iter_paths([s.path for s in found]):
        if isinstance(item, Skip):
            yield item
            continue
        source = source_of(item.path, found)
        if source is None or (source.narrowed and not belongs(item, repo)):
            continue
        yield Found(item, source)


def source_of(path: str, found: Sequence[Source]) -> Source | None:
    """The source a session's path was read under: the first that holds it, as iter_paths reads
    them in order (a file reached twice is read under the first)."""
    for source in found:
        root = str(source.path)
        if path == root or path.startswith(root.rstrip(os.sep) + os.sep):
            return source
    return None


def _within(path: Path, home: Path) -> bool:
    real, base = os.path.realpath(path), os.path.realpath(home)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def safe_name(name: str) -> str:
    return _UNSAFE.sub("_", name)


def _label(agent: Agent, path: Path, repo: Path) -> str:
    if agent == "claude":
        # The project folder is named after the workspace's absolute path (user name, runner
        # layout): the workspace part becomes "workspace" ("workspace-web" for a subfolder).
        encoded = re.sub(r"[^A-Za-z0-9]", "-", str(repo))
        name = path.name
        if name == encoded or name.startswith(encoded + "-"):
            name = "workspace" + name[len(encoded):]
        return f"claude/{safe_name(name)}"
    if agent == "gemini":  # <tmp>/<sha256 or slug>/chats
        return f"gemini/{safe_name(path.parent.name)}/{safe_name(path.name)}"
    return f"{agent}/{safe_name(path.name)}"
