from __future__ import annotations

import json
from pathlib import Path

import pytest

from headroom_ci.sessions.load import read_paths
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.model import Skip
from headroom_ci.sessions.model import Usage
from testing.claude_fixtures import assistant_lines
from testing.claude_fixtures import envelope
from testing.claude_fixtures import SID
from testing.claude_fixtures import stream_assistant
from testing.claude_fixtures import stream_init
from testing.claude_fixtures import stream_result
from testing.claude_fixtures import stream_user
from testing.claude_fixtures import tool_result
from testing.claude_fixtures import tool_use
from testing.claude_fixtures import usage
from testing.claude_fixtures import user_line
from testing.claude_fixtures import write_jsonl


def _one(path: Path) -> Session:
    result = read_paths([path])
    assert result.skipped == ()
    (session,) = result.sessions
    return session


def _main_transcript() -> list[dict[str, object]]:
    return [
        {"type": "file-history-snapshot", "messageId": "m0", "snapshot": {}, "isSnapshotUpdate": False},
        envelope("progress", ts="2026-03-01T10:00:00.000Z", data={"type": "hook_progress"}),
        user_line("run the tests", ts="2026-03-01T10:00:01.000Z"),
        # One response, three content blocks, three lines with the same usage.
        *assistant_lines("msg_1", [
            {"type": "thinking", "thinking": "", "signature": "x"},
            tool_use("toolu_1", "Bash", command="python3 -m pytest"),
            tool_use("toolu_2", "Read", file_path="/home/runner/work/shop/shop/src/app.py"),
        ], ts="2026-03-01T10:00:02.000Z", u=usage(10, 50, 1000, 200)),
        user_line([tool_result("toolu_1", "Exit code 1\nModuleNotFoundError: No module named 'fastapi'",
                               is_error=True)],
                  ts="2026-03-01T10:00:04.500Z", tool_use_result="Error: Exit code 1"),
        # List-valued content: text blocks are joined, images ignored.
        user_line([tool_result("toolu_2", [{"type": "text", "text": "     1→import os"},
                                           {"type": "image", "source": {"type": "base64", "data": "AAAA"}},
                                           {"type": "text", "text": "     2→"}])],
                  ts="2026-03-01T10:00:05.000Z"),
        *assistant_lines("msg_2", [tool_use("toolu_3", "Task", prompt="find tests", subagent_type="Explore"),
                                   tool_use("toolu_4", "Agent", prompt="review")],
                         ts="2026-03-01T10:00:06.000Z", u=usage(5, 20, 2000, 0)),
        user_line([tool_result("toolu_3", "found 3"), tool_result("toolu_4", "ok", is_error=False)],
                  ts="2026-03-01T10:00:09.000Z"),
        *assistant_lines("msg_3", [tool_use("toolu_5", "Bash", command="rm -rf build")],
                         ts="2026-03-01T10:00:10.000Z", u=usage(1, 2, 0, 0)),
        user_line([tool_result("toolu_5", "The user doesn't want to proceed with this tool use. "
                                          "The tool use was rejected.", is_error=True)],
                  ts="2026-03-01T10:00:11.000Z", tool_use_result="User rejected tool use"),
        user_line([{"type": "text", "text": "[Request interrupted by user for tool use]"}],
                  ts="2026-03-01T10:00:11.100Z"),
        {"type": "system", "subtype": "turn_duration", "durationMs": 11000, "sessionId": SID},
        {"type": "ai-title", "title": "tests", "sessionId": SID},
    ]


def test_project_transcript(tmp_path: Path) -> None:
    s = _one(write_jsonl(tmp_path / f"{SID}.jsonl", _main_transcript()))
    assert (s.agent, s.format, s.session_id, s.subagent, s.parent_id) == ("claude", "claude-jsonl", SID, False, None)
    assert (s.cwd, s.git_branch, s.model) == ("/home/runner/work/shop/shop", "main", "claude-sonnet-4-5")
    assert (s.started_at, s.ended_at) == ("2026-03-01T10:00:00.000Z", "2026-03-01T10:00:11.100Z")
    # Usage counted once per message id, not once per line (3 + 2 + 1 lines).
    assert s.usage == Usage(input=16, output=72, cache_read=3000, cache_creation=200)
    rows = [(c.index, c.name, c.kind, c.is_error, c.exit_code, c.error_category, c.duration_ms)
            for c in s.tool_calls]
    assert rows == [
        (0, "Bash", "shell", True, 1, "module_not_found", 2500),
        (1, "Read", "read", False, None, None, 3000),
        (2, "Task", "agent", False, None, None, 3000),
        (3, "Agent", "agent", False, None, None, 3000),
        (4, "Bash", "shell", True, None, "user_rejected", 1000),
    ]
    assert s.tool_calls[1].output == "     1→import os\n     2→"
    assert s.tool_calls[0].input == {"command": "python3 -m pytest"}


@pytest.mark.parametrize("relpath", [
    pytest.param(f"{SID}/subagents/agent-a1b2c3d.jsonl", id="2.1.x-subagents-folder"),
    pytest.param("agent-a1b2c3d.jsonl", id="2.0.x-top-level"),
])
def test_subagent_transcript(tmp_path: Path, relpath: str) -> None:
    env = {"sidechain": True, "agent_id": "a1b2c3d"}
    records = [
        user_line("Warmup", ts="2026-03-01T10:01:00.000Z", **env),
        *assistant_lines("msg_9", [tool_use("toolu_9", "Glob", pattern="**/*.py")],
                         ts="2026-03-01T10:01:01.000Z", u=usage(7, 8), **env),
        user_line([tool_result("toolu_9", "<tool_use_error>File does not exist.</tool_use_error>",
                               is_error=True)], ts="2026-03-01T10:01:02.000Z", **env),
    ]
    s = _one(write_jsonl(tmp_path / relpath, records))
    assert (s.session_id, s.subagent, s.parent_id) == ("a1b2c3d", True, SID)
    assert [(c.kind, c.error_category) for c in s.tool_calls] == [("glob", "file_not_found")]
    assert s.usage == Usage(7, 8, 0, 0)


PERSISTED = ("<persisted-output>\nOutput too large (48.2KB). Full output saved to: "
             "/home/runner/.claude/projects/-home-runner-work-shop-shop/{sid}/tool-results/toolu_1.txt\n\n"
             "Preview (first 2KB):\nline 1\n</persisted-output>")


@pytest.mark.parametrize("saved, expected_size", [
    pytest.param(True, 50_000, id="followed"),
    pytest.param(False, len(PERSISTED.format(sid=SID)), id="missing-keeps-preview"),
])
def test_persisted_output(tmp_path: Path, saved: bool, expected_size: int) -> None:
    if saved:
        (tmp_path / SID / "tool-results").mkdir(parents=True)
        (tmp_path / SID / "tool-results" / "toolu_1.txt").write_text("x" * 50_000)
    records = [
        *assistant_lines("msg_1", [tool_use("toolu_1", "Bash", command="cat big.log")], ts="2026-03-01T10:00:00Z"),
        user_line([tool_result("toolu_1", PERSISTED.format(sid=SID))], ts="2026-03-01T10:00:01Z"),
    ]
    (call,) = _one(write_jsonl(tmp_path / f"{SID}.jsonl", records)).tool_calls
    assert call.output_size == expected_size
    assert len(call.output) <= 4200


def _stream() -> list[dict[str, object]]:
    return [
        stream_init(),
        stream_assistant("msg_1", [tool_use("toolu_1", "Bash", command="npm test")], u=usage(10, 1)),
        stream_user([tool_result("toolu_1", "Exit code 1\nnpm error Missing script: \"test\"", is_error=True)]),
        # A subagent's messages interleave, tagged with the Task call that started it.
        stream_assistant("msg_2", [tool_use("toolu_2", "Task", prompt="explore")], u=usage(4, 1)),
        stream_assistant("msg_3", [tool_use("toolu_3", "Grep", pattern="def main")],
                         u=usage(2, 1), parent_tool_use_id="toolu_2"),
        stream_user([tool_result("toolu_3", "src/main.py")], parent_tool_use_id="toolu_2"),
        stream_user([tool_result("toolu_2", [{"type": "text", "text": "done"}])]),
        {"type": "rate_limit_event", "rate_limit_info": {"status": "allowed"}, "session_id": SID},
        stream_result(usage(100, 200, 3000, 400)),
    ]


def test_stream_json(tmp_path: Path) -> None:
    s = _one(write_jsonl(tmp_path / "claude-output.ndjson", _stream()))
    assert (s.format, s.session_id, s.cwd, s.model, s.git_branch) == (
        "claude-stream-json", SID, "/home/runner/work/shop/shop", "claude-sonnet-4-5", None)
    assert [(c.name, c.is_error, c.exit_code, c.error_category) for c in s.tool_calls] == [
        ("Bash", True, 1, "missing_script"), ("Task", False, None, None), ("Grep", False, None, None)]
    # The result event holds the run's totals; per-message stream usage undercounts output.
    assert s.usage == Usage(100, 200, 3000, 400)


def test_stream_json_without_result_dedupes_messages(tmp_path: Path) -> None:
    records = _stream()[:-1] + [stream_assistant("msg_3", [{"type": "text", "text": "x"}], u=usage(2, 1))]
    s = _one(write_jsonl(tmp_path / "out.jsonl", records))
    assert s.usage == Usage(16, 3, 0, 0)


@pytest.mark.parametrize("render, fmt, calls", [
    pytest.param(lambda evs: json.dumps(evs, indent=2), "claude-messages", 3, id="execution-file"),
    pytest.param(lambda evs: json.dumps(evs), "claude-messages", 3, id="verbose-json-array"),
    pytest.param(lambda evs: json.dumps(evs[-1], indent=2), "claude-json", 0, id="json-result-pretty"),
    pytest.param(lambda evs: json.dumps(evs[-1]), "claude-json", 0, id="json-result-one-line"),
])
def test_whole_document_forms(tmp_path: Path, render, fmt: str, calls: int) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "claude-execution-output.json"
    path.write_text(render(_stream()))
    s = _one(path)
    assert (s.format, s.session_id, len(s.tool_calls), s.usage) == (fmt, SID, calls, Usage(100, 200, 3000, 400))


def test_bad_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    good = _main_transcript()
    path = tmp_path / f"{SID}.jsonl"
    with open(path, "wb") as fh:
        for i, rec in enumerate(good):
            fh.write(json.dumps(rec).encode() + b"\n")
            if i == 3:
                fh.write(b'{"type": "assistant", "message": "not an object", "sessionId": "x"}\n')
                fh.write(b'{"type": "user", "message": {"content": "\xff\xfe"}}\n')
                fh.write(b"[1, 2, 3]\n")
                fh.write(b'{"type": "user", "message": {"content": [null, 5, {"type": "tool_result"}]}}\n')
        fh.write(b'{"type": "assistant", "message": {"content": [{"type": "tool_u')  # crash mid-line
    result = read_paths([path])
    (s,) = result.sessions
    assert len(s.tool_calls) == 5
    assert result.skipped == (
        Skip(str(path), 5, "assistant line without a message object"),
        Skip(str(path), 6, "invalid JSON: invalid UTF-8"),
        Skip(str(path), 7, "expected a JSON object"),
        Skip(str(path), 21, "invalid JSON: Input data was truncated"),
    )
