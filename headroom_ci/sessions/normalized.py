"""The collect bundle's normalized session form: one JSONL file per session (writer and reader).

Line 1 is a header, `{"type": "headroom-ci-session", "version": 1, "agent", "format", ...}`,
then one `{"type": "tool_call", ...}` line per tool call, in the order the agent issued them.
`format` is the transcript's original format, so a session read back is the session that was
written. Whatever the agent recorded as text (inputs, outputs, ids, the cwd) goes through the
caller's scrub (redaction, repo-relative paths) before it is written: the file holds nothing
the scrub did not see. Pure: sessions in, bytes out; records in, sessions out.
"""
from __future__ import annotations

import functools

import dataclasses
import hashlib
import json
import re
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any
from typing import cast
from typing import get_args

from headroom_ci.sessions.build import as_dict
from headroom_ci.sessions.build import as_exit
from headroom_ci.sessions.build import as_int
from headroom_ci.sessions.build import as_str
from headroom_ci.sessions.kinds import error_category
from headroom_ci.sessions.kinds import tool_kind
from headroom_ci.sessions.model import Agent
from headroom_ci.sessions.model import cap_output
from headroom_ci.sessions.model import INPUT_CAP
from headroom_ci.sessions.model import OUTPUT_HEAD
from headroom_ci.sessions.model import OUTPUT_TAIL
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.model import ToolCall
from headroom_ci.sessions.model import ToolKind
from headroom_ci.sessions.model import Usage
from headroom_ci.sessions.types import Records
from headroom_ci.sessions.types import Resolve
from headroom_ci.sessions.types import SkipFn

HEADER = "headroom-ci-session"  # also the name of the format in the readers' registry
CALL = "tool_call"
VERSION = 1

# Text → text: redaction and repo-relative paths, applied to every recorded string.
Scrub = Callable[[str], str]

_AGENTS: frozenset[str] = frozenset(get_args(Agent))
_KINDS: frozenset[str] = frozenset(get_args(ToolKind))
# Outputs and inputs were capped when first read; scrubbing changes their length a little
# (a secret becomes "[REDACTED:…]"). Within this slack they are kept as written, so a
# session read back is the one written; past it the file was not written by us: cap again.
_SLACK = 1024
_OUTPUT_MAX = OUTPUT_HEAD + OUTPUT_TAIL + _SLACK
_INPUT_MAX = INPUT_CAP + _SLACK
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


# -- writing -----------------------------------------------------------------------------------
def records(session: Session, *, scrub: Scrub) -> Iterator[dict[str, Any]]:
    """The header, then one record per tool call."""
    u = session.usage
    yield {
        "type": HEADER, "version": VERSION, "agent": session.agent, "format": session.format,
        "session_id": _text(session.session_id, scrub), "cwd": _text(session.cwd, scrub),
        "git_branch": _text(session.git_branch, scrub), "git_commit": _text(session.git_commit, scrub),
        "model": _text(session.model, scrub), "started_at": session.started_at, "ended_at": session.ended_at,
        "subagent": session.subagent, "parent_id": _text(session.parent_id, scrub),
        "usage": {"input": u.input, "output": u.output, "cache_read": u.cache_read,
                  "cache_creation": u.cache_creation},
    }
    for call in session.tool_calls:
        yield {
            "type": CALL, "index": call.index, "name": call.name, "kind": call.kind,
            "input": _deep(call.input, scrub), "output": scrub(call.output), "output_size": call.output_size,
            "is_error": call.is_error, "exit_code": call.exit_code, "error_category": call.error_category,
            "timestamp": call.timestamp, "duration_ms": call.duration_ms, "call_id": _text(call.call_id, scrub),
        }


def dumps(session: Session, *, scrub: Scrub) -> bytes:
    # "replace": a lone surrogate (text from SQLite) cannot be UTF-8; a "?" keeps the line valid.
    return b"".join(json.dumps(rec, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace") + b"\n"
                    for rec in records(session, scrub=scrub))


def file_stem(session: Session) -> str:
    """`<agent>-<session id>`, the id cut to characters every file system and artifact name
    accepts; a hash of the transcript's path when the session has no id."""
    sid = _UNSAFE_NAME.sub("_", session.session_id or "").strip("._")[:96]
    return f"{session.agent}-{sid or hashlib.sha256(session.path.encode()).hexdigest()[:16]}"


def _text(value: str | None, scrub: Scrub) -> str | None:
    return scrub(value) if value is not None else None


def _deep(value: Any, scrub: Scrub) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {str(k): _deep(v, scrub) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_deep(v, scrub) for v in value]
    return value


# -- reading -----------------------------------------------------------------------------------
def read_normalized(records: Records, *, path: str, skip: SkipFn, resolve: Resolve) -> list[Session]:
    """Sessions of a normalized file (a header starts each). Untrusted like any transcript:
    a bad call line is skipped and reported, a header this reader cannot read skips its calls."""
    sessions: list[Session] = []
    header: Session | None = None
    calls: list[ToolCall] = []
    refused = False  # the last header was refused: its calls are skipped with it
    for lineno, rec in records:
        obj = as_dict(rec)
        kind = obj.get("type")
        if kind == HEADER:
            if header is not None:
                sessions.append(_finish(header, calls))
            header, calls = _header(obj, path=path, skip=functools.partial(skip, lineno)), []
            refused = header is None
        elif kind == CALL:
            if header is None:
                if not refused:
                    skip(lineno, "tool call before the session header")
                continue
            call = _call(obj, index=len(calls))
            if isinstance(call, str):
                skip(lineno, call)
            else:
                calls.append(call)
        # Other record types: a later version's additions, read past as the other readers do.
    if header is not None:
        sessions.append(_finish(header, calls))
    return sessions


def _finish(header: Session, calls: list[ToolCall]) -> Session:
    return dataclasses.replace(header, tool_calls=tuple(calls))


def _header(obj: dict[str, Any], *, path: str, skip: Callable[[str], None]) -> Session | None:
    version = obj.get("version")
    if version != VERSION or isinstance(version, bool):
        newer = isinstance(version, int) and not isinstance(version, bool) and version > VERSION
        skip(f"{HEADER} version {version!r}: " + ("newer than this reader" if newer else "not supported")
             + f" (it reads version {VERSION})")
        return None
    agent = obj.get("agent")
    if not isinstance(agent, str) or agent not in _AGENTS:
        skip(f"{HEADER}: unknown agent {agent!r}" if isinstance(agent, str) else f"{HEADER}: no agent")
        return None
    u = as_dict(obj.get("usage"))
    return Session(
        path=path, agent=cast(Agent, agent),
        format=as_str(obj.get("format")) or HEADER, session_id=as_str(obj.get("session_id")),
        usage=Usage(as_int(u.get("input")), as_int(u.get("output")), as_int(u.get("cache_read")),
                    as_int(u.get("cache_creation"))),
        cwd=as_str(obj.get("cwd")), git_branch=as_str(obj.get("git_branch")),
        git_commit=as_str(obj.get("git_commit")), model=as_str(obj.get("model")),
        started_at=as_str(obj.get("started_at")), ended_at=as_str(obj.get("ended_at")),
        subagent=obj.get("subagent") is True, parent_id=as_str(obj.get("parent_id")),
    )


def _call(obj: dict[str, Any], *, index: int) -> ToolCall | str:
    """The call, or why the line was skipped."""
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        return "tool call without a name"
    kind = obj.get("kind")
    tkind = cast(ToolKind, kind) if isinstance(kind, str) and kind in _KINDS else tool_kind(name)
    output = obj.get("output")
    output = output if isinstance(output, str) else ""
    if len(output) > _OUTPUT_MAX:
        output = cap_output(output)
    size = obj.get("output_size")
    is_error = obj.get("is_error") is True
    exit_code = as_exit(obj.get("exit_code"))
    category = as_str(obj.get("error_category"))
    if is_error and category is None:
        category = error_category(kind=tkind, text=output, exit_code=exit_code)
    duration = obj.get("duration_ms")
    return ToolCall(
        index=index, name=name, kind=tkind, input=_input(obj.get("input")), output=output,
        output_size=as_int(size) if isinstance(size, int) and not isinstance(size, bool) else len(output),
        is_error=is_error, exit_code=exit_code, error_category=category if is_error else None,
        timestamp=as_str(obj.get("timestamp")),
        duration_ms=duration if isinstance(duration, int) and not isinstance(duration, bool) and duration >= 0
        else None,
        call_id=as_str(obj.get("call_id")),
    )


def _input(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    return {k: f"{v[:INPUT_CAP]}[… {len(v) - INPUT_CAP} characters omitted]"
            if isinstance(v, str) and len(v) > _INPUT_MAX else v for k, v in value.items()}
