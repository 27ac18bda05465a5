"""Gemini CLI recordings and headless output in the real formats, built from code for tests."""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

SID = "5b959dae-8655-4cd1-b10f-720b8c336ea2"
PARENT_SID = "9d0c1f4e-2a7b-4e55-8c3d-6b1a0f9e7d21"
PROJECT_HASH = "fb8e242a6fbbb5c48a1d0be57a8a4cc934d33e0a1caf73ab5d4ecaa17269960c"
MODEL = "gemini-2.5-pro"


def meta(session_id: str = SID, *, start: str = "2026-01-16T11:01:22.281Z",
         updated: str = "2026-01-16T11:01:22.281Z", **extra: Any) -> dict[str, Any]:
    """Line 1 of a `.jsonl` chat (no `type`); `kind`, `directories`, `summary` go in extra."""
    return {"sessionId": session_id, "projectHash": PROJECT_HASH, "startTime": start,
            "lastUpdated": updated, **extra}


def user(msg_id: str, text: str, *, ts: str) -> dict[str, Any]:
    return {"id": msg_id, "timestamp": ts, "type": "user", "content": [{"text": text}]}


def info(msg_id: str, text: str, *, ts: str, type: str = "info") -> dict[str, Any]:
    return {"id": msg_id, "timestamp": ts, "type": type, "content": text}


def tokens(input: int, output: int, *, cached: int = 0, thoughts: int = 0, tool: int = 0) -> dict[str, int]:
    # As recorded from usageMetadata: `input` (promptTokenCount) already includes `cached`.
    return {"input": input, "output": output, "cached": cached, "thoughts": thoughts, "tool": tool,
            "total": input + output + thoughts + tool}


def gemini(msg_id: str, *, ts: str, calls: Iterable[dict[str, Any]] = (), toks: dict[str, int] | None = None,
           model: str = MODEL, content: str = "") -> dict[str, Any]:
    msg: dict[str, Any] = {"id": msg_id, "timestamp": ts, "type": "gemini", "content": content,
                           "thoughts": [{"subject": "Planning", "description": "…", "timestamp": ts}],
                           "model": model}
    calls = list(calls)
    if calls:
        msg["toolCalls"] = calls
    if toks is not None:
        msg["tokens"] = toks
    return msg


def call(call_id: str, name: str, args: dict[str, Any], *, ts: str, status: str = "success",
         output: str | None = None, error: str | None = None, display: Any = None) -> dict[str, Any]:
    """A toolCalls entry carrying its result, as ChatRecordingService writes it."""
    response: dict[str, Any] = {}
    if output is not None:
        response["output"] = output
    if error is not None:
        response["error"] = error
    rec: dict[str, Any] = {
        "id": call_id, "name": name, "args": args,
        "result": [{"functionResponse": {"id": call_id, "name": name, "response": response}}],
        "status": status, "timestamp": ts, "displayName": name, "description": "",
        "renderOutputAsMarkdown": name != "run_shell_command"}
    if display is not None:
        rec["resultDisplay"] = display
    return rec


def shell_output(output: str, *, exit_code: int | None = None, pgid: int = 4242) -> str:
    """run_shell_command's text for the model: the exit line follows the command's output."""
    lines = [f"Output: {output or '(empty)'}"]
    if exit_code:
        lines.append(f"Exit Code: {exit_code}")
    lines.append(f"Process Group PGID: {pgid}")
    return "\n".join(lines)


def cancelled(reason: str) -> str:
    return f"[Operation Cancelled] Reason: {reason}"


def set_(**fields: Any) -> dict[str, Any]:
    return {"$set": fields}


def rewind(msg_id: str) -> dict[str, Any]:
    return {"$rewindTo": msg_id}


def legacy(messages: list[dict[str, Any]], session_id: str = SID, **extra: Any) -> dict[str, Any]:
    """A legacy `.json` ConversationRecord."""
    return {**meta(session_id, updated=messages[-1]["timestamp"] if messages else "2026-01-16T11:01:22.281Z"),
            "messages": messages, **extra}


def prompt_log() -> list[dict[str, Any]]:
    """`logs.json` beside the chats: a prompt log, not a transcript."""
    return [{"sessionId": SID, "messageId": i, "type": "user", "message": text,
             "timestamp": f"2026-01-16T11:0{i}:00.000Z"} for i, text in enumerate(["hi", "fix the build"])]


# --- headless -------------------------------------------------------------------------

def stream_init(session_id: str = SID, *, ts: str, model: str = MODEL) -> dict[str, Any]:
    return {"type": "init", "timestamp": ts, "session_id": session_id, "model": model}


def stream_message(text: str, *, ts: str, role: str = "assistant") -> dict[str, Any]:
    return {"type": "message", "timestamp": ts, "role": role, "content": text, "delta": True}


def stream_tool_use(tool_id: str, name: str, params: dict[str, Any], *, ts: str) -> dict[str, Any]:
    return {"type": "tool_use", "timestamp": ts, "tool_name": name, "tool_id": tool_id, "parameters": params}


def stream_tool_result(tool_id: str, *, ts: str, output: str | None = None,
                       error: str | None = None, error_type: str = "TOOL_EXECUTION_ERROR") -> dict[str, Any]:
    ev: dict[str, Any] = {"type": "tool_result", "timestamp": ts, "tool_id": tool_id,
                          "status": "error" if error is not None else "success"}
    if output is not None:
        ev["output"] = output
    if error is not None:
        ev["error"] = {"type": error_type, "message": error}
    return ev


def stream_result(*, ts: str, prompt: int, cached: int, output: int, thoughts: int = 0,
                  calls: int = 0, status: str = "success") -> dict[str, Any]:
    stats = {"total_tokens": prompt + output + thoughts, "input_tokens": prompt, "output_tokens": output,
             "cached": cached, "input": prompt - cached, "duration_ms": 5400, "tool_calls": calls}
    return {"type": "result", "timestamp": ts, "status": status, "stats": stats}


def model_stats(*, prompt: int, candidates: int, cached: int = 0, thoughts: int = 0, tool: int = 0,
                requests: int = 1) -> dict[str, Any]:
    return {"api": {"totalRequests": requests, "totalErrors": 0, "totalLatencyMs": 1200},
            "tokens": {"input": prompt - cached, "prompt": prompt, "candidates": candidates,
                       "total": prompt + candidates + thoughts + tool, "cached": cached,
                       "thoughts": thoughts, "tool": tool}}


def headless(models: dict[str, Any], *, session_id: str | None = SID, calls: int = 0,
             failed: int = 0, error: dict[str, Any] | None = None) -> dict[str, Any]:
    """`gemini -p --output-format json`."""
    doc: dict[str, Any] = {"response": "Done.", "stats": {
        "models": models,
        "tools": {"totalCalls": calls, "totalSuccess": calls - failed, "totalFail": failed,
                  "totalDurationMs": 800, "totalDecisions": {"accept": 0, "reject": 0, "modify": 0,
                                                             "auto_accept": calls},
                  "byName": {}},
        "files": {"totalLinesAdded": 0, "totalLinesRemoved": 0}}}
    if session_id is not None:
        doc["session_id"] = session_id
    if error is not None:
        doc["error"] = error
    return doc


def jsonl(records: Iterable[Any]) -> bytes:
    return b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in records)
