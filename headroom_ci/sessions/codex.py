"""Codex CLI: rollout JSONL (enveloped and bare era), the mid-2025 `.json` document.

`codex exec --json` is read in codex_exec.py.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from headroom_ci.sessions.build import as_dict
from headroom_ci.sessions.build import as_exit
from headroom_ci.sessions.build import as_int
from headroom_ci.sessions.build import as_list
from headroom_ci.sessions.build import as_str
from headroom_ci.sessions.build import Calls
from headroom_ci.sessions.build import iso_ms
from headroom_ci.sessions.build import text_of
from headroom_ci.sessions.build import TimeSpan
from headroom_ci.sessions.build import usage_cached_inside
from headroom_ci.sessions.detect import CODEX_BARE_ITEM_TYPES
from headroom_ci.sessions.jsonl import DECODE_ERRORS
from headroom_ci.sessions.jsonl import decode_json
from headroom_ci.sessions.kinds import exit_code_from_text
from headroom_ci.sessions.kinds import split_header
from headroom_ci.sessions.kinds import tool_kind
from headroom_ci.sessions.model import Clip
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.model import Usage
from headroom_ci.sessions.types import Records
from headroom_ci.sessions.types import Resolve
from headroom_ci.sessions.types import SkipFn

Totals = tuple[int, int, int]  # input (cached included), cached input, output

_RUNNING = re.compile(r"^Process running with session ID (\d+)", re.M)
# Codex answers a call it could not run with a bare message instead of the
# tool's output; only these openings count, so a command printing them later
# in its output is not mistaken for a failure.
_TOOL_FAILED = re.compile(
    r"^(?:exec command rejected|patch rejected|aborted by user|execution error:"
    r"|failed to parse function arguments|unsupported (?:call|custom tool call)"
    r"|write_stdin failed|unknown (?:process|session) id|apply_patch verification failed)", re.I)
_CWD = re.compile(r"<cwd>\s*(.*?)\s*</cwd>", re.S)
# apply_patch runs through the same exec runner as shell commands: its text
# answer opens with the runner's "Exit code: N" header too.
_RUNNER_TOOLS = frozenset({"apply_patch"})


def _json(text: str) -> Any:
    try:
        return decode_json(text.encode())
    except DECODE_ERRORS:
        return None


def _process_ref(value: object) -> str | None:
    if as_exit(value) is not None:
        return str(value)
    text = as_str(value)
    return text.strip() if text and text.strip().isdigit() else None


def _uuid7_ms(value: str | None) -> int | None:
    """Creation time (ms) of a UUIDv7: Codex mints session and turn ids as v7."""
    digits = (value or "").replace("-", "")
    if len(digits) != 32 or digits[12] != "7":
        return None
    try:
        return int(digits[:12], 16)
    except ValueError:
        return None


def usage_of_totals(totals: Totals | None) -> Usage:
    if totals is None:
        return Usage()
    inp, cached, out = totals
    # Codex counts cached tokens inside input_tokens, and reasoning tokens
    # inside output_tokens (total_tokens == input_tokens + output_tokens).
    return usage_cached_inside(input=inp, cached=cached, output=out)


def token_totals(raw: dict[str, Any]) -> Totals:
    return (as_int(raw.get("input_tokens")), as_int(raw.get("cached_input_tokens")),
            as_int(raw.get("output_tokens")))


def _arguments(raw: object) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    if raw is None:
        return {}
    decoded = _json(raw) if isinstance(raw, str) else None
    return decoded if isinstance(decoded, dict) else {"raw": raw}


def _parse_output(raw: object, *, runner: bool) -> tuple[str, int | None, bool]:
    """(text, exit code, failed) of one output as Codex wrote it. Only the answer
    of a `runner` tool (shell commands, apply_patch) has an exit code in its text."""
    if isinstance(raw, dict):  # early payload {content, success}
        text = text_of(raw.get("content")) or text_of(raw)
        return text, exit_code_from_text(text) if runner else None, raw.get("success") is False
    if not isinstance(raw, str):
        return text_of(raw), None, False  # a list of content items
    if raw.startswith("{"):
        doc = _json(raw)
        if isinstance(doc, dict) and isinstance(doc.get("output"), str) and isinstance(doc.get("metadata"), dict):
            # Legacy shell / apply_patch: the exit code is in metadata, not the text.
            return doc["output"], as_exit(doc["metadata"].get("exit_code")), False
        if isinstance(doc, dict) and "content" in doc and ("isError" in doc or "is_error" in doc):
            return text_of(doc["content"]), None, doc.get("isError") is True or doc.get("is_error") is True
    return raw, exit_code_from_text(raw) if runner else None, bool(_TOOL_FAILED.match(raw))


def _mcp_text(text: str) -> str:
    # Desktop builds print MCP content blocks as JSON after the runner header.
    header, body = split_header(text)
    blocks = _json(body) if body.startswith("[") else None
    return header + text_of(blocks) if isinstance(blocks, list) else text


class _Outcome:
    """What is known of one call's result; resolved only at the end because
    structured events and output records arrive in either order."""

    __slots__ = ("header", "body", "exit_code", "failed", "struct_error", "struct_exit",
                 "category", "fallback", "first_ts", "done_ts")

    def __init__(self) -> None:
        self.header = self.fallback = ""
        self.body = Clip()  # a long command's chunks, in bounded memory
        self.exit_code: int | None = None
        self.failed = False
        self.struct_error: bool | None = None
        self.struct_exit: int | None = None
        self.category: str | None = None
        self.first_ts: str | None = None
        self.done_ts: str | None = None

    def apply(self, calls: Calls, call_id: str) -> None:
        # A command the agent never polled to the end: the end event has its output.
        text = Clip(self.header)
        text.add(self.body if self.body.size else self.fallback)
        code = self.exit_code
        if self.struct_error is not None:
            is_error = self.struct_error
            code = self.struct_exit if self.struct_exit is not None else code
        else:
            is_error = self.failed or code not in (None, 0)
        calls.finish(call_id, output=text, is_error=is_error, exit_code=code,
                     timestamp=self.done_ts or self.first_ts, category=self.category)


class _Reader:
    """One rollout, in any of its three containers."""

    def __init__(self, *, path: str, skip: SkipFn, fmt: str) -> None:
        self.path, self.skip, self.fmt = path, skip, fmt
        self.calls = Calls()
        self.span = TimeSpan()
        self.records = 0
        self.outcomes: dict[str, _Outcome] = {}
        self.names: dict[str, str] = {}
        self.answered: set[str] = set()
        self.unanswered: dict[str, None] = {}  # ordered set, for turn_aborted
        self.process: dict[str, str] = {}  # unified-exec session id -> exec_command call id
        self.polls: dict[str, str] = {}  # write_stdin call id -> session id it polls
        self.meta_seen = self.subagent = False
        self.session_id: str | None = None
        self.cwd: str | None = None
        self.context_cwd: str | None = None
        self.env_cwd: str | None = None
        self.branch: str | None = None
        self.commit: str | None = None
        self.model: str | None = None
        self.parent_id: str | None = None
        self.totals: Totals | None = None
        self.baseline: Totals | None = None
        self.fork_instant: int | None = None  # set while a fork's replayed parent history is read
        self.cut = 0

    def meta(self, p: dict[str, Any]) -> None:
        if self.meta_seen:
            return  # a fork or subagent copies its parent's session_meta after its own
        self.meta_seen = True
        self.session_id = as_str(p.get("id"))
        self.cwd = as_str(p.get("cwd"))
        self.model = as_str(p.get("model"))
        git = as_dict(p.get("git"))
        self.branch, self.commit = as_str(git.get("branch")), as_str(git.get("commit_hash"))
        source = as_dict(p.get("source"))
        sub = next((v for k, v in source.items() if k.lower().replace("_", "") == "subagent"), None)
        self.subagent = sub is not None or p.get("thread_source") == "subagent"
        spawn = as_dict(as_dict(sub).get("thread_spawn"))
        forked = as_str(p.get("forked_from_id"))
        self.parent_id = as_str(spawn.get("parent_thread_id")) or as_str(p.get("parent_thread_id")) or forked
        if forked:
            created = _uuid7_ms(self.session_id) or iso_ms(as_str(p.get("timestamp")))
            self.fork_instant = int(created) if created is not None else None

    def turn(self, turn_id: object) -> None:
        # A fork copies the parent's lines, re-stamped, before its own: only the
        # turn ids (UUIDv7, minted when each turn really ran) tell them apart.
        # The first turn created after the fork itself opens the fork's history.
        ms = _uuid7_ms(as_str(turn_id))
        if self.fork_instant is not None and ms is not None and ms >= self.fork_instant:
            self.cut, self.baseline, self.fork_instant = len(self.calls), self.totals, None

    def turn_context(self, p: dict[str, Any]) -> None:
        self.turn(p.get("turn_id"))
        self.model = as_str(p.get("model")) or self.model
        if self.fork_instant is None:
            self.context_cwd = self.context_cwd or as_str(p.get("cwd"))

    def environment(self, p: dict[str, Any]) -> None:
        text = text_of(p.get("content"))
        m = _CWD.search(text) if "<environment_context>" in text else None
        if m and self.fork_instant is None:
            self.env_cwd = m.group(1) or None

    def outcome(self, call_id: str) -> _Outcome:
        return self.outcomes.setdefault(call_id, _Outcome())

    def start(self, call_id: str | None, name: str, input: dict[str, Any], ts: str | None,
              *, answerable: bool = True) -> None:
        self.calls.start(call_id=call_id, name=name, input=input, timestamp=ts)
        if call_id is not None:
            self.names.setdefault(call_id, name)
            if answerable and call_id not in self.answered:
                self.unanswered[call_id] = None

    def item(self, p: dict[str, Any], ts: str | None, line: int | None) -> None:
        t = p.get("type")
        call_id = as_str(p.get("call_id"))
        if t == "function_call":
            self.function_call(p, call_id, ts)
        elif t == "custom_tool_call":
            inp = p.get("input")
            self.start(call_id, as_str(p.get("name")) or "unknown", {} if inp is None else {"input": inp}, ts)
        elif t == "local_shell_call":
            command = as_dict(p.get("action")).get("command")
            self.start(call_id or as_str(p.get("id")), "local_shell_call", {"command": command}, ts)
        elif t == "web_search_call":
            call_id = as_str(p.get("id")) or call_id
            self.start(call_id, "web_search_call", as_dict(p.get("action")), ts, answerable=False)
            if call_id is not None and p.get("status") == "failed":
                self.outcome(call_id).struct_error = True
        elif t in ("function_call_output", "custom_tool_call_output"):
            self.output(p.get("output"), call_id, ts, line)
        elif t == "message" and p.get("role") == "user" and self.env_cwd is None:
            self.environment(p)

    def function_call(self, p: dict[str, Any], call_id: str | None, ts: str | None) -> None:
        name = as_str(p.get("name")) or "unknown"
        namespace = as_str(p.get("namespace"))
        if namespace and namespace.lower().startswith("mcp__") and not name.startswith(namespace):
            # Desktop builds split MCP names: {"namespace": "mcp__node_repl__", "name": "js"}.
            name = namespace + name if namespace.endswith("__") else f"{namespace}__{name}"
        args = _arguments(p.get("arguments"))
        self.start(call_id, name, args, ts)
        target = _process_ref(args.get("session_id"))
        if name == "write_stdin" and call_id is not None and target is not None:
            self.polls[call_id] = target

    def output(self, raw: object, call_id: str | None, ts: str | None, line: int | None) -> None:
        if call_id is None or call_id not in self.calls:
            self.skip(line, "tool output for an unknown call")
            return
        if call_id in self.answered:
            return  # re-appended record
        self.answered.add(call_id)
        self.unanswered.pop(call_id, None)
        name = self.names.get(call_id, "")
        kind = tool_kind(name)
        text, code, failed = _parse_output(raw, runner=kind == "shell" or name in _RUNNER_TOOLS)
        if kind == "mcp":
            text = _mcp_text(text)
        own = self.outcome(call_id)
        own.first_ts = ts
        if name == "write_stdin":
            # A poll is a call but never the command's failure: its chunk and
            # exit line belong to the exec_command that started the process.
            # "write_stdin failed: stdin is closed…" is the poll's own error (it
            # could not write; the command is untouched), so it stays on the poll.
            own.body, own.failed = Clip(text), failed
            target = self.process.get(self.polls.get(call_id, ""))
            if target is not None and not failed:
                self.chunk(target, text, ts)
            return
        running = _RUNNING.search(text[:400])
        if running:
            self.process[running.group(1)] = call_id
        header, body = split_header(text)
        own.header, own.body = header, Clip(body)
        own.exit_code, own.failed = code, failed
        if running is None:
            own.done_ts = ts

    def chunk(self, exec_id: str, text: str, ts: str | None) -> None:
        o = self.outcome(exec_id)
        header, body = split_header(text)
        o.header = header or o.header
        o.body.add(body)
        code = exit_code_from_text(header or text)
        if code is not None:
            o.exit_code = code
            o.done_ts = o.done_ts or ts

    def event(self, p: dict[str, Any], ts: str | None) -> None:
        t = p.get("type")
        if t == "token_count":
            total = as_dict(as_dict(p.get("info")).get("total_token_usage"))
            if total:  # cumulative: the last one is the session's
                self.totals = token_totals(total)
        elif t == "task_started":
            self.turn(p.get("turn_id"))
        elif t == "turn_aborted":
            for open_id in self.unanswered:
                o = self.outcome(open_id)
                o.struct_error, o.category = True, o.category or "interrupted"
            self.unanswered.clear()
        elif t in ("exec_command_end", "patch_apply_end", "mcp_tool_call_end"):
            call_id = as_str(p.get("call_id"))
            if call_id is not None and call_id in self.calls:  # else e.g. a user's own `!cmd`
                self.end(t, p, self.outcome(call_id), ts)
                pid = _process_ref(p.get("process_id"))
                if pid is not None:
                    self.process.setdefault(pid, call_id)

    def end(self, t: str, p: dict[str, Any], o: _Outcome, ts: str | None) -> None:
        status = as_str(p.get("status"))
        if t == "exec_command_end":
            code = as_exit(p.get("exit_code"))
            if status is None and code is None:
                return
            o.struct_exit = code
            o.struct_error = status in ("failed", "declined") or code not in (None, 0)
            texts = [p.get(k) for k in ("aggregated_output", "formatted_output", "stderr", "stdout")]
        elif t == "patch_apply_end":
            if not isinstance(p.get("success"), bool) and status != "declined":
                return
            o.struct_error = p.get("success") is not True
            texts = [p.get("stderr"), p.get("stdout")]
        else:
            result = as_dict(p.get("result"))
            ok, err = as_dict(result.get("Ok")), result.get("Err")
            if not ok and err is None:
                return
            o.struct_error = err is not None or ok.get("isError") is True or ok.get("is_error") is True
            texts = [err if isinstance(err, str) else text_of(ok.get("content"))]
        if status == "declined":
            o.struct_error, o.category = True, "user_rejected"
        o.fallback = next((x for x in texts if isinstance(x, str) and x), "")
        o.done_ts = o.done_ts or ts

    def session(self) -> list[Session]:
        if not self.records:
            return []
        for call_id, o in self.outcomes.items():
            o.apply(self.calls, call_id)
        calls = self.calls.build()
        if self.cut:  # drop the calls a fork replayed from its parent
            calls = tuple(replace(c, index=i) for i, c in enumerate(calls[self.cut:]))
        totals = self.totals
        if totals is not None and self.baseline is not None:
            # A fork's counters start from the parent's totals.
            totals = (max(totals[0] - self.baseline[0], 0), max(totals[1] - self.baseline[1], 0),
                      max(totals[2] - self.baseline[2], 0))
        return [Session(
            path=self.path, agent="codex", format=self.fmt, session_id=self.session_id,
            tool_calls=calls, usage=usage_of_totals(totals), cwd=self.cwd or self.context_cwd or self.env_cwd,
            git_branch=self.branch, git_commit=self.commit, model=self.model,
            started_at=self.span.first, ended_at=self.span.last,
            subagent=self.subagent, parent_id=self.parent_id,
        )]

    def header(self, rec: dict[str, Any]) -> None:
        # Bare-era items carry no timestamps: the header's is the only one.
        self.records += 1
        self.span.see(rec.get("timestamp"))
        self.meta(rec)

    def bare_items(self, records: Records) -> None:
        for line, rec in records:
            if not isinstance(rec, dict):  # an element of a document's items list
                self.skip(line, "expected a JSON object")
            elif rec.get("record_type") == "state":
                continue
            elif "type" not in rec:
                if "id" in rec and not self.meta_seen:
                    self.header(rec)  # the bare-era first line {id, timestamp, instructions, git}
            elif as_str(rec.get("type")) in CODEX_BARE_ITEM_TYPES:
                self.records += 1
                ts = as_str(rec.get("timestamp"))
                self.span.see(ts)
                self.item(rec, ts, line)


_ROLLOUT_TYPES = frozenset({"session_meta", "turn_context", "response_item", "event_msg", "compacted"})


def read_rollout(records: Records, *, path: str, skip: SkipFn,
                 resolve: Resolve) -> list[Session]:
    r = _Reader(path=path, skip=skip, fmt="codex-rollout")
    for line, rec in records:
        t = as_str(rec.get("type"))
        if t not in _ROLLOUT_TYPES:
            continue  # state markers and newer types (world_state, inter_agent_*) carry no calls
        p = rec.get("payload")
        if not isinstance(p, dict):
            skip(line, f"{t} line without a payload object")
            continue
        r.records += 1
        ts = as_str(rec.get("timestamp"))
        r.span.see(ts)
        if t == "session_meta":
            r.meta(p)
        elif t == "turn_context":
            r.turn_context(p)
        elif t == "response_item":
            r.item(p, ts, line)
        elif t == "event_msg":
            r.event(p, ts)
        # compacted: replacement_history repeats items already read above it.
    return r.session()


def read_bare(records: Records, *, path: str, skip: SkipFn,
              resolve: Resolve) -> list[Session]:
    r = _Reader(path=path, skip=skip, fmt="codex-rollout-bare")
    r.bare_items(records)
    return r.session()


def read_document(doc: Any, *, format: str, path: str, skip: SkipFn, resolve: Resolve) -> list[Session]:
    r = _Reader(path=path, skip=skip, fmt=format)
    if not isinstance(doc, dict):
        skip(None, "expected a JSON object")
        return []
    header = as_dict(doc.get("session"))
    if header:
        r.header(header)
    items = doc.get("items")
    if not isinstance(items, list):
        skip(None, "no items list")
    r.bare_items((None, item) for item in as_list(items))
    return r.session()
