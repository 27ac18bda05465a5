"""Claude Code transcripts in the real formats, built from code for tests and benchmarks."""
from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SID = "3f1c2a9e-5b7d-4c1e-9a2b-0d6e8f7a1b2c"
CWD = "/home/runner/work/shop/shop"


def envelope(type: str, *, ts: str, session_id: str = SID, cwd: str = CWD, branch: str = "main",
             sidechain: bool = False, agent_id: str | None = None, **fields: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "parentUuid": None, "isSidechain": sidechain, "userType": "external", "cwd": cwd,
        "sessionId": session_id, "version": "2.1.39", "gitBranch": branch,
    }
    if agent_id is not None:
        rec["agentId"] = agent_id
    rec.update(type=type, uuid=f"u-{ts}", timestamp=ts, **fields)
    return rec


def usage(inp: int = 3, out: int = 10, cache_read: int = 0, cache_creation: int = 0) -> dict[str, Any]:
    return {"input_tokens": inp, "cache_creation_input_tokens": cache_creation,
            "cache_read_input_tokens": cache_read, "output_tokens": out,
            "service_tier": "standard"}


def tool_use(call_id: str, name: str, **input: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": name, "input": input}


def tool_result(call_id: str, content: Any, *, is_error: bool | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"tool_use_id": call_id, "type": "tool_result", "content": content}
    if is_error is not None:
        block["is_error"] = is_error
    return block


def assistant_lines(msg_id: str, blocks: list[dict[str, Any]], *, ts: str,
                    u: dict[str, Any] | None = None, model: str = "claude-sonnet-4-5",
                    **env: Any) -> list[dict[str, Any]]:
    """One API response, written as Claude Code does: a line per content block, usage repeated."""
    return [
        envelope("assistant", ts=ts, requestId=f"req_{msg_id}", message={
            "model": model, "id": msg_id, "type": "message", "role": "assistant",
            "content": [block], "stop_reason": None, "usage": u or usage()}, **env)
        for block in blocks
    ]


def user_line(blocks: list[dict[str, Any]] | str, *, ts: str, tool_use_result: Any = None,
              **env: Any) -> dict[str, Any]:
    extra = {} if tool_use_result is None else {"toolUseResult": tool_use_result}
    return envelope("user", ts=ts, message={"role": "user", "content": blocks}, **extra, **env)


def stream_init(session_id: str = SID, cwd: str = CWD, model: str = "claude-sonnet-4-5") -> dict[str, Any]:
    return {"type": "system", "subtype": "init", "cwd": cwd, "session_id": session_id,
            "tools": ["Bash", "Read"], "mcp_servers": [], "model": model,
            "permissionMode": "acceptEdits", "claude_code_version": "2.1.39"}


def stream_assistant(msg_id: str, blocks: list[dict[str, Any]], *, u: dict[str, Any] | None = None,
                     parent_tool_use_id: str | None = None, session_id: str = SID) -> dict[str, Any]:
    return {"type": "assistant", "message": {
        "model": "claude-sonnet-4-5", "id": msg_id, "type": "message", "role": "assistant",
        "content": blocks, "usage": u or usage()},
        "parent_tool_use_id": parent_tool_use_id, "session_id": session_id}


def stream_user(blocks: list[dict[str, Any]], *, parent_tool_use_id: str | None = None,
                session_id: str = SID) -> dict[str, Any]:
    return {"type": "user", "message": {"role": "user", "content": blocks},
            "parent_tool_use_id": parent_tool_use_id, "session_id": session_id,
            "tool_use_result": {"stdout": "", "stderr": ""}}


def stream_result(u: dict[str, Any], *, is_error: bool = False, subtype: str = "success",
                  session_id: str = SID) -> dict[str, Any]:
    return {"type": "result", "subtype": subtype, "is_error": is_error, "duration_ms": 1200,
            "num_turns": 3, "result": "done", "session_id": session_id,
            "total_cost_usd": 0.01, "usage": u}


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, separators=(",", ":")) + "\n")
    return path
