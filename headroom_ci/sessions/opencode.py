"""OpenCode: the SQLite database, the legacy storage/ JSON tree, `opencode run --format json`."""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import replace
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path
from typing import Any

from headroom_ci.sessions.build import as_dict
from headroom_ci.sessions.build import as_int
from headroom_ci.sessions.build import as_str
from headroom_ci.sessions.build import Calls
from headroom_ci.sessions.build import text_of
from headroom_ci.sessions.jsonl import DECODE_ERRORS
from headroom_ci.sessions.jsonl import decode_json
from headroom_ci.sessions.jsonl import MAX_LINE_BYTES
from headroom_ci.sessions.jsonl import Skip
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.model import ToolCall
from headroom_ci.sessions.model import Usage

Records = Iterable[tuple[int, dict[str, Any]]]
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MAX_MS = 253402300800000  # year 10000
_LAST = float("inf")


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """The session row or file, reduced to what both stores share."""

    session_id: str | None
    parent_id: str | None = None
    directory: str | None = None
    model: str | None = None
    created: int | None = None
    updated: int | None = None


# --- the pure part: one session from its messages and parts ---------------------------

def assemble(info: SessionInfo, messages: list[dict[str, Any]], parts: list[dict[str, Any]], *,
             path: str, format: str) -> Session:
    """Messages carry `id`; parts carry `id` and `messageID` (the stores put them there)."""
    order = sorted(messages, key=lambda m: (_ms(as_dict(m.get("time")).get("created")) or _LAST,
                                            str(m.get("id"))))
    position = {m["id"]: i for i, m in enumerate(order) if isinstance(m.get("id"), str)}
    by_message: dict[object, list[dict[str, Any]]] = {}
    for part in sorted(parts, key=lambda p: (position.get(p.get("messageID"), len(position)), str(p.get("id")))):
        by_message.setdefault(part.get("messageID"), []).append(part)

    calls = Calls()
    ids: dict[str, str | None] = {}
    span = _Span()
    usage = Usage()
    model: str | None = None
    for msg in order:
        times = as_dict(msg.get("time"))
        span.see(times.get("created"), times.get("completed"))
        if msg.get("role") == "assistant":
            model = as_str(msg.get("modelID")) or model
        own = by_message.pop(msg.get("id"), []) if isinstance(msg.get("id"), str) else []
        steps = [p for p in own if p.get("type") == "step-finish"]
        # The assistant message's `tokens` is the sum of its step-finish parts: count one
        # source. Parts are per API call; the message total is only used when it has none.
        for step in steps:
            usage += _tokens(step.get("tokens"))
        if not steps and msg.get("role") == "assistant":
            usage += _tokens(msg.get("tokens"))
        _add_tools(calls, ids, span, own)
    for orphans in by_message.values():  # parts whose message is missing: still the agent's calls
        _add_tools(calls, ids, span, orphans)
    return Session(
        path=path, agent="opencode", format=format, session_id=info.session_id,
        tool_calls=_real_ids(calls.build(), ids), usage=usage, cwd=info.directory,
        model=model or info.model,
        started_at=iso_ms(span.first if span.first is not None else info.created),
        ended_at=iso_ms(span.last if span.last is not None else info.updated),
        subagent=info.parent_id is not None, parent_id=info.parent_id,
    )


def _add_tools(calls: Calls, ids: dict[str, str | None], span: _Span, parts: list[dict[str, Any]]) -> None:
    for part in parts:
        if part.get("type") == "tool":
            _add_tool(calls, ids, span, part)


def _add_tool(calls: Calls, ids: dict[str, str | None], span: _Span, part: dict[str, Any]) -> None:
    state = as_dict(part.get("state"))
    times = as_dict(state.get("time"))
    span.see(times.get("start"), times.get("end"))
    # One part is one call. Keyed by the part id: some providers reuse callIDs across steps.
    part_id = as_str(part.get("id"))
    key = f"\x00p:{part_id}" if part_id else f"\x00n:{len(ids)}"
    ids[key] = as_str(part.get("callID"))
    calls.start(call_id=key, name=as_str(part.get("tool")) or "unknown",
                input=as_dict(state.get("input")), timestamp=iso_ms(times.get("start")))
    end = iso_ms(times.get("end"))
    status = state.get("status")
    meta = as_dict(state.get("metadata"))
    if status == "error":
        # The failure text is `state.error`; an error state has no `output`.
        category = "interrupted" if meta.get("interrupted") is True else None
        calls.finish(key, output=_text(state.get("error")) or _text(state.get("output")),
                     is_error=True, timestamp=end, category=category)
    elif status == "completed":
        # bash stays "completed" on a non-zero exit; the exit code is in metadata.exit.
        exit_code = _exit(meta.get("exit"))
        calls.finish(key, output=_text(state.get("output")), exit_code=exit_code,
                     is_error=exit_code is not None and exit_code != 0, timestamp=end)
    # pending / running: the call never finished (killed run, or a store copied mid-run).
    # No structured failure is recorded, so it is counted as a call, not as an error.


def _tokens(value: object) -> Usage:
    # OpenCode stores input net of cache reads and writes (getUsage subtracts them);
    # reasoning is billed at the output rate and, in current versions, kept out of `output`.
    t = as_dict(value)
    cache = as_dict(t.get("cache"))
    return Usage(input=as_int(t.get("input")), output=as_int(t.get("output")) + as_int(t.get("reasoning")),
                 cache_read=as_int(cache.get("read")), cache_creation=as_int(cache.get("write")))


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    # Real OpenCode stores a string; some writers (and test fixtures) store an object.
    try:
        return text_of(value) or json.dumps(value, ensure_ascii=False, default=str)
    except (RecursionError, ValueError):
        return ""


def _exit(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _real_ids(calls: tuple[ToolCall, ...], ids: dict[str, str | None]) -> tuple[ToolCall, ...]:
    return tuple(replace(c, call_id=ids[c.call_id]) if c.call_id in ids else c for c in calls)


def _ms(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return int(value) if 0 < value < _MAX_MS else None


def iso_ms(value: object) -> str | None:
    """Epoch milliseconds as "2026-01-16T11:01:02.345Z"."""
    ms = _ms(value)
    if ms is None:
        return None
    dt = _EPOCH + timedelta(milliseconds=ms)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{dt.microsecond // 1000:03d}Z"


class _Span:
    __slots__ = ("first", "last")

    def __init__(self) -> None:
        self.first: int | None = None
        self.last: int | None = None

    def see(self, *values: object) -> None:
        for value in values:
            ms = _ms(value)
            if ms is None:
                continue
            self.first = ms if self.first is None else min(self.first, ms)
            self.last = ms if self.last is None else max(self.last, ms)


# --- legacy storage/ tree -------------------------------------------------------------

def is_storage_root(path: Path) -> bool:
    return (path / "session").is_dir() and (path / "message").is_dir()


def read_storage(root: Path, *, display: str, skip: Callable[[str], Skip]) -> list[Session]:
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
                           created=_ms(times.get("created")), updated=_ms(times.get("updated")))
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


def _load_json(file: Path, skip: Skip) -> dict[str, Any] | None:
    try:
        with open(file, "rb") as fh:
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


# --- opencode.db ----------------------------------------------------------------------

def read_db(conn: sqlite3.Connection, *, display: str, skip: Skip) -> list[Session]:
    """One pass over each table, ordered by session, holding one session at a time."""
    previous = conn.text_factory
    # Invalid UTF-8 in one text cell must not abort the whole database.
    conn.text_factory = lambda raw: raw.decode("utf-8", "replace")
    try:
        return _read_db(conn, display=display, skip=skip)
    finally:
        conn.text_factory = previous


def _read_db(conn: sqlite3.Connection, *, display: str, skip: Skip) -> list[Session]:
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
        row = dict(zip(names, values))
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
        created=_ms(row.get("time_created")), updated=_ms(row.get("time_updated")))


def _id(value: object) -> str | None:
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) and value != "" else None


def _worktrees(conn: sqlite3.Connection) -> dict[object, str]:
    # Only a fallback for the session's directory: a database without it is still read.
    try:
        cursor = conn.execute("SELECT * FROM project")
    except sqlite3.Error:
        return {}
    rows = (dict(zip([d[0] for d in cursor.description], values)) for values in cursor)
    return {row.get("id"): row["worktree"] for row in rows if as_str(row.get("worktree"))}


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {d[0] for d in conn.execute(f"SELECT * FROM {table} LIMIT 0").description}


def _row_json(row: tuple[Any, ...], table: str, skip: Skip, **ids: Any) -> dict[str, Any] | None:
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


# --- opencode run --format json -------------------------------------------------------

def read_run_json(records: Records, *, path: str, skip: Skip,
                  resolve: Callable[[str], str | None]) -> list[Session]:
    """Events of one run; a session per sessionID, in order of appearance."""
    runs: dict[str | None, _Run] = {}
    for lineno, ev in records:
        if not isinstance(ev, dict):
            skip(lineno, "expected a JSON object")
            continue
        part = ev.get("part")
        sid = as_str(ev.get("sessionID")) or as_str(as_dict(part).get("sessionID"))
        run = runs.setdefault(sid, _Run())
        run.span.see(ev.get("timestamp"))
        kind = ev.get("type")
        if kind not in ("tool_use", "step_finish"):
            continue  # text, reasoning, step_start, error: nothing to count
        if not isinstance(part, dict):
            skip(lineno, f"{kind} event without a part")
        elif kind == "tool_use":
            run.tools[_part_key(part, run.tools)] = part  # a re-emitted part replaces the earlier one
        else:
            run.steps[_part_key(part, run.steps)] = _tokens(part.get("tokens"))
    return [run.session(sid, path) for sid, run in runs.items()]


def _part_key(part: dict[str, Any], seen: dict[str, Any]) -> str:
    return as_str(part.get("id")) or f"\x00{len(seen)}"


class _Run:
    def __init__(self) -> None:
        self.span = _Span()
        self.tools: dict[str, dict[str, Any]] = {}
        self.steps: dict[str, Usage] = {}

    def session(self, sid: str | None, path: str) -> Session:
        calls = Calls()
        ids: dict[str, str | None] = {}
        for part in self.tools.values():
            _add_tool(calls, ids, self.span, part)
        return Session(path=path, agent="opencode", format="opencode-run-json", session_id=sid,
                       tool_calls=_real_ids(calls.build(), ids), usage=sum(self.steps.values(), Usage()),
                       started_at=iso_ms(self.span.first), ended_at=iso_ms(self.span.last))
