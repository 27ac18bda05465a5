"""Claude Code: project transcripts (JSONL), stream-json, `--output-format json`, execution_file."""
from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

import msgspec

from headroom_ci.sessions.build import as_dict
from headroom_ci.sessions.build import as_str
from headroom_ci.sessions.build import Calls
from headroom_ci.sessions.build import text_of
from headroom_ci.sessions.build import TimeSpan
from headroom_ci.sessions.build import usage_of
from headroom_ci.sessions.jsonl import Skip
from headroom_ci.sessions.kinds import exit_code_from_text
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.model import Usage

Records = Iterable[tuple[int | None, Any]]
Resolve = Callable[[str], "str | None"]

_PERSISTED = re.compile(r"Full output saved to: (\S+)")


class Line(msgspec.Struct, gc=False):
    """The fields of a project-transcript line that are read. Everything else
    (`toolUseResult`, which repeats the tool output, snapshots, progress data)
    is skipped by the decoder without building Python objects."""

    type: Any = None
    timestamp: Any = None
    sessionId: Any = None
    cwd: Any = None
    gitBranch: Any = None
    agentId: Any = None
    isSidechain: Any = None
    message: Any = None


decode_line = msgspec.json.Decoder(Line).decode


def _usage(raw: object) -> Usage:
    u = as_dict(raw)
    return usage_of(
        input=u.get("input_tokens"), output=u.get("output_tokens"),
        cache_read=u.get("cache_read_input_tokens"),
        cache_creation=u.get("cache_creation_input_tokens"),
    )


class _Reader:
    """State shared by every Claude form: tool calls, per-message usage, identity."""

    def __init__(self, resolve: Resolve) -> None:
        self.calls = Calls()
        self.span = TimeSpan()
        self.resolve = resolve
        # One API response is written as one line per content block, each
        # repeating message.id and usage: keep one usage per message, last wins.
        self.usage_by_message: dict[str, object] = {}
        self.anonymous_usage = Usage()
        self.model: str | None = None

    def assistant(self, message: dict[str, Any], ts: str | None) -> None:
        self.model = as_str(message.get("model")) or self.model
        if "usage" in message:
            msg_id = as_str(message.get("id"))
            if msg_id is None:
                self.anonymous_usage += _usage(message["usage"])
            else:
                self.usage_by_message[msg_id] = message["usage"]
        content = message.get("content")
        if not isinstance(content, list):
            return
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_use":
                name = as_str(block.get("name")) or "unknown"
                self.calls.start(call_id=as_str(block.get("id")), name=name,
                                 input=as_dict(block.get("input")), timestamp=ts)

    def user(self, message: dict[str, Any], ts: str | None) -> None:
        content = message.get("content")
        if not isinstance(content, list):
            return
        for block in content:
            if not isinstance(block, dict) or block.get("type") != "tool_result":
                continue
            text = text_of(block.get("content"))
            if "<persisted-output>" in text:
                text = self._persisted(text)
            is_error = block.get("is_error") is True
            self.calls.finish(
                as_str(block.get("tool_use_id")), output=text, is_error=is_error,
                exit_code=exit_code_from_text(text) if is_error else None, timestamp=ts,
            )

    def _persisted(self, text: str) -> str:
        m = _PERSISTED.search(text)
        full = self.resolve(m.group(1)) if m else None
        return full if full is not None else text

    def usage(self) -> Usage:
        total = self.anonymous_usage
        for raw in self.usage_by_message.values():
            total += _usage(raw)
        return total


def read_jsonl(records: Iterable[tuple[int, Line]], *, path: str, skip: Skip,
               resolve: Resolve) -> list[Session]:
    r = _Reader(resolve)
    session_id = cwd = branch = agent_id = None
    sidechain: bool | None = None
    for lineno, rec in records:
        t = rec.type
        ts = as_str(rec.timestamp)
        r.span.see(ts)
        if t != "user" and t != "assistant":
            continue  # system, progress, summary, snapshots and newer types carry no calls
        session_id = session_id or as_str(rec.sessionId)
        cwd = cwd or as_str(rec.cwd)
        branch = branch or as_str(rec.gitBranch)
        agent_id = agent_id or as_str(rec.agentId)
        if sidechain is None and isinstance(rec.isSidechain, bool):
            sidechain = rec.isSidechain
        message = rec.message
        if not isinstance(message, dict):
            skip(lineno, f"{t} line without a message object")
            continue
        if t == "assistant":
            r.assistant(message, ts)
        else:
            r.user(message, ts)
    # A subagent transcript carries the parent's sessionId; its own id is agentId.
    subagent = bool(sidechain) and agent_id is not None
    return [Session(
        path=path, agent="claude", format="claude-jsonl",
        session_id=agent_id if subagent else session_id,
        tool_calls=r.calls.build(), usage=r.usage(), cwd=cwd, git_branch=branch,
        model=r.model, started_at=r.span.first, ended_at=r.span.last,
        subagent=subagent, parent_id=session_id if subagent else None,
    )]


def read_stream(records: Records, *, path: str, skip: Skip, resolve: Resolve,
                format: str = "claude-stream-json") -> list[Session]:
    r = _Reader(resolve)
    session_id = cwd = None
    result_usage: Usage | None = None
    events = 0
    for lineno, rec in records:
        events += 1
        t = rec.get("type")
        ts = as_str(rec.get("timestamp"))
        r.span.see(ts)
        session_id = session_id or as_str(rec.get("session_id"))
        if t == "system":
            if rec.get("subtype") == "init":
                cwd = cwd or as_str(rec.get("cwd"))
                r.model = r.model or as_str(rec.get("model"))
        elif t in ("assistant", "user"):
            # Subagent messages interleave here (parent_tool_use_id set); their
            # tool calls are the run's calls too.
            message = rec.get("message")
            if not isinstance(message, dict):
                skip(lineno, f"{t} event without a message object")
            elif t == "assistant":
                r.assistant(message, ts)
            else:
                r.user(message, ts)
        elif t == "result" and isinstance(rec.get("usage"), dict):
            # The result's usage is the run's total; per-message usage in the
            # stream is captured before the message ends and undercounts output.
            result_usage = _usage(rec["usage"])
    if events == 1 and result_usage is not None:  # `--output-format json`: the result alone
        format = "claude-json"
    return [Session(
        path=path, agent="claude", format=format, session_id=session_id,
        tool_calls=r.calls.build(), usage=result_usage if result_usage is not None else r.usage(),
        cwd=cwd, model=r.model, started_at=r.span.first, ended_at=r.span.last,
    )]


def read_document(doc: Any, *, format: str, path: str, skip: Skip, resolve: Resolve) -> list[Session]:
    items = doc if isinstance(doc, list) else [doc]
    records: list[tuple[int | None, Any]] = []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            records.append((None, item))
        else:
            skip(None, f"record {i + 1}: expected a JSON object")
    return read_stream(records, path=path, skip=skip, resolve=resolve, format=format)
