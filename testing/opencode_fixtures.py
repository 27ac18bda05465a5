"""OpenCode sessions in the real stores (opencode.db, legacy storage/) and `run --format json`."""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

PROJECT = "4b0ea68d7af9a6031a7ffda7ad66e0cb83315750"
WORKTREE = "/home/runner/work/shop/shop"
T0 = 1768561282345  # 2026-01-16T11:01:22.345Z


def project(project_id: str = PROJECT, worktree: str = WORKTREE) -> dict[str, Any]:
    return {"id": project_id, "worktree": worktree, "vcs": "git", "time": {"created": T0}}


def session(sid: str, *, directory: str | None = WORKTREE, parent: str | None = None,
            project_id: str = PROJECT, created: int = T0, updated: int = T0 + 60_000) -> dict[str, Any]:
    rec: dict[str, Any] = {"id": sid, "slug": "brave-lion", "version": "1.1.20", "projectID": project_id,
                           "title": "Fix the build", "time": {"created": created, "updated": updated}}
    if directory is not None:
        rec["directory"] = directory
    if parent is not None:
        rec["parentID"] = parent
    return rec


def user_message(mid: str, sid: str, *, at: int) -> dict[str, Any]:
    return {"id": mid, "sessionID": sid, "role": "user", "time": {"created": at}, "agent": "build",
            "model": {"providerID": "anthropic", "modelID": "claude-sonnet-4-5"}}


def tokens(input: int, output: int, *, reasoning: int = 0, read: int = 0, write: int = 0) -> dict[str, Any]:
    return {"input": input, "output": output, "reasoning": reasoning, "cache": {"read": read, "write": write}}


def assistant_message(mid: str, sid: str, *, at: int, toks: dict[str, Any],
                      model: str = "claude-sonnet-4-5", done: int | None = None) -> dict[str, Any]:
    return {"id": mid, "sessionID": sid, "role": "assistant", "parentID": "msg_user",
            "time": {"created": at, "completed": done if done is not None else at + 5_000},
            "modelID": model, "providerID": "anthropic", "mode": "build", "agent": "build",
            "path": {"cwd": WORKTREE, "root": WORKTREE}, "cost": 0.01, "tokens": toks, "finish": "tool-calls"}


def completed(input: dict[str, Any], output: Any, *, start: int, end: int, title: str = "",
              metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"status": "completed", "input": input, "output": output, "title": title,
            "metadata": metadata or {}, "time": {"start": start, "end": end}}


def errored(input: dict[str, Any], error: str, *, start: int, end: int,
            metadata: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"status": "error", "input": input, "error": error, "time": {"start": start, "end": end}}
    if metadata is not None:
        state["metadata"] = metadata
    return {**state, **extra}


def running(input: dict[str, Any], *, start: int) -> dict[str, Any]:
    return {"status": "running", "input": input, "time": {"start": start}}


def tool_part(pid: str, mid: str, sid: str, *, call_id: str, tool: str, state: dict[str, Any]) -> dict[str, Any]:
    return {"id": pid, "sessionID": sid, "messageID": mid, "type": "tool", "callID": call_id,
            "tool": tool, "state": state}


def step_finish(pid: str, mid: str, sid: str, toks: dict[str, Any]) -> dict[str, Any]:
    return {"id": pid, "sessionID": sid, "messageID": mid, "type": "step-finish", "reason": "tool-calls",
            "cost": 0.004, "tokens": toks}


def text_part(pid: str, mid: str, sid: str, text: str) -> dict[str, Any]:
    return {"id": pid, "sessionID": sid, "messageID": mid, "type": "text", "text": text}


@dataclass
class Store:
    """What both stores hold: projects, sessions, messages and parts (records as OpenCode keeps them)."""

    projects: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    parts: list[dict[str, Any]] = field(default_factory=list)


def write_storage(root: Path, store: Store) -> Path:
    """The legacy layout under `root` (a folder named storage/)."""
    def put(path: Path, rec: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rec, indent=2), encoding="utf-8")

    for p in store.projects:
        put(root / "project" / f"{p['id']}.json", p)
    for s in store.sessions:
        put(root / "session" / s["projectID"] / f"{s['id']}.json", s)
    for m in store.messages:
        put(root / "message" / m["sessionID"] / f"{m['id']}.json", m)
    for p in store.parts:
        put(root / "part" / p["messageID"] / f"{p['id']}.json", p)
    (root / "message").mkdir(parents=True, exist_ok=True)
    return root


_SCHEMA = """
CREATE TABLE project (id TEXT PRIMARY KEY, worktree TEXT NOT NULL, vcs TEXT, name TEXT,
    time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL);
CREATE TABLE session (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, parent_id TEXT, slug TEXT NOT NULL,
    directory TEXT NOT NULL, title TEXT NOT NULL, version TEXT NOT NULL,
    time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL);
CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, time_created INTEGER NOT NULL,
    time_updated INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT NOT NULL, session_id TEXT NOT NULL,
    time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX message_session_idx ON message (session_id, time_created, id);
CREATE INDEX part_message_idx ON part (message_id, id);
"""

# An older shape: no parent_id on session, no session_id on part.
_OLD_SCHEMA = """
CREATE TABLE project (id TEXT PRIMARY KEY, worktree TEXT NOT NULL);
CREATE TABLE session (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, directory TEXT,
    time_created INTEGER, time_updated INTEGER);
CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT NOT NULL, data TEXT NOT NULL);
"""


def write_db(path: Path, store: Store, *, old_schema: bool = False,
             raw_rows: Iterable[tuple[str, tuple[Any, ...]]] = (), tables: Iterable[str] | None = None) -> Path:
    """opencode.db with the four tables; `data` holds the record minus its id columns, as OpenCode writes it.

    raw_rows: (table, values) inserted as given, for corrupt rows. tables: keep only these.
    """
    conn = sqlite3.connect(path)
    try:
        _fill(conn, store, old_schema=old_schema, raw_rows=raw_rows, tables=tables)
    finally:
        conn.close()
    return path


@contextmanager
def running_db(path: Path, store: Store) -> Iterator[Path]:
    """opencode.db as a running OpenCode leaves it: WAL mode, its writer still open, and
    everything written since the last checkpoint (here: everything) only in the -wal file."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA wal_autocheckpoint=0")
        _fill(conn, store)
        yield path
    finally:
        conn.close()


def _fill(conn: sqlite3.Connection, store: Store, *, old_schema: bool = False,
          raw_rows: Iterable[tuple[str, tuple[Any, ...]]] = (), tables: Iterable[str] | None = None) -> None:
    conn.executescript(_OLD_SCHEMA if old_schema else _SCHEMA)
    for p in store.projects:
        _insert(conn, "project", id=p["id"], worktree=p["worktree"], vcs=p.get("vcs"),
                time_created=T0, time_updated=T0)
    for s in store.sessions:
        _insert(conn, "session", id=s["id"], project_id=s["projectID"], parent_id=s.get("parentID"),
                slug=s["slug"], directory=s.get("directory", ""), title=s["title"], version=s["version"],
                time_created=s["time"]["created"], time_updated=s["time"]["updated"])
    for m in store.messages:
        _insert(conn, "message", id=m["id"], session_id=m["sessionID"], time_created=m["time"]["created"],
                time_updated=m["time"]["created"], data=_data(m, "id", "sessionID"))
    for p in store.parts:
        _insert(conn, "part", id=p["id"], message_id=p["messageID"], session_id=p["sessionID"],
                time_created=T0, time_updated=T0, data=_data(p, "id", "sessionID", "messageID"))
    for table, values in raw_rows:
        conn.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(values))})", values)
    if tables is not None:
        for table in {"project", "session", "message", "part"} - set(tables):
            conn.execute(f"DROP TABLE {table}")
    conn.commit()


def _insert(conn: sqlite3.Connection, table: str, **values: Any) -> None:
    columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    kept = {k: v for k, v in values.items() if k in columns}
    conn.execute(f"INSERT INTO {table} ({', '.join(kept)}) VALUES ({', '.join('?' * len(kept))})",
                 tuple(kept.values()))


def _data(rec: dict[str, Any], *drop: str) -> str:
    return json.dumps({k: v for k, v in rec.items() if k not in drop})


def run_event(type: str, sid: str, *, at: int, part: dict[str, Any] | None = None,
              **extra: Any) -> dict[str, Any]:
    """One line of `opencode run --format json`."""
    ev: dict[str, Any] = {"type": type, "timestamp": at, "sessionID": sid, **extra}
    if part is not None:
        ev["part"] = part
    return ev


def jsonl(records: Iterable[Any]) -> bytes:
    return b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in records)
