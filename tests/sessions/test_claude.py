from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

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
    env: dict[str, Any] = {"sidechain": True, "agent_id": "a1b2c3d"}
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


PERSISTED = ("<persisted-output>\nOutput too large (48.2KB). Full output saved to: {pointer}\n\n"
             "Preview (first 2KB):\nline 1\n</persisted-output>")
SAVED_AS = f"/home/runner/.claude/projects/-home-runner-work-shop-shop/{SID}/tool-results/toolu_1.txt"
BIG = "A" * 3072 + "m" * 45904 + "Z" * 1024
WIDE = "é" * 30000 + "z"  # 60001 bytes: the tail is read from inside a character


def _save(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "toolu_1.txt").write_text(text)
    return folder / "toolu_1.txt"


def _fifo(folder: Path) -> None:
    folder.mkdir(parents=True)
    os.mkfifo(folder / "toolu_1.txt")  # no writer: opening it blocking would hang


def _link_out(folder: Path) -> None:
    secret = _save(folder.parent.parent / "elsewhere", "secret")
    folder.mkdir(parents=True)
    (folder / "toolu_1.txt").symlink_to(secret)


@pytest.mark.parametrize(("transcript", "setup", "pointer", "output", "size"), [
    pytest.param(f"{SID}.jsonl", lambda d: _save(d / SID / "tool-results", BIG), SAVED_AS,
                 "A" * 3072 + "\n[… 45904 characters omitted …]\n" + "Z" * 1024, 50_000, id="beside-the-transcript"),
    pytest.param(f"{SID}.jsonl", lambda d: _save(d / SID / "tool-results", "x" * 5000), SAVED_AS,
                 "x" * 3072 + "\n[… 904 characters omitted …]\n" + "x" * 1024, 5000, id="small-file-read-whole"),
    pytest.param(f"{SID}.jsonl", lambda d: _save(d / SID / "tool-results", WIDE), SAVED_AS,
                 "é" * 3072 + "\n[… 55905 characters omitted …]\n" + "é" * 1023 + "z", 60001,
                 id="multibyte-head-and-tail-size-in-bytes"),
    pytest.param(f"{SID}/subagents/agent-a1.jsonl", lambda d: _save(d / SID / "tool-results", "sub"), SAVED_AS,
                 "sub", 3, id="subagent-uses-the-parent-folder"),
    pytest.param(f"{SID}/subagents/workflows/wf_1/agent-a1.jsonl", lambda d: _save(d / SID / "tool-results", "wf"),
                 SAVED_AS, "wf", 2, id="workflow-subagent"),
    pytest.param(f"{SID}.jsonl", lambda d: _save(d / "outside", "secret"), "{tmp}/outside/toolu_1.txt",
                 None, None, id="absolute-pointer-not-followed"),
    pytest.param(f"{SID}.jsonl", lambda d: None, "/proc/self/environ", None, None, id="proc-environ"),
    pytest.param(f"{SID}.jsonl", lambda d: _save(d / SID / "tool-results", "x"),
                 f"/x/{SID}/tool-results/..", None, None, id="dot-dot-name"),
    pytest.param(f"{SID}.jsonl", lambda d: _link_out(d / SID / "tool-results"), SAVED_AS, None, None,
                 id="symlink-out-of-the-folder"),
    pytest.param(f"{SID}.jsonl", lambda d: _fifo(d / SID / "tool-results"), SAVED_AS, None, None,
                 id="named-pipe-not-waited-on"),
    pytest.param(f"{SID}.jsonl", lambda d: None, SAVED_AS, None, None, id="missing-keeps-preview"),
])
def test_persisted_output(tmp_path: Path, transcript: str, setup, pointer: str,  # type: ignore[no-untyped-def]
                          output: str | None, size: int | None) -> None:
    setup(tmp_path)
    preview = PERSISTED.format(pointer=pointer.format(tmp=tmp_path))
    records = [
        *assistant_lines("msg_1", [tool_use("toolu_1", "Bash", command="cat big.log")], ts="2026-03-01T10:00:00Z"),
        user_line([tool_result("toolu_1", preview)], ts="2026-03-01T10:00:01Z"),
    ]
    (call,) = _one(write_jsonl(tmp_path / transcript, records)).tool_calls
    # Not found, or not allowed: the preview the transcript holds.
    assert (call.output, call.output_size) == ((preview, len(preview)) if output is None else (output, size))


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
        Skip(str(path), 21, "invalid JSON: cut off (no end of line)"),
    )


def test_stream_with_several_runs_gives_a_session_per_init(tmp_path: Path) -> None:
    records = [
        stream_init("run-a"),
        stream_assistant("msg_1", [tool_use("toolu_1", "Bash", command="make")], u=usage(1, 1), session_id="run-a"),
        stream_user([tool_result("toolu_1", "Exit code 2\nmake: *** No rule", is_error=True)], session_id="run-a"),
        stream_result(usage(10, 20, 300, 4), session_id="run-a"),
        stream_init("run-b", cwd="/other"),
        stream_assistant("msg_2", [tool_use("toolu_2", "Read", file_path="a")], u=usage(2, 2), session_id="run-b"),
        stream_user([tool_result("toolu_2", "text")], session_id="run-b"),
        stream_result(usage(50, 60, 700, 8), session_id="run-b"),
    ]
    a, b = read_paths([write_jsonl(tmp_path / "ci.ndjson", records)]).sessions
    assert [(s.session_id, s.cwd, s.model, [(c.name, c.is_error, c.exit_code) for c in s.tool_calls], s.usage)
            for s in (a, b)] == [
        ("run-a", "/home/runner/work/shop/shop", "claude-sonnet-4-5", [("Bash", True, 2)], Usage(10, 20, 300, 4)),
        ("run-b", "/other", "claude-sonnet-4-5", [("Read", False, None)], Usage(50, 60, 700, 8)),
    ]


@pytest.mark.parametrize(("name", "text", "exit_code", "category"), [
    pytest.param("Bash", "Exit code 1\nModuleNotFoundError: x", 1, "module_not_found", id="shell"),
    pytest.param("Bash", "Error: boom\nExit code 3", None, "tool_error", id="shell-exit-line-not-first"),
    pytest.param("mcp__ci__run", "Exit code 1\nremote says no", None, "tool_error", id="mcp-tool"),
    pytest.param("Read", "Exit code 1 is what the file says", None, "tool_error", id="read-tool"),
])
def test_exit_code_only_from_a_shell_header(tmp_path: Path, name: str, text: str, exit_code: int | None,
                                             category: str) -> None:
    records = [*assistant_lines("msg_1", [tool_use("toolu_1", name)], ts="2026-03-01T10:00:00Z"),
               user_line([tool_result("toolu_1", text, is_error=True)], ts="2026-03-01T10:00:01Z")]
    (call,) = _one(write_jsonl(tmp_path / f"{SID}.jsonl", records)).tool_calls
    assert (call.is_error, call.exit_code, call.error_category) == (True, exit_code, category)


@pytest.mark.parametrize(("form", "fmt"), [
    pytest.param("jsonl", "claude-jsonl", id="project-transcript-toolUseResult"),
    pytest.param("stream", "claude-stream-json", id="stream-json-tool_use_result"),
    pytest.param("array", "claude-messages", id="execution-file-tool_use_result"),
])
def test_bytes_in_fields_never_read_are_not_validated(tmp_path: Path, form: str, fmt: str) -> None:
    # DECIDED: invalid UTF-8 inside the copy of a tool output the reader skips does not lose the line.
    bad = b'"\xff\xfe not UTF-8"'
    if form == "jsonl":
        lines = [json.dumps(r).encode() for r in _main_transcript()]
        lines[4] = lines[4][:-1] + b', "toolUseResult": ' + bad + b"}"
        data = b"\n".join(lines) + b"\n"
    else:
        events = [json.dumps(e).encode() for e in _stream()]
        events[2] = events[2].replace(b'"tool_use_result": {"stdout": "", "stderr": ""}', b'"tool_use_result": ' + bad)
        assert bad in events[2]
        data = b"\n".join(events) + b"\n" if form == "stream" else b"[\n" + b",\n".join(events) + b"\n]\n"
    path = tmp_path / "t.json"
    path.write_bytes(data)
    s = _one(path)
    assert (s.format, len(s.tool_calls), s.errors) == (fmt, 5 if form == "jsonl" else 3, 2 if form == "jsonl" else 1)


@pytest.mark.parametrize(("start", "end", "duration"), [
    pytest.param("0001-01-01T00:00:00", "0001-01-01T00:00:01", 1000, id="year-1-without-zone"),
    pytest.param("2026-03-01T10:00:00", "2026-03-01T10:00:00.500Z", 500, id="without-and-with-zone"),
    pytest.param("yesterday", "2026-03-01T10:00:00Z", None, id="not-a-time"),
])
def test_timestamps_without_a_zone_are_utc(tmp_path: Path, start: str, end: str, duration: int | None) -> None:
    records = [*assistant_lines("msg_1", [tool_use("toolu_1", "Bash", command="ls")], ts=start),
               user_line([tool_result("toolu_1", "a")], ts=end)]
    (call,) = _one(write_jsonl(tmp_path / f"{SID}.jsonl", records)).tool_calls
    assert (call.timestamp, call.duration_ms) == (start, duration)
