"""OpenCode's SQLite database (opencode.db): opened without blocking or missing
what a running OpenCode has not checkpointed yet, then read one session at a time."""
from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterable
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

from headroom_ci.sessions.build import as_dict
from headroom_ci.sessions.build import as_str
from headroom_ci.sessions.build import epoch_ms
from headroom_ci.sessions.jsonl import DECODE_ERRORS
from headroom_ci.sessions.jsonl import decode_json
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.opencode import assemble
from headroom_ci.sessions.opencode import SessionInfo
from headroom_ci.sessions.types import SkipFn


def read_db_file(path: Path, *, display: str, skip: SkipFn) -> list[Session]:
    """Reads the database in place, read-only; when that fails (a read-only folder
    without the -shm file, a lock held by a writer), reads a copy of it and its WAL."""
    try:
        sessions = _read(_connect(path), display=display, skip=skip, in_place=True)
    except sqlite3.Error:
        sessions = None
    return sessions if sessions is not None else _read_copy(path, display=display, skip=skip)


def _connect(path: Path) -> sqlite3.Connection:
    # mode=ro, not immutable=1: a WAL-mode database keeps what a running OpenCode
    # wrote since the last checkpoint in the -wal file, which immutable=1 ignores.
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=0.5)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opens the WAL index now
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def _read(conn: sqlite3.Connection, *, display: str, skip: SkipFn, in_place: bool) -> list[Session] | None:
    """The sessions; None when the database in place was locked or could not be opened."""
    with closing(conn):
        try:
            return read_db(conn, display=display, skip=skip)
        except sqlite3.Error as exc:
            text = str(exc).lower()
            if in_place and ("locked" in text or "busy" in text or "unable to open" in text):
                return None  # a copy is read instead
            skip(None, f"not an OpenCode database: {exc}")
            return []


def _read_copy(path: Path, *, display: str, skip: SkipFn) -> list[Session]:
    with tempfile.TemporaryDirectory(prefix="headroom-ci-db-") as tmp:
        copy = Path(tmp) / path.name
        try:
            # The WAL first: a checkpoint between the two copies then only moves pages
            # the copied WAL still holds. The -shm index is rebuilt from the WAL on open.
            wal = path.with_name(path.name + "-wal")
            if wal.is_file():
                shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
            shutil.copyfile(path, copy)
            conn = _connect(copy)
        except OSError as exc:
            skip(None, f"cannot read: {exc.strerror or exc}")
            return []
        except sqlite3.Error as exc:
            skip(None, f"cannot open SQLite database: {exc}")
            return []
        return _read(conn, display=display, skip=skip, in_place=False) or []


def read_db(conn: sqlite3.Connection, *, display: str, skip: SkipFn) -> list[Session]:
    """One pass over each table, ordered by session, holding one session at a time."""
    previous = conn.text_factory
    # Invalid UTF-8 in one text cell must not abort the whole database.
    conn.text_factory = lambda raw: raw.decode("utf-8", "replace")
    try:
        return _read_db(conn, display=display, skip=skip)
    finally:
        conn.text_factory = previous


def _read_db(conn: sqlite3.Connection, *, display: str, skip: SkipFn) -> list[Session]:
    worktrees = _worktrees(conn)
    messages = _Groups(conn.execute("SELECT session_id, id, data FROM message ORDER BY session_id, id"))
    if "session_id" in _columns(conn, "part"):
        part_sql = "SELECT session_id, id, message_id, data FROM part ORDER BY session_id, message_id, id"
    else:  # older schema: parts reach their session through the message
        part_sql = ("SELECT m.session_id, p.id, p.message_id, p.data FROM part p "
                    "JOIN message m ON m.id = p.message_id ORDER BY m.session_id, p.message_id, p.id")
    parts = _Groups(conn.execute(part_sql))
    session_cursor = conn.execute("SELECT * FROM session ORDER BY id")
    names = [d[0] for d in session_cursor.description]
    sessions = []
    for values in session_cursor:
        row = dict(zip(names, values, strict=True))
        info = _db_info(row, worktrees)
        msgs = [m for m in (_row_json(r, "message", skip, id=r[1], sessionID=r[0])
                            for r in messages.take(row.get("id"))) if m is not None]
        prts = [p for p in (_row_json(r, "part", skip, id=r[1], messageID=r[2])
                            for r in parts.take(row.get("id"))) if p is not None]
        sessions.append(assemble(info, msgs, prts, path=display, format="opencode-db"))
    stray = messages.rest() + parts.rest()
    if stray:
        skip(None, f"{stray} message/part rows belong to no session")
    return sessions


def _db_info(row: dict[str, Any], worktrees: dict[object, str]) -> SessionInfo:
    model = row.get("model")  # newer schemas: JSON {"id", "providerID"}
    if isinstance(model, str):
        try:
            model = decode_json(model.encode())
        except DECODE_ERRORS:
            model = None
    return SessionInfo(
        session_id=_id(row.get("id")), parent_id=_id(row.get("parent_id")),
        directory=as_str(row.get("directory")) or worktrees.get(row.get("project_id")),
        model=as_str(as_dict(model).get("id")),
        created=epoch_ms(row.get("time_created")), updated=epoch_ms(row.get("time_updated")))


def _id(value: object) -> str | None:
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) and value != "" else None


def _worktrees(conn: sqlite3.Connection) -> dict[object, str]:
    # Only a fallback for the session's directory: a database without it is still read.
    try:
        cursor = conn.execute("SELECT * FROM project")
    except sqlite3.Error:
        return {}
    rows = (dict(zip([d[0] for d in cursor.description], values, strict=True)) for values in cursor)
    return {row.get("id"): row["worktree"] for row in rows if as_str(row.get("worktree"))}


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {d[0] for d in conn.execute(f"SELECT * FROM {table} LIMIT 0").description}


def _row_json(row: tuple[Any, ...], table: str, skip: SkipFn, **ids: Any) -> dict[str, Any] | None:
    data = row[-1]
    try:
        obj = decode_json(data.encode() if isinstance(data, str) else data) \
            if isinstance(data, (str, bytes)) else None
    except DECODE_ERRORS:
        obj = None
    if not isinstance(obj, dict):
        skip(None, f"{table} row {row[1]!r}: data is not a JSON object")
        return None
    # The row's columns are the record's identity (OpenCode strips them from `data`).
    obj.update((k, _id(v)) for k, v in ids.items())
    return obj


def _order(value: object) -> tuple[int, Any]:
    """SQLite's ORDER BY across storage classes: NULL < numbers < text < blobs."""
    if isinstance(value, (int, float, str)):
        return (1 if isinstance(value, (int, float)) else 2, value)
    return (3, bytes(value)) if isinstance(value, (bytes, bytearray, memoryview)) else (0, 0)


class _Groups:
    """Rows ordered by their first column, taken one key at a time (a merge join)."""

    def __init__(self, rows: Iterable[tuple[Any, ...]]) -> None:
        self._rows: Iterator[tuple[Any, ...]] = iter(rows)
        self._head = next(self._rows, None)
        self._stray = 0

    def take(self, key: object) -> list[tuple[Any, ...]]:
        want = _order(key)
        out = []
        while self._head is not None and _order(self._head[0]) <= want:
            if _order(self._head[0]) == want:
                out.append(self._head)
            else:
                self._stray += 1
            self._head = next(self._rows, None)
        return out

    def rest(self) -> int:
        if self._head is not None:
            self._stray += 1 + sum(1 for _ in self._rows)
            self._head = None
        return self._stray
