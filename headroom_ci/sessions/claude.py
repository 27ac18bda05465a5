"""Claude Code: project transcripts (JSONL), stream-json, `--output-format json`, execution_file."""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import msgspec

from headroom_ci.sessions.build import as_dict
from headroom_ci.sessions.build import as_int
from headroom_ci.sessions.build import as_str
from headroom_ci.sessions.build import Calls
from headroom_ci.sessions.build import text_of
from headroom_ci.sessions.build import TimeSpan
from headroom_ci.sessions.build import usage_of
from headroom_ci.sessions.detect import is_claude_event
from headroom_ci.sessions.jsonl import DECODE_ERRORS
from headroom_ci.sessions.kinds import exit_code_from_text
from headroom_ci.sessions.model import Clip
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.model import Usage
from headroom_ci.sessions.types import Resolve
from headroom_ci.sessions.types import SkipFn

_PERSISTED = re.compile(r"Full output saved to: (\S+)")


class Line(msgspec.Struct, gc=False):
    """The fields of a project-transcript line that are read. Everything else
    (`toolUseResult`, which repeats the tool output, snapshots, progress data)
    is skipped by the decoder without building Python objects."""

    # Skipped fields are not validated either: invalid UTF-8 inside toolUseResult does not lose the line.
    type: Any = None
    timestamp: Any = None
    sessionId: Any = None
    cwd: Any = None
    gitBranch: Any = None
    agentId: Any = None
    isSidechain: Any = None
    message: Any = None


class Event(msgspec.Struct, gc=False):
    """The fields of a stream-json event (and of an execution_file element) that are
    read; `tool_use_result`, a second copy of every tool output, is skipped."""

    type: Any = None
    subtype: Any = None
    session_id: Any = None
    timestamp: Any = None
    cwd: Any = None
    model: Any = None
    message: Any = None
    usage: Any = None
    messageId: Any = msgspec.UNSET  # only to tell Gemini's logs.json apart


decode_line = msgspec.json.Decoder(Line).decode
decode_event = msgspec.json.Decoder(Event).decode
_decode_events = msgspec.json.Decoder(list[Event]).decode


def decode_messages(data: bytes) -> list[Event] | None:
    """An execution_file / `--verbose` JSON array as events, decoded without the copies
    of tool outputs; None when the document is not an array of Claude events."""
    try:
        events = _decode_events(data)
    except DECODE_ERRORS:
        return None  # not an array of objects: the generic document path reads it
    if not any(is_claude_event(e.type, has_message_id=e.messageId is not msgspec.UNSET) for e in events[:5]):
        return None
    return events


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
            call_id = as_str(block.get("tool_use_id"))
            text = text_of(block.get("content"))
            output: str | Clip = text
            if "<persisted-output>" in text:
                output = self._persisted(text)
            is_error = block.get("is_error") is True
            # Only a failed shell command's text opens with its runner's "Exit code N".
            shell = is_error and call_id is not None and self.calls.kind(call_id) == "shell"
            head = output.head if isinstance(output, Clip) else output
            self.calls.finish(call_id, output=output, is_error=is_error,
                              exit_code=exit_code_from_text(head) if shell else None, timestamp=ts)

    def _persisted(self, text: str) -> str | Clip:
        m = _PERSISTED.search(text)
        full = self.resolve(m.group(1)) if m else None
        return full if full is not None else text

    def usage(self) -> Usage:
        # _usage summed, in plain ints: one Usage per session instead of two per message.
        a = self.anonymous_usage
        inp, out, read, made = a.input, a.output, a.cache_read, a.cache_creation
        for raw in self.usage_by_message.values():
            u = as_dict(raw)
            inp += as_int(u.get("input_tokens"))
            out += as_int(u.get("output_tokens"))
            read += as_int(u.get("cache_read_input_tokens"))
            made += as_int(u.get("cache_creation_input_tokens"))
        return Usage(inp, out, read, made)


def read_jsonl(records: Iterable[tuple[int | None, Line]], *, path: str, skip: SkipFn,
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


class _Run(_Reader):
    """One `claude -p` run of a stream: from its system/init to the next one."""

    def __init__(self, resolve: Resolve) -> None:
        super().__init__(resolve)
        self.session_id: str | None = None
        self.cwd: str | None = None
        self.result_usage: Usage | None = None
        self.events = 0

    def session(self, path: str, format: str) -> Session:
        if self.events == 1 and self.result_usage is not None:  # `--output-format json`: the result alone
            format = "claude-json"
        return Session(
            path=path, agent="claude", format=format, session_id=self.session_id,
            tool_calls=self.calls.build(),
            usage=self.result_usage if self.result_usage is not None else self.usage(),
            cwd=self.cwd, model=self.model, started_at=self.span.first, ended_at=self.span.last,
        )


def read_stream(records: Iterable[tuple[int | None, Event]], *, path: str, skip: SkipFn, resolve: Resolve,
                format: str = "claude-stream-json") -> list[Session]:
    """Stream-json events; a log of several runs gives a session per `system/init`."""
    runs: list[_Run] = []
    r = _Run(resolve)
    for lineno, ev in records:
        t = ev.type
        init = t == "system" and ev.subtype == "init"
        if init and r.events:
            runs.append(r)
            r = _Run(resolve)
        r.events += 1
        ts = as_str(ev.timestamp)
        r.span.see(ts)
        r.session_id = r.session_id or as_str(ev.session_id)
        if init:
            r.cwd = r.cwd or as_str(ev.cwd)
            r.model = r.model or as_str(ev.model)
        elif t == "assistant" or t == "user":
            # Subagent messages interleave here (parent_tool_use_id set); their
            # tool calls are the run's calls too.
            message = ev.message
            if not isinstance(message, dict):
                skip(lineno, f"{t} event without a message object")
            elif t == "assistant":
                r.assistant(message, ts)
            else:
                r.user(message, ts)
        elif t == "result" and isinstance(ev.usage, dict):
            # The result's usage is the run's total; per-message usage in the
            # stream is captured before the message ends and undercounts output.
            r.result_usage = _usage(ev.usage)
    if r.events:
        runs.append(r)
    return [run.session(path, format) for run in runs]


def read_events(events: list[Event], *, format: str, path: str, skip: SkipFn, resolve: Resolve) -> list[Session]:
    """An execution_file or `--verbose` array, decoded by decode_messages."""
    return read_stream(((None, e) for e in events), path=path, skip=skip, resolve=resolve, format=format)


def read_document(doc: Any, *, format: str, path: str, skip: SkipFn, resolve: Resolve) -> list[Session]:
    """The same events decoded as plain JSON (a `--output-format json` result, one
    pretty-printed event, or an array holding something other than objects)."""
    items = doc if isinstance(doc, list) else [doc]
    records: list[tuple[int | None, Event]] = []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            records.append((None, msgspec.convert(item, Event)))
        else:
            skip(None, f"record {i + 1}: expected a JSON object")
    return read_stream(records, path=path, skip=skip, resolve=resolve, format=format)
