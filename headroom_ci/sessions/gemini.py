"""Gemini CLI: chat recordings (current .jsonl, legacy .json) and headless `-p` output."""
from __future__ import annotations

import re
from collections.abc import Hashable
from collections.abc import Iterable
from typing import Any
from typing import NamedTuple

from headroom_ci.sessions.build import as_dict
from headroom_ci.sessions.build import as_int
from headroom_ci.sessions.build import as_list
from headroom_ci.sessions.build import as_str
from headroom_ci.sessions.build import Calls
from headroom_ci.sessions.build import text_of
from headroom_ci.sessions.build import TimeSpan
from headroom_ci.sessions.build import usage_cached_inside
from headroom_ci.sessions.kinds import tool_kind
from headroom_ci.sessions.model import Clip
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.model import ToolKind
from headroom_ci.sessions.model import Usage
from headroom_ci.sessions.types import Records
from headroom_ci.sessions.types import Resolve
from headroom_ci.sessions.types import SkipFn

# run_shell_command's text for the model is "Output: …", then optional "Error: …",
# "Exit Code: N" (only when non-zero in current versions), "Signal: …",
# "Background PIDs: …", "Process Group PGID: …". The exit line comes after the
# command's output, so it is looked for in the trailer, never in the head.
_EXIT_LINE = re.compile(r"^Exit Code: (-?\d{1,10})[ \t\r]*$", re.M)
_TRAILER_LINE = re.compile(r"(Signal|Background PIDs|Process Group PGID): .*")
# What the display (and so stream-json `output`) says when a failing command printed nothing.
_EXITED_WITH = re.compile(r"Command exited with code: (-?\d{1,10})")
_TRAILER_CHARS = 2000


# --- chat recordings ------------------------------------------------------------------

# The metadata keys a session is built from; the rest of a metadata record is dropped.
_META_KEYS = ("sessionId", "startTime", "lastUpdated", "kind", "directories", "parentSessionId")


class _Call(NamedTuple):
    """One recorded tool call, reduced to what the session keeps."""

    call_id: str | None
    name: str
    kind: ToolKind
    input: dict[str, Any]  # capped by Calls.start
    output: Clip
    is_error: bool
    exit_code: int | None
    category: str | None
    timestamp: str | None


class _Message(NamedTuple):
    """One message record, reduced to what the session keeps: its content and thoughts
    are dropped as soon as it is read, since every message is held until the end."""

    line: int | None
    id: object
    timestamps: tuple[object, ...]  # the message's and its calls'
    model: str | None
    usage: Usage
    calls: tuple[_Call | int, ...]  # an int is the index of a toolCalls entry that is not an object


def _message(line: int | None, msg: dict[str, Any]) -> _Message:
    calls: list[_Call | int] = []
    stamps: list[object] = [msg.get("timestamp")]
    for i, tc in enumerate(as_list(msg.get("toolCalls"))):
        if isinstance(tc, dict):
            stamps.append(tc.get("timestamp"))
            calls.append(_recorded_call(tc))
        else:
            calls.append(i)
    return _Message(line, msg.get("id"), tuple(stamps), as_str(msg.get("model")),
                    _message_tokens(msg.get("tokens")), tuple(calls))


def read_chat(records: Records, *, path: str, skip: SkipFn, resolve: Resolve) -> list[Session]:
    """The current `.jsonl` recording, replayed the way Gemini CLI loads it."""
    meta: dict[str, Any] = {}
    # Insertion-ordered like the CLI's Map: a re-appended id keeps its place, last content wins.
    messages: dict[str, _Message] = {}
    for lineno, rec in records:
        if "$rewindTo" in rec:
            _rewind(messages, rec["$rewindTo"], lineno, skip)
        elif isinstance(rec.get("id"), str):
            messages[rec["id"]] = _message(lineno, rec)
        elif "$set" in rec:
            patch = rec["$set"]
            if not isinstance(patch, dict):
                skip(lineno, "$set is not an object")
                continue
            snapshot = patch.get("messages")
            if isinstance(snapshot, list):
                # updateMessagesFromHistory() writes the whole history (e.g. after masking):
                # it replaces the messages recorded so far; later records patch it as usual.
                messages = {m["id"]: _message(lineno, m) for m in snapshot
                            if isinstance(m, dict) and isinstance(m.get("id"), str)}
            meta.update((k, patch[k]) for k in _META_KEYS if k in patch)
        elif "sessionId" in rec:
            # The metadata line (line 1, or again after a resume).
            meta.update((k, rec[k]) for k in _META_KEYS if k in rec)
        else:
            skip(lineno, "not a Gemini chat record")
    if not meta and not messages:
        return []
    return [_chat_session(meta, messages.values(), path=path, format="gemini-chat-jsonl", skip=skip)]


def _rewind(messages: dict[str, _Message], target: object, lineno: int | None, skip: SkipFn) -> None:
    if not isinstance(target, str):
        skip(lineno, "$rewindTo is not a message id")
        return
    ids = list(messages)
    if target not in messages:
        # Gemini CLI clears the whole history in this case; do the same, but say so.
        skip(lineno, "$rewindTo names an unknown message: all earlier messages dropped, as Gemini CLI does")
        messages.clear()
        return
    for key in ids[ids.index(target):]:
        del messages[key]


def read_chat_document(doc: Any, *, format: str, path: str, skip: SkipFn, resolve: Resolve) -> list[Session]:
    """The legacy `.json` recording: one ConversationRecord object."""
    if not isinstance(doc, dict):
        skip(None, "expected a JSON object")
        return []
    # Updates were written in place, but deduplicate by id anyway so a message is counted once.
    messages: dict[Hashable, _Message] = {}
    for i, msg in enumerate(as_list(doc.get("messages"))):
        if not isinstance(msg, dict):
            skip(None, f"messages[{i}] is not an object")
            continue
        key = msg["id"] if isinstance(msg.get("id"), str) else ("#", i)
        messages[key] = _message(None, msg)
    return [_chat_session(doc, messages.values(), path=path, format=format, skip=skip)]


def _chat_session(meta: dict[str, Any], messages: Iterable[_Message], *,
                  path: str, format: str, skip: SkipFn) -> Session:
    calls = Calls()
    span = TimeSpan()
    usage = Usage()
    model: str | None = None
    span.see(meta.get("startTime"))
    span.see(meta.get("lastUpdated"))
    for msg in messages:
        for ts in msg.timestamps:
            span.see(ts)
        model = msg.model or model
        usage += msg.usage
        for entry in msg.calls:
            if isinstance(entry, int):
                skip(msg.line, f"message {msg.id!r}: toolCalls[{entry}] is not an object")
                continue
            # A call without an id gets a key of its own (not a string: it cannot clash).
            key = entry.call_id if entry.call_id is not None else ("#", len(calls))
            calls.start(call_id=entry.call_id, key=key, name=entry.name, input=entry.input,
                        timestamp=entry.timestamp, kind=entry.kind)
            calls.finish(key, output=entry.output, is_error=entry.is_error, exit_code=entry.exit_code,
                         category=entry.category)
    kind = meta.get("kind")
    dirs = [d for d in as_list(meta.get("directories")) if isinstance(d, str) and d]
    return Session(
        path=path, agent="gemini", format=format, session_id=as_str(meta.get("sessionId")),
        tool_calls=calls.build(), usage=usage,
        # projectHash is a hash of the project root, not a path: only `directories` names one.
        cwd=dirs[0] if dirs else None, model=model,
        started_at=span.first, ended_at=span.last,
        subagent=kind == "subagent",
        # Subagent chats sit in chats/<parentSessionId>/, but identity comes from records only.
        parent_id=as_str(meta.get("parentSessionId")) if kind == "subagent" else None,
    )


def _message_tokens(value: object) -> Usage:
    # `input` is promptTokenCount, which includes cachedContentTokenCount (the CLI's own
    # telemetry computes uncached input as prompt - cached; and total = input + output +
    # thoughts + tool in real files). Thoughts are billed as output; `tool` is
    # toolUsePromptTokenCount, prompt tokens outside promptTokenCount.
    t = as_dict(value)
    return usage_cached_inside(input=as_int(t.get("input")), cached=as_int(t.get("cached")),
                               output=as_int(t.get("output")) + as_int(t.get("thoughts"))) \
        + Usage(input=as_int(t.get("tool")))


def _recorded_call(tc: dict[str, Any]) -> _Call:
    name = as_str(tc.get("name")) or "unknown"
    kind = tool_kind(name)
    text, response_error = _response_text(tc.get("result"))
    if not text:
        text = _display_text(tc.get("resultDisplay"))
    status = tc.get("status")
    exit_code = _shell_exit(text) if kind == "shell" else None
    category = None
    if status == "cancelled":
        # "cancelled" is both a declined confirmation ("User did not allow tool call")
        # and an abort (Ctrl-C, "User cancelled tool execution"): the text tells them apart.
        category = "user_rejected" if re.search(r"did not allow", text, re.I) else "interrupted"
    is_error = (status in ("error", "cancelled") or response_error
                or (exit_code is not None and exit_code != 0))
    return _Call(as_str(tc.get("id")), name, kind, as_dict(tc.get("args")), Clip(text),
                 is_error, exit_code, category, as_str(tc.get("timestamp")))


def _response_text(result: object) -> tuple[str, bool]:
    """The text the model saw, and whether a functionResponse carried an `error`."""
    texts: list[str] = []
    failed = False
    for part in result if isinstance(result, list) else [result]:
        if isinstance(part, str):
            texts.append(part)
            continue
        part = as_dict(part)
        if "functionResponse" not in part:
            texts.append(text_of(part))
            continue
        response = as_dict(as_dict(part["functionResponse"]).get("response"))
        error = response.get("error")
        error_text = error if isinstance(error, str) else text_of(as_dict(error).get("message"))
        if error_text:
            failed = True
            texts.append(error_text)
        output = response.get("output")
        texts.append(output if isinstance(output, str) else text_of(output))
        texts.append(text_of(response.get("content")))
    return "\n".join(t for t in texts if t), failed


def _display_text(display: object) -> str:
    if isinstance(display, str):
        return display
    d = as_dict(display)
    diff = d.get("fileDiff")  # edit and write tools show a diff object
    return diff if isinstance(diff, str) else text_of(display)


def _shell_exit(text: str) -> int | None:
    tail = text[-_TRAILER_CHARS:]
    if len(text) > _TRAILER_CHARS:
        tail = tail[tail.find("\n") + 1:]  # drop the cut line
    found = None
    for found in _EXIT_LINE.finditer(tail):  # noqa: B007 - the last one is wanted
        pass
    if found is not None:
        after = tail[found.end():].strip().splitlines()
        if all(_TRAILER_LINE.fullmatch(line.strip()) for line in after):
            return int(found.group(1))
    exited = _EXITED_WITH.fullmatch(text.strip())
    return int(exited.group(1)) if exited else None


# --- headless output ------------------------------------------------------------------

def read_headless_json(doc: Any, *, format: str, path: str, skip: SkipFn, resolve: Resolve) -> list[Session]:
    """`gemini -p --output-format json`: totals only.

    stats.tools has counts (totalCalls, totalFail, byName) but no call records: no
    ToolCall is invented from them.
    """
    if not isinstance(doc, dict):
        skip(None, "expected a JSON object")
        return []
    usage, model = _model_stats(as_dict(as_dict(doc.get("stats")).get("models")))
    return [Session(path=path, agent="gemini", format=format, session_id=as_str(doc.get("session_id")),
                    usage=usage, model=model)]


def _model_stats(models: dict[str, Any]) -> tuple[Usage, str | None]:
    usage = Usage()
    main: str | None = None
    most = -1
    for name, stats in models.items():
        if not isinstance(stats, dict):
            continue
        t = as_dict(stats.get("tokens"))
        cached = as_int(t.get("cached"))
        output = as_int(t.get("candidates")) + as_int(t.get("thoughts"))
        # `prompt` includes cached; older versions have no `input` (= prompt - cached).
        this = (usage_cached_inside(input=as_int(t.get("prompt")), cached=cached, output=output) if "prompt" in t
                else Usage(input=as_int(t.get("input")), output=output, cache_read=cached)) \
            + Usage(input=as_int(t.get("tool")))
        usage += this
        # A run also calls small models (routing, summaries): the model is the one that did the work.
        total = this.input + this.output + this.cache_read
        if total > most and isinstance(name, str) and name:
            main, most = name, total
    return usage, main


class _Run:
    def __init__(self) -> None:
        self.calls = Calls()
        self.span = TimeSpan()
        self.usage = Usage()
        self.session_id: str | None = None
        self.model: str | None = None
        self.events = 0

    def session(self, path: str) -> Session:
        return Session(path=path, agent="gemini", format="gemini-stream-json", session_id=self.session_id,
                       tool_calls=self.calls.build(), usage=self.usage,
                       model=self.model, started_at=self.span.first, ended_at=self.span.last)


def read_stream(records: Records, *, path: str, skip: SkipFn, resolve: Resolve) -> list[Session]:
    """`gemini -p --output-format stream-json`; a log of several runs gives a session per `init`."""
    runs: list[_Run] = []
    run = _Run()
    for lineno, ev in records:
        kind = ev.get("type")
        if kind == "init" and run.events:
            runs.append(run)
            run = _Run()
        run.events += 1
        run.span.see(ev.get("timestamp"))
        if kind == "init":
            run.session_id = as_str(ev.get("session_id")) or run.session_id
            run.model = as_str(ev.get("model")) or run.model
        elif kind == "tool_use":
            call_id = as_str(ev.get("tool_id"))
            run.calls.start(call_id=call_id, key=call_id if call_id is not None else ("#", len(run.calls)),
                            name=as_str(ev.get("tool_name")) or "unknown", input=as_dict(ev.get("parameters")),
                            timestamp=as_str(ev.get("timestamp")))
        elif kind == "tool_result":
            _stream_result(run, ev, lineno, skip)
        elif kind == "result":
            run.usage = _stream_usage(ev.get("stats"))
    if run.events:
        runs.append(run)
    return [r.session(path) for r in runs]


def _stream_result(run: _Run, ev: dict[str, Any], lineno: int | None, skip: SkipFn) -> None:
    call_id = as_str(ev.get("tool_id"))
    if call_id is None or call_id not in run.calls:
        skip(lineno, "tool_result for an unknown tool_id")
        return
    failed = ev.get("status") == "error"
    output = ev.get("output")
    text = output if isinstance(output, str) else ""
    message = as_dict(ev.get("error")).get("message")
    if failed and isinstance(message, str) and message:
        text = f"{message}\n{text}" if text and text != message else message
    # `output` is the display text: for a shell command that is its raw output, so a
    # non-zero exit is only visible when the command printed nothing (or in debug mode).
    exit_code = _shell_exit(text) if run.calls.kind(call_id) == "shell" else None
    run.calls.finish(call_id, output=text, is_error=failed or (exit_code is not None and exit_code != 0),
                     exit_code=exit_code, timestamp=as_str(ev.get("timestamp")))


def _stream_usage(stats: object) -> Usage:
    s = as_dict(stats)
    prompt = as_int(s.get("input_tokens"))  # includes cached
    cached = as_int(s.get("cached"))
    output = as_int(s.get("output_tokens"))
    # Thoughts (and tool-use prompt tokens) have no field here: they are what
    # total_tokens holds beyond prompt + candidates.
    output += max(as_int(s.get("total_tokens")) - prompt - output, 0)
    if "input" in s:
        return Usage(input=as_int(s.get("input")), output=output, cache_read=cached)
    return usage_cached_inside(input=prompt, cached=cached, output=output)
