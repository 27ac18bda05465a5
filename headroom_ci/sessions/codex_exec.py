"""Codex CLI: the events of `codex exec --json`."""
from __future__ import annotations

from typing import Any

from headroom_ci.sessions.build import as_dict
from headroom_ci.sessions.build import as_exit
from headroom_ci.sessions.build import as_list
from headroom_ci.sessions.build import as_str
from headroom_ci.sessions.build import Calls
from headroom_ci.sessions.build import text_of
from headroom_ci.sessions.codex import token_totals
from headroom_ci.sessions.codex import Totals
from headroom_ci.sessions.codex import usage_of_totals
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.model import ToolKind
from headroom_ci.sessions.types import Records
from headroom_ci.sessions.types import Resolve
from headroom_ci.sessions.types import SkipFn

_EXEC_ITEMS: dict[str, ToolKind] = {
    "command_execution": "shell", "file_change": "edit", "mcp_tool_call": "mcp",
    "web_search": "web", "collab_tool_call": "agent",
}


def _exec_shape(t: str, item: dict[str, Any]) -> tuple[str, dict[str, Any], str]:
    """(name, input, output) of one `exec --json` tool item."""
    if t == "command_execution":
        return t, {"command": item.get("command")}, as_str(item.get("aggregated_output")) or ""
    if t == "file_change":
        changes = as_list(item.get("changes"))
        done = [f"{c.get('kind')} {c.get('path')}" for c in changes if isinstance(c, dict)]
        return t, {"changes": changes}, "\n".join(done)
    if t == "mcp_tool_call":
        server, tool, args = as_str(item.get("server")), as_str(item.get("tool")), item.get("arguments")
        name = f"mcp__{server}__{tool}" if server and tool else t
        inp = args if isinstance(args, dict) else {} if args is None else {"arguments": args}
        return name, inp, text_of(as_dict(item.get("result")).get("content"))
    if t == "web_search":
        return t, {k: item[k] for k in ("query", "action") if k in item}, ""
    return as_str(item.get("tool")) or t, {k: item[k] for k in ("prompt", "receiver_thread_ids") if k in item}, ""


def _exec_item(calls: Calls, item: dict[str, Any], line: int | None, completed: bool) -> None:
    t = as_str(item.get("type")) or as_str(item.get("item_type")) or ""
    kind = _EXEC_ITEMS.get(t)
    if kind is None:
        return  # agent_message, reasoning, todo_list, error: no tool call
    item_id = as_str(item.get("id"))
    if item_id is None:
        if not completed:
            return  # a started item without id cannot be matched to its completion
        item_id = f"line-{line}"
    name, inp, out = _exec_shape(t, item)
    calls.start(call_id=item_id, name=name, input=inp, kind=kind)
    status = as_str(item.get("status"))
    if status == "in_progress" or (status is None and not completed):
        return
    code = as_exit(item.get("exit_code"))
    error = as_str(as_dict(item.get("error")).get("message"))
    # A non-zero exit_code has been seen together with status "completed".
    is_error = status in ("failed", "declined") or code not in (None, 0) or error is not None
    calls.finish(item_id, output=out or error or "", is_error=is_error, exit_code=code,
                 category="user_rejected" if status == "declined" else None)


def read_exec_json(records: Records, *, path: str, skip: SkipFn,
                   resolve: Resolve) -> list[Session]:
    calls = Calls()
    session_id: str | None = None
    totals: Totals | None = None
    seen = 0
    for line, rec in records:
        t = rec.get("type")
        if not isinstance(t, str) or not t.startswith(("thread.", "turn.", "item.")):
            continue  # top-level `error` events and unknown types carry no calls
        seen += 1
        if t == "thread.started":
            session_id = session_id or as_str(rec.get("thread_id"))
        elif t == "turn.completed":
            usage = as_dict(rec.get("usage"))
            if usage:
                # exec fills this from the thread's total_token_usage: it is
                # cumulative, so the last one is the run's (summing overcounts).
                totals = token_totals(usage)
        elif t in ("item.started", "item.updated", "item.completed"):
            item = rec.get("item")
            if not isinstance(item, dict):
                skip(line, f"{t} without an item object")
                continue
            _exec_item(calls, item, line, t == "item.completed")
    if not seen:
        return []
    return [Session(path=path, agent="codex", format="codex-exec-json", session_id=session_id,
                    tool_calls=calls.build(), usage=usage_of_totals(totals))]
