"""Which format a transcript is, from its content (never its name)."""
from __future__ import annotations

from typing import Any

from headroom_ci.sessions.normalized import HEADER as NORMALIZED

CLAUDE_LINE_TYPES = frozenset({
    "user", "assistant", "system", "summary", "file-history-snapshot", "queue-operation",
    "progress", "custom-title", "last-prompt", "agent-name", "pr-link", "attachment",
    "permission-mode", "ai-title", "worktree-state",
})
CLAUDE_STREAM_TYPES = frozenset({
    "system", "assistant", "user", "result", "stream_event", "rate_limit_event",
})
CODEX_ROLLOUT_TYPES = frozenset({
    "session_meta", "response_item", "turn_context", "event_msg", "compacted",
    "world_state", "inter_agent_communication",
})
CODEX_BARE_ITEM_TYPES = frozenset({
    "message", "reasoning", "function_call", "function_call_output", "local_shell_call",
    "custom_tool_call", "custom_tool_call_output", "web_search_call",
})
GEMINI_STREAM_TYPES = frozenset({"init", "message", "tool_use", "tool_result", "error", "result"})
GEMINI_MESSAGE_TYPES = frozenset({"user", "gemini", "info", "error", "warning"})

# Formats whose file is one JSON document rather than a record per line.
DOCUMENT_FORMATS = frozenset({
    "claude-json", "claude-messages", "codex-rollout-json", "gemini-chat-json", "gemini-json",
})


def sniff_record(obj: dict[str, Any]) -> str | None:
    """The format of a line-based transcript, from one of its first records."""
    t = obj.get("type")
    if not isinstance(t, str):
        t = None
    if t == NORMALIZED:  # the header on line 1 of a collect bundle's session file
        return NORMALIZED
    if "payload" in obj and t in CODEX_ROLLOUT_TYPES or t and t.startswith("inter_agent_communication"):
        return "codex-rollout"
    if obj.get("record_type") == "state":
        return "codex-rollout-bare"
    if t is None and "instructions" in obj and "id" in obj:
        return "codex-rollout-bare"
    if t is not None and t.startswith(("thread.", "turn.", "item.")):
        return "codex-exec-json"
    if "sessionID" in obj and "part" in obj:
        return "opencode-run-json"
    if "sessionId" in obj and t is None and ("projectHash" in obj or "startTime" in obj):
        return "gemini-chat-json" if isinstance(obj.get("messages"), list) else "gemini-chat-jsonl"
    if "$set" in obj or "$rewindTo" in obj:
        return "gemini-chat-jsonl"
    if "sessionId" in obj and ("parentUuid" in obj or "uuid" in obj) and t in CLAUDE_LINE_TYPES:
        return "claude-jsonl"
    if t in ("summary", "file-history-snapshot", "queue-operation") and "session_id" not in obj:
        return "claude-jsonl"
    if t == "result" and "stats" in obj:
        return "gemini-stream-json"
    if t in CLAUDE_STREAM_TYPES and (
            "session_id" in obj or "subtype" in obj or isinstance(obj.get("message"), dict)):
        return "claude-stream-json"
    # A chat message (e.g. type "error") of a .jsonl whose metadata line is missing:
    # stream-json events carry no message id, and their init carries session_id.
    if "id" in obj and t in GEMINI_MESSAGE_TYPES and "timestamp" in obj and "session_id" not in obj:
        return "gemini-chat-jsonl"
    if t in GEMINI_STREAM_TYPES and "timestamp" in obj:
        return "gemini-stream-json"
    if t in CODEX_BARE_ITEM_TYPES and "payload" not in obj:
        return "codex-rollout-bare"
    return None


def is_claude_event(t: object, *, has_message_id: bool) -> bool:
    """An element of a Claude messages array (Gemini's logs.json entries carry messageId)."""
    return isinstance(t, str) and t in CLAUDE_STREAM_TYPES and not has_message_id


def sniff_document(doc: Any) -> str | None:
    """The format of a transcript that is one JSON document."""
    if isinstance(doc, list):
        firsts = [x for x in doc[:5] if isinstance(x, dict)]
        if any(is_claude_event(x.get("type"), has_message_id="messageId" in x) for x in firsts):
            return "claude-messages"
        return None
    if not isinstance(doc, dict):
        return None
    if isinstance(doc.get("session"), dict) and isinstance(doc.get("items"), list):
        return "codex-rollout-json"
    if "sessionId" in doc and isinstance(doc.get("messages"), list):
        return "gemini-chat-json"
    if doc.get("type") == "result" and ("session_id" in doc or "subtype" in doc or "usage" in doc):
        return "claude-json"
    if "response" in doc and ("stats" in doc or "session_id" in doc) or (
            isinstance(doc.get("stats"), dict) and "models" in doc["stats"]):
        return "gemini-json"
    if sniff_record(doc) == "claude-stream-json":
        return "claude-messages"  # one stream-json event, pretty-printed
    return None
