from __future__ import annotations

from typing import Any

import pytest

from headroom_ci.sessions.detect import sniff_document
from headroom_ci.sessions.detect import sniff_record


@pytest.mark.parametrize("record, fmt", [
    pytest.param({"parentUuid": None, "sessionId": "s", "type": "user", "uuid": "u"}, "claude-jsonl", id="claude-user"),
    pytest.param({"type": "summary", "summary": "x", "leafUuid": "u"}, "claude-jsonl", id="claude-summary"),
    pytest.param({"type": "file-history-snapshot", "messageId": "m"}, "claude-jsonl", id="claude-snapshot"),
    pytest.param({"type": "system", "subtype": "init", "session_id": "s", "cwd": "/r"}, "claude-stream-json", id="claude-stream-init"),
    pytest.param({"type": "result", "subtype": "success", "session_id": "s"}, "claude-stream-json", id="claude-stream-result"),
    pytest.param({"timestamp": "t", "type": "session_meta", "payload": {}}, "codex-rollout", id="codex-rollout"),
    pytest.param({"id": "x", "timestamp": "t", "instructions": "", "git": {}}, "codex-rollout-bare", id="codex-bare-head"),
    pytest.param({"record_type": "state"}, "codex-rollout-bare", id="codex-bare-state"),
    pytest.param({"type": "function_call", "name": "shell", "call_id": "c"}, "codex-rollout-bare", id="codex-bare-item"),
    pytest.param({"type": "thread.started", "thread_id": "t"}, "codex-exec-json", id="codex-exec"),
    pytest.param({"type": "item.completed", "item": {}}, "codex-exec-json", id="codex-exec-item"),
    pytest.param({"sessionId": "s", "projectHash": "h", "startTime": "t"}, "gemini-chat-jsonl", id="gemini-jsonl-meta"),
    pytest.param({"sessionId": "s", "projectHash": "h", "messages": []}, "gemini-chat-json", id="gemini-legacy-one-line"),
    pytest.param({"$set": {"summary": "x"}}, "gemini-chat-jsonl", id="gemini-set"),
    pytest.param({"type": "init", "timestamp": "t", "session_id": "s", "model": "g"}, "gemini-stream-json", id="gemini-stream-init"),
    pytest.param({"type": "result", "timestamp": "t", "status": "success", "stats": {}}, "gemini-stream-json", id="gemini-stream-result"),
    pytest.param({"type": "tool_use", "timestamp": 1, "sessionID": "ses_1", "part": {}}, "opencode-run-json", id="opencode-run"),
    pytest.param({"type": "weird"}, None, id="unknown"),
    pytest.param({"sessionId": "s", "messageId": 0, "type": "user", "message": "hi"}, None, id="gemini-logs-entry"),
    pytest.param({"id": "m1", "timestamp": "t", "type": "error", "content": "quota"}, "gemini-chat-jsonl",
                 id="gemini-chat-error-message-without-metadata-line"),
    pytest.param({"type": "error", "timestamp": "t", "severity": "error", "message": "quota"}, "gemini-stream-json",
                 id="gemini-stream-error-event"),
    pytest.param({"id": "m1", "timestamp": "t", "type": "error", "session_id": "s"}, "gemini-stream-json",
                 id="with-session_id-not-a-chat-message"),
    pytest.param({"type": ["x"]}, None, id="list-type"),
    pytest.param({"type": {"a": 1}, "payload": {}}, None, id="object-type"),
])
def test_sniff_record(record: dict[str, Any], fmt: str | None) -> None:
    assert sniff_record(record) == fmt


@pytest.mark.parametrize("doc, fmt", [
    pytest.param([{"type": "system", "subtype": "init"}, {"type": "result"}], "claude-messages", id="claude-array"),
    pytest.param({"type": "result", "subtype": "success", "usage": {}}, "claude-json", id="claude-result"),
    pytest.param({"type": "assistant", "message": {"content": []}, "session_id": "s"}, "claude-messages",
                 id="claude-one-event"),
    pytest.param({"session": {"id": "x"}, "items": []}, "codex-rollout-json", id="codex-mid-2025"),
    pytest.param({"sessionId": "s", "messages": []}, "gemini-chat-json", id="gemini-legacy"),
    pytest.param({"response": "ok", "stats": {"models": {}}}, "gemini-json", id="gemini-headless"),
    pytest.param([{"sessionId": "s", "messageId": 0, "type": "user", "message": "hi"}], None, id="gemini-logs"),
    pytest.param({"name": "pkg", "version": "1.0.0"}, None, id="package-json"),
    pytest.param([1, 2], None, id="numbers"),
    pytest.param("text", None, id="string"),
    pytest.param([{"type": ["x"]}], None, id="list-type"),
    pytest.param([{"type": {"a": 1}}, {"type": "result"}], "claude-messages", id="object-type-then-claude"),
    pytest.param({"type": ["result"], "usage": {}}, None, id="list-type-object"),
])
def test_sniff_document(doc: Any, fmt: str | None) -> None:
    assert sniff_document(doc) == fmt
