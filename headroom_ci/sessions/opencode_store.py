"""OpenCode's legacy storage/ tree: one JSON file per project, session, message and part."""
from __future__ import annotations

import os
import stat
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from headroom_ci.sessions.build import as_dict
from headroom_ci.sessions.build import as_str
from headroom_ci.sessions.build import epoch_ms
from headroom_ci.sessions.jsonl import DECODE_ERRORS
from headroom_ci.sessions.jsonl import decode_json
from headroom_ci.sessions.jsonl import MAX_LINE_BYTES
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.opencode import assemble
from headroom_ci.sessions.opencode import SessionInfo
from headroom_ci.sessions.types import SkipFn

# The folders of a storage root that read_storage reads; the rest of the root is walked as usual.
STORAGE_FOLDERS = frozenset({"session", "message", "part", "project"})


def is_storage_root(path: Path) -> bool:
    """A storage/ folder: session files in session/<projectID>/*.json and message files
    in message/<sessionID>/*.json, not merely two folders with those names."""
    return _json_two_deep(path / "session") and _json_two_deep(path / "message")


def _json_two_deep(folder: Path) -> bool:
    try:
        with os.scandir(folder) as outer:
            for sub in outer:
                if not sub.is_dir(follow_symlinks=False):
                    continue
                try:
                    with os.scandir(sub.path) as inner:
                        if any(e.name.endswith(".json") and e.is_file(follow_symlinks=False) for e in inner):
                            return True
                except OSError:
                    continue
    except OSError:
        return False
    return False


def read_storage(root: Path, *, display: str, skip: Callable[[str], SkipFn]) -> list[Session]:
    """storage/session/<projectID>/<sessionID>.json, message/<sessionID>/, part/<messageID>/."""
    def shown(file: Path) -> str:
        return str(Path(display) / file.relative_to(root))

    def load_all(folder: Path, *, depth: int = 1) -> Iterator[tuple[Path, dict[str, Any]]]:
        for file in _json_files(folder, depth=depth):
            rec = _load_json(file, skip(shown(file)))
            if rec is not None:
                yield file, rec

    worktrees: dict[str, str | None] = {}
    sessions = []
    for file, raw in load_all(root / "session", depth=2):
        sid, project = as_str(raw.get("id")), as_str(raw.get("projectID"))
        if sid is None:
            skip(shown(file))(None, "session file without an id")
            continue
        if project is not None and project not in worktrees:
            pfile = root / "project" / f"{project}.json"
            found = _load_json(pfile, skip(shown(pfile))) if _safe(project) and pfile.is_file() else None
            worktrees[project] = as_str(as_dict(found).get("worktree"))
        times = as_dict(raw.get("time"))
        info = SessionInfo(sid, as_str(raw.get("parentID")),
                           as_str(raw.get("directory")) or worktrees.get(project or ""),
                           created=epoch_ms(times.get("created")), updated=epoch_ms(times.get("updated")))
        # Ids name folders: one that could leave the tree is not followed.
        messages = [m for _, m in load_all(root / "message" / sid)] if _safe(sid) else []
        parts: list[dict[str, Any]] = []
        for mid in (as_str(m.get("id")) for m in messages):
            if mid is not None and _safe(mid):
                parts += [p for _, p in load_all(root / "part" / mid)]
        sessions.append(assemble(info, messages, parts, path=shown(file), format="opencode-storage"))
    return sessions


def _json_files(folder: Path, *, depth: int) -> list[Path]:
    pattern = "/".join(["*"] * depth) + ".json"
    try:
        return sorted(p for p in folder.glob(pattern) if p.is_file() and not p.is_symlink())
    except OSError:
        return []


def _safe(name: str) -> bool:
    return name not in (".", "..") and "/" not in name and "\\" not in name and "\x00" not in name


def _load_json(file: Path, skip: SkipFn) -> dict[str, Any] | None:
    try:
        # Non-blocking and checked: a FIFO named *.json is refused, never waited on.
        fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                skip(None, "not a regular file")
                return None
            data = fh.read(MAX_LINE_BYTES + 1)
    except OSError as exc:
        skip(None, f"cannot read: {exc.strerror or exc}")
        return None
    if len(data) > MAX_LINE_BYTES:
        skip(None, f"JSON file larger than {MAX_LINE_BYTES} bytes")
        return None
    try:
        obj = decode_json(data)
    except DECODE_ERRORS:
        skip(None, "invalid JSON")
        return None
    if not isinstance(obj, dict):
        skip(None, "expected a JSON object")
        return None
    return obj
