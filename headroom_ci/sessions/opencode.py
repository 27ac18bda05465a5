"""OpenCode: one session from its messages and parts, whichever store they came from.

The stores are read elsewhere: opencode_db.py (opencode.db), opencode_store.py (the
legacy storage/ tree), opencode_run.py (`opencode run --format json`).
"""
from __future__ import annotations

import json
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from headroom_ci.sessions.build import as_dict
from headroom_ci.sessions.build import as_exit
from headroom_ci.sessions.build import as_int
from headroom_ci.sessions.build import as_str
from headroom_ci.sessions.build import Calls
from headroom_ci.sessions.build import epoch_ms
from headroom_ci.sessions.build import ms_to_iso
from headroom_ci.sessions.build import text_of
from headroom_ci.sessions.build import TimeSpan
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.model import Usage

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


def assemble(info: SessionInfo, messages: list[dict[str, Any]], parts: list[dict[str, Any]], *,
             path: str, format: str) -> Session:
    """Messages carry `id`; parts carry `id` and `messageID` (the stores put them there)."""
    order = sorted(messages, key=lambda m: (epoch_ms(as_dict(m.get("time")).get("created")) or _LAST,
                                            str(m.get("id"))))
    position = {m["id"]: i for i, m in enumerate(order) if isinstance(m.get("id"), str)}
    by_message: dict[str | None, list[dict[str, Any]]] = {}
    # Ids come from files and rows: anything but a string links nothing.
    for part in sorted(parts, key=lambda p: (_position(position, p.get("messageID")), str(p.get("id")))):
        by_message.setdefault(_message_id(part), []).append(part)

    calls = Calls()
    span = TimeSpan()
    usage = Usage()
    model: str | None = None
    for msg in order:
        times = as_dict(msg.get("time"))
        see_ms(span, times.get("created"), times.get("completed"))
        if msg.get("role") == "assistant":
            model = as_str(msg.get("modelID")) or model
        own = by_message.pop(msg["id"], []) if isinstance(msg.get("id"), str) else []
        steps = [p for p in own if p.get("type") == "step-finish"]
        # The assistant message's `tokens` is the sum of its step-finish parts: count one
        # source. Parts are per API call; the message total is only used when it has none.
        for step in steps:
            usage += tokens(step.get("tokens"))
        if not steps and msg.get("role") == "assistant":
            usage += tokens(msg.get("tokens"))
        _add_tools(calls, span, own)
    for orphans in by_message.values():  # parts whose message is missing: still the agent's calls
        _add_tools(calls, span, orphans)
    return Session(
        path=path, agent="opencode", format=format, session_id=info.session_id,
        tool_calls=calls.build(), usage=usage, cwd=info.directory,
        model=model or info.model,
        started_at=span.first if span.first is not None else ms_to_iso(info.created),
        ended_at=span.last if span.last is not None else ms_to_iso(info.updated),
        subagent=info.parent_id is not None, parent_id=info.parent_id,
    )


def _message_id(part: dict[str, Any]) -> str | None:
    mid = part.get("messageID")
    return mid if isinstance(mid, str) else None


def _position(position: dict[str, int], mid: object) -> int:
    return position.get(mid, len(position)) if isinstance(mid, str) else len(position)


def see_ms(span: TimeSpan, *values: object) -> None:
    """Epoch-millisecond times into a span of ISO strings (which order as the numbers do)."""
    for value in values:
        span.see(ms_to_iso(value))


def _add_tools(calls: Calls, span: TimeSpan, parts: list[dict[str, Any]]) -> None:
    for part in parts:
        if part.get("type") == "tool":
            add_tool(calls, span, part)


def add_tool(calls: Calls, span: TimeSpan, part: dict[str, Any]) -> None:
    """One tool part as one call."""
    state = as_dict(part.get("state"))
    times = as_dict(state.get("time"))
    see_ms(span, times.get("start"), times.get("end"))
    # One part is one call. Keyed by the part id: some providers reuse callIDs across steps.
    part_id = as_str(part.get("id"))
    key: Hashable = ("part", part_id) if part_id else ("#", len(calls))
    calls.start(call_id=as_str(part.get("callID")), key=key, name=as_str(part.get("tool")) or "unknown",
                input=as_dict(state.get("input")), timestamp=ms_to_iso(times.get("start")))
    end = ms_to_iso(times.get("end"))
    status = state.get("status")
    meta = as_dict(state.get("metadata"))
    if status == "error":
        # The failure text is `state.error`; an error state has no `output`.
        category = "interrupted" if meta.get("interrupted") is True else None
        calls.finish(key, output=_text(state.get("error")) or _text(state.get("output")),
                     is_error=True, timestamp=end, category=category)
    elif status == "completed":
        # bash stays "completed" on a non-zero exit; the exit code is in metadata.exit.
        exit_code = as_exit(meta.get("exit"))
        calls.finish(key, output=_text(state.get("output")), exit_code=exit_code,
                     is_error=exit_code is not None and exit_code != 0, timestamp=end)
    # pending / running: the call never finished (killed run, or a store copied mid-run).
    # No structured failure is recorded, so it is counted as a call, not as an error.


def tokens(value: object) -> Usage:
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
