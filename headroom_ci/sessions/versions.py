"""Which version of the agent wrote a transcript, for a collect bundle's manifest.

The readers do not keep it (mining has no use for it), so it is looked up here, at the head of
the file: Claude's lines carry `version` (stream-json and execution files: `claude_code_version`
in `system/init`), a Codex rollout's `session_meta` carries `cli_version`, an OpenCode session
its `version`. Gemini CLI's chats record none. A version is only ever a short version string:
this is untrusted text that ends up in a manifest.
"""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from headroom_ci.sessions.build import as_dict
from headroom_ci.sessions.jsonl import DECODE_ERRORS
from headroom_ci.sessions.jsonl import decode_json
from headroom_ci.sessions.model import Session

_HEAD_BYTES = 256 * 1024
_HEAD_LINES = 50
_VERSION = re.compile(r"\d{1,4}(?:\.\d{1,6}){1,3}(?:[-+][0-9A-Za-z.-]{1,24})?")
# The key is unique to Claude's init event, so a search of the head finds it in the pretty-printed
# execution file too, where lines are not records.
_CLAUDE_INIT = re.compile(rb'"claude_code_version"\s*:\s*"([^"\\]{1,40})"')
_SQLITE_MAGIC = b"SQLite format 3\x00"
# The field of one record that holds the version.
_Pick = Callable[[dict[str, object]], object]


def agent_version(session: Session) -> str | None:
    """The agent's version as its transcript file records it; None when it does not."""
    path = Path(session.path)
    try:
        if session.format == "opencode-db":
            return _opencode_db(path, session.session_id)
        with open(path, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
    except OSError:
        return None  # a session read from inside a zip: no file of its own
    if head.startswith(_SQLITE_MAGIC):
        return None
    if session.agent == "claude":
        m = _CLAUDE_INIT.search(head)
        return _valid(m.group(1).decode("utf-8", "replace")) if m else _from_records(head, _claude)
    if session.agent == "codex":
        return _from_records(head, _codex)
    if session.agent == "opencode" and session.format == "opencode-storage":
        return _from_records(head, lambda rec: rec.get("version"))
    return None


def _from_records(head: bytes, pick: _Pick) -> str | None:
    for line in head.splitlines()[:_HEAD_LINES]:
        try:
            rec = decode_json(line)
        except DECODE_ERRORS:
            continue
        version = _valid(pick(as_dict(rec)))
        if version:
            return version
    return None


def _claude(rec: dict[str, object]) -> object:
    return rec.get("version")


def _codex(rec: dict[str, object]) -> object:
    return as_dict(rec.get("payload")).get("cli_version") if rec.get("type") == "session_meta" else None


def _opencode_db(path: Path, session_id: str | None) -> str | None:
    if not session_id:
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=0.5)
        with closing(conn):
            row = conn.execute("SELECT version FROM session WHERE id = ?", (session_id,)).fetchone()
    except sqlite3.Error:
        return None
    return _valid(row[0]) if row else None


def _valid(value: object) -> str | None:
    return value if isinstance(value, str) and _VERSION.fullmatch(value) else None

