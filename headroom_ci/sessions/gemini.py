"""Gemini CLI: chat recordings (current .jsonl, legacy .json) and headless `-p` output."""
from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from headroom_ci.sessions.build import as_dict
from headroom_ci.sessions.build import as_int
from headroom_ci.sessions.build import as_list
from headroom_ci.sessions.build import as_str
from headroom_ci.sessions.build import Calls
from headroom_ci.sessions.build import text_of
from headroom_ci.sessions.build import TimeSpan
from headroom_ci.sessions.jsonl import Skip
from headroom_ci.sessions.kinds import tool_kind
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.model import ToolCall
from headroom_ci.sessions.model import ToolKind
from headroom_ci.sessions.model import Usage

Records = Iterable[tuple[int, dict[str, Any]]]
Resolve = Callable[[str], str | None]

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

def read_chat(records: Records, *, path: str, skip: Skip, resolve: Resolve) -> list[Session]:
    """The current `.jsonl` recording, replayed the way Gemini CLI loads it."""
    meta: dict[str, Any] = {}
    # Insertion-ordered like the CLI's Map: a re-appended id keeps its place, last content wins.
    messages: dict[str, tuple[int | None, dict[str, Any]]] = {}
    for lineno, rec in records:
        if not isinstance(rec, dict):
            skip(lineno, "expected a JSON object")
        elif "$rewindTo" in rec:
            _rewind(messages, rec["$rewindTo"], lineno, skip)
        elif isinstance(rec.get("id"), str):
            messages[rec["id"]] = (lineno, rec)
        elif "$set" in rec:
            patch = rec["$set"]
            if not isinstance(patch, dict):
                skip(lineno, "$set is not an object")
                continue
            snapshot = patch.get("messages")
            if isinstance(snapshot, list):
                # updateMessagesFromHistory() writes the whole history (e.g. after masking):
                # it replaces the messages recorded so far; later records patch it as usual.
                messages = {m["id"]: (lineno, m) for m in snapshot
                            if isinstance(m, dict) and isinstance(m.get("id"), str)}
            meta.update((k, v) for k, v in patch.items() if k != "messages")
        elif "sessionId" in rec:
            meta.update(rec)  # the metadata line (line 1, or again after a resume)
        else:
            skip(lineno, "not a Gemini chat record")
    if not meta and not messages:
        return []
    return [_chat_session(meta, messages.values(), path=path, format="gemini-chat-jsonl", skip=skip)]


def _rewind(messages: dict[str, Any], target: object, lineno: int, skip: Skip) -> None:
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


def read_chat_document(doc: Any, *, format: str, path: str, skip: Skip, resolve: Resolve) -> list[Session]:
    """The legacy `.json` recording: one ConversationRecord object."""
    if not isinstance(doc, dict):
        skip(None, "expected a JSON object")
        return []
    # Updates were written in place, but deduplicate by id anyway so a message is counted once.
    messages: dict[object, tuple[int | None, dict[str, Any]]] = {}
    for i, msg in enumerate(as_list(doc.get("messages"))):
        if not isinstance(msg, dict):
            skip(None, f"messages[{i}] is not an object")
            continue
        key = msg["id"] if isinstance(msg.get("id"), str) else ("#", i)
        messages[key] = (None, msg)
    return [_chat_session(doc, messages.values(), path=path, format=format, skip=skip)]


def _chat_session(meta: dict[str, Any], messages: Iterable[tuple[int | None, dict[str, Any]]], *,
                  path: str, format: str, skip: Skip) -> Session:
    calls = Calls()
    ids: dict[str, str | None] = {}
    span = TimeSpan()
    usage = Usage()
    model: str | None = None
    span.see(meta.get("startTime"))
    span.see(meta.get("lastUpdated"))
    for lineno, msg in messages:
        span.see(msg.get("timestamp"))
        model = as_str(msg.get("model")) or model
        usage += _message_tokens(msg.get("tokens"))
        for i, tc in enumerate(as_list(msg.get("toolCalls"))):
            if not isinstance(tc, dict):
                skip(lineno, f"message {msg.get('id')!r}: toolCalls[{i}] is not an object")
                continue
            span.see(tc.get("timestamp"))
            _add_recorded_call(calls, ids, tc)
    kind = meta.get("kind")
    dirs = [d for d in as_list(meta.get("directories")) if isinstance(d, str) and d]
    return Session(
        path=path, agent="gemini", format=format, session_id=as_str(meta.get("sessionId")),
        tool_calls=_real_ids(calls.build(), ids), usage=usage,
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
    cached = as_int(t.get("cached"))
    return Usage(
        input=max(as_int(t.get("input")) - cached, 0) + as_int(t.get("tool")),
        output=as_int(t.get("output")) + as_int(t.get("thoughts")),
        cache_read=cached,
    )


def _add_recorded_call(calls: Calls, ids: dict[str, str | None], tc: dict[str, Any]) -> None:
    name = as_str(tc.get("name")) or "unknown"
    kind = tool_kind(name)
    key = _key(ids, as_str(tc.get("id")))
    calls.start(call_id=key, name=name, input=as_dict(tc.get("args")),
                timestamp=as_str(tc.get("timestamp")), kind=kind)
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
    calls.finish(key, output=text, is_error=is_error, exit_code=exit_code, category=category)


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
    for found in _EXIT_LINE.finditer(tail):
        pass
    if found is not None:
        after = tail[found.end():].strip().splitlines()
        if all(_TRAILER_LINE.fullmatch(line.strip()) for line in after):
            return int(found.group(1))
    exited = _EXITED_WITH.fullmatch(text.strip())
    return int(exited.group(1)) if exited else None


def _key(ids: dict[str, str | None], call_id: str | None) -> str:
    """A key for Calls; a call without an id gets a private one that never leaves this module."""
    if call_id is not None:
        return call_id
    key = f"\x00call-{len(ids)}"
    ids[key] = None
    return key


def _real_ids(calls: tuple[ToolCall, ...], ids: dict[str, str | None]) -> tuple[ToolCall, ...]:
    return tuple(replace(c, call_id=ids[c.call_id]) if c.call_id in ids else c for c in calls)


# --- headless output ------------------------------------------------------------------

def read_headless_json(doc: Any, *, format: str, path: str, skip: Skip, resolve: Resolve) -> list[Session]:
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
        # `prompt` includes cached; older versions have no `input` (= prompt - cached).
        fresh = max(as_int(t.get("prompt")) - cached, 0) if "prompt" in t else as_int(t.get("input"))
        this = Usage(input=fresh + as_int(t.get("tool")),
                     output=as_int(t.get("candidates")) + as_int(t.get("thoughts")), cache_read=cached)
        usage += this
        # A run also calls small models (routing, summaries): the model is the one that did the work.
        total = this.input + this.output + this.cache_read
        if total > most and isinstance(name, str) and name:
            main, most = name, total
    return usage, main


class _Run:
    def __init__(self) -> None:
        self.calls = Calls()
        self.ids: dict[str, str | None] = {}
        self.span = TimeSpan()
        self.usage = Usage()
        self.session_id: str | None = None
        self.model: str | None = None
        self.kinds: dict[str, ToolKind] = {}
        self.events = 0

    def session(self, path: str) -> Session:
        return Session(path=path, agent="gemini", format="gemini-stream-json", session_id=self.session_id,
                       tool_calls=_real_ids(self.calls.build(), self.ids), usage=self.usage,
                       model=self.model, started_at=self.span.first, ended_at=self.span.last)


def read_stream(records: Records, *, path: str, skip: Skip, resolve: Resolve) -> list[Session]:
    """`gemini -p --output-format stream-json`; a log of several runs gives a session per `init`."""
    runs: list[_Run] = []
    run = _Run()
    for lineno, ev in records:
        if not isinstance(ev, dict):
            skip(lineno, "expected a JSON object")
            continue
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
            name = as_str(ev.get("tool_name")) or "unknown"
            key = _key(run.ids, as_str(ev.get("tool_id")))
            run.kinds.setdefault(key, tool_kind(name))
            run.calls.start(call_id=key, name=name, input=as_dict(ev.get("parameters")),
                            timestamp=as_str(ev.get("timestamp")))
        elif kind == "tool_result":
            _stream_result(run, ev, lineno, skip)
        elif kind == "result":
            run.usage = _stream_usage(ev.get("stats"))
    if run.events:
        runs.append(run)
    return [r.session(path) for r in runs]


def _stream_result(run: _Run, ev: dict[str, Any], lineno: int, skip: Skip) -> None:
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
    exit_code = _shell_exit(text) if run.kinds.get(call_id) == "shell" else None
    run.calls.finish(call_id, output=text, is_error=failed or (exit_code is not None and exit_code != 0),
                     exit_code=exit_code, timestamp=as_str(ev.get("timestamp")))


def _stream_usage(stats: object) -> Usage:
    s = as_dict(stats)
    prompt = as_int(s.get("input_tokens"))  # includes cached
    cached = as_int(s.get("cached"))
    fresh = as_int(s.get("input")) if "input" in s else max(prompt - cached, 0)
    output = as_int(s.get("output_tokens"))
    # Thoughts (and tool-use prompt tokens) have no field here: they are what
    # total_tokens holds beyond prompt + candidates.
    extra = max(as_int(s.get("total_tokens")) - prompt - output, 0)
    return Usage(input=fresh, output=output + extra, cache_read=cached)
