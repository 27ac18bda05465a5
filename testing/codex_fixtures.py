"""Codex CLI transcripts in the real formats, built from code for tests and benchmarks."""
from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any

BASE = datetime(2026, 5, 11, 8, 0, 0, tzinfo=timezone.utc)
CWD = "/home/runner/work/shop/shop"
COMMIT = "c8c252acd853de59c54b5c31374fec6028ee812e"


def at(seconds: float) -> str:
    """The ISO UTC timestamp Codex writes, `seconds` after BASE."""
    return (BASE + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def uuid7(seconds: float, n: int = 0) -> str:
    """A UUIDv7 minted `seconds` after BASE (Codex session and turn ids are v7)."""
    h = f"{int((BASE.timestamp() + seconds) * 1000):012x}"
    return f"{h[:8]}-{h[8:12]}-7{n % 4096:03x}-8000-{n:012x}"


SID = uuid7(0)
PARENT = uuid7(-3600, 1)


def records(objs: Iterable[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) pairs, as load.py hands them to a reader."""
    return list(enumerate(objs, 1))


def jsonl(objs: Iterable[Any]) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objs)


# -- rollout envelope -------------------------------------------------------

def line(type: str, payload: Any, *, ts: str) -> dict[str, Any]:
    return {"timestamp": ts, "type": type, "payload": payload}


def response(payload: dict[str, Any], *, ts: str) -> dict[str, Any]:
    return line("response_item", payload, ts=ts)


def event(type: str, *, ts: str, **fields: Any) -> dict[str, Any]:
    return line("event_msg", {"type": type, **fields}, ts=ts)


def session_meta(*, ts: str, id: str = SID, cwd: str | None = CWD, branch: str = "main",
                 commit: str = COMMIT, source: Any = "exec", **extra: Any) -> dict[str, Any]:
    return line("session_meta", {
        "id": id, "timestamp": ts, "cwd": cwd, "originator": "codex_github_action",
        "cli_version": "0.125.0", "source": source, "model_provider": "openai",
        "base_instructions": {"text": "You are Codex."},
        "git": {"commit_hash": commit, "branch": branch,
                "repository_url": "https://github.com/acme/shop.git"},
        **extra}, ts=ts)


def turn_context(*, ts: str, turn_id: str, model: str = "gpt-5.5", cwd: str = CWD) -> dict[str, Any]:
    return line("turn_context", {
        "turn_id": turn_id, "cwd": cwd, "approval_policy": "never",
        "sandbox_policy": {"type": "workspace-write", "network_access": False},
        "model": model, "effort": "medium", "summary": "auto"}, ts=ts)


def task_started(*, ts: str, turn_id: str) -> dict[str, Any]:
    return event("task_started", ts=ts, turn_id=turn_id, model_context_window=258400)


def token_count(inp: int, cached: int, out: int, *, ts: str, reasoning: int = 0) -> dict[str, Any]:
    total = {"input_tokens": inp, "cached_input_tokens": cached, "output_tokens": out,
             "reasoning_output_tokens": reasoning, "total_tokens": inp + out}
    return event("token_count", ts=ts, info={"total_token_usage": total, "last_token_usage": total,
                                             "model_context_window": 258400}, rate_limits=None)


def exec_end(call_id: str, exit_code: int | None, *, ts: str, status: str | None = "completed",
             process_id: str | None = None, output: str = "") -> dict[str, Any]:
    fields: dict[str, Any] = {"call_id": call_id, "turn_id": "t", "command": ["/bin/bash", "-lc", "x"],
                              "stdout": "", "stderr": "", "aggregated_output": output,
                              "duration": {"secs": 1, "nanos": 0}, "formatted_output": ""}
    if exit_code is not None:
        fields["exit_code"] = exit_code
    if status is not None:
        fields["status"] = status
    if process_id is not None:
        fields["process_id"] = process_id
    return event("exec_command_end", ts=ts, **fields)


def patch_end(call_id: str, success: bool, *, ts: str, stderr: str = "", status: str | None = None) -> dict[str, Any]:
    extra = {} if status is None else {"status": status}
    return event("patch_apply_end", ts=ts, call_id=call_id, turn_id="t", success=success,
                 stdout="Success. Updated the following files:\n" if success else "", stderr=stderr,
                 changes={}, **extra)


def mcp_end(call_id: str, result: Any, *, ts: str) -> dict[str, Any]:
    return event("mcp_tool_call_end", ts=ts, call_id=call_id,
                 invocation={"server": "github", "tool": "get_issue", "arguments": {}},
                 duration={"secs": 0, "nanos": 5}, result=result)


# -- response items (enveloped by `response`, bare in the older formats) ------

def function_call(call_id: str | None, name: str, arguments: Any, **extra: Any) -> dict[str, Any]:
    args = json.dumps(arguments) if isinstance(arguments, dict) else arguments
    item = {"type": "function_call", "name": name, "arguments": args, "call_id": call_id, **extra}
    return item if call_id is not None else {k: v for k, v in item.items() if k != "call_id"}


def function_output(call_id: str, output: Any) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": output}


def custom_call(call_id: str, name: str, input: str) -> dict[str, Any]:
    return {"type": "custom_tool_call", "status": "completed", "call_id": call_id, "name": name, "input": input}


def custom_output(call_id: str, output: Any) -> dict[str, Any]:
    return {"type": "custom_tool_call_output", "call_id": call_id, "output": output}


def local_shell_call(call_id: str, command: list[str]) -> dict[str, Any]:
    return {"type": "local_shell_call", "id": "lsc_1", "call_id": call_id, "status": "completed",
            "action": {"type": "exec", "command": command, "timeout_ms": 10000}}


def web_search_call(query: str, status: str = "completed", id: str | None = None) -> dict[str, Any]:
    # 0.125 writes no id here (its web_search_end event carries one); other builds do.
    extra = {} if id is None else {"id": id}
    return {"type": "web_search_call", **extra, "status": status,
            "action": {"type": "search", "query": query, "queries": [query]}}


def user_message(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def environment_context(cwd: str) -> dict[str, Any]:
    return user_message(f"<environment_context>\n  <cwd>{cwd}</cwd>\n  <approval_policy>never"
                        "</approval_policy>\n  <sandbox_mode>workspace-write</sandbox_mode>\n"
                        "</environment_context>")


# -- output texts ---------------------------------------------------------

def unified(output: str = "", *, exit_code: int | None = None, running: int | None = None,
            chunk: str = "a1b2c3", wall: float = 1.0) -> str:
    """An exec_command / write_stdin answer of the unified exec runner."""
    status = (f"Process running with session ID {running}" if running is not None
              else f"Process exited with code {exit_code}")
    return (f"Chunk ID: {chunk}\nWall time: {wall:.4f} seconds\n{status}\n"
            f"Original token count: {len(output) // 4}\nOutput:\n{output}")


def shell_text(output: str, exit_code: int) -> str:
    """A `shell` / `shell_command` answer (0.4x and later)."""
    return f"Exit code: {exit_code}\nWall time: 0.2 seconds\nOutput:\n{output}"


def legacy_output(output: str, exit_code: int) -> str:
    """Legacy shell / apply_patch answer: a JSON document in a string."""
    return json.dumps({"output": output, "metadata": {"exit_code": exit_code, "duration_seconds": 0.3}})


# -- the bare era and the mid-2025 document ---------------------------------

def bare_header(*, id: str = SID, ts: str, **extra: Any) -> dict[str, Any]:
    return {"id": id, "timestamp": ts, "instructions": None,
            "git": {"commit_hash": COMMIT, "branch": "feature/x",
                    "repository_url": "git@github.com:acme/shop.git"}, **extra}


STATE = {"record_type": "state"}


def document(items: list[Any], *, id: str = SID, ts: str) -> dict[str, Any]:
    return {"session": {"timestamp": ts, "id": id, "instructions": ""}, "items": items}


# -- codex exec --json -------------------------------------------------------

def thread_started(thread_id: str = SID) -> dict[str, Any]:
    return {"type": "thread.started", "thread_id": thread_id}


def turn_completed(inp: int, cached: int, out: int) -> dict[str, Any]:
    return {"type": "turn.completed", "usage": {"input_tokens": inp, "cached_input_tokens": cached,
                                                "output_tokens": out}}


def item(phase: str, item_id: str | None, type: str, **fields: Any) -> dict[str, Any]:
    body = {"type": type, **fields} if item_id is None else {"id": item_id, "type": type, **fields}
    return {"type": f"item.{phase}", "item": body}


def command(phase: str, item_id: str | None, cmd: str, *, output: str = "", exit_code: int | None = None,
            status: str = "completed") -> dict[str, Any]:
    fields: dict[str, Any] = {"command": cmd, "aggregated_output": output, "status": status}
    if exit_code is not None:
        fields["exit_code"] = exit_code
    return item(phase, item_id, "command_execution", **fields)
