from __future__ import annotations

import io
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headroom_ci.sessions import gemini
from headroom_ci.sessions.detect import sniff_document
from headroom_ci.sessions.model import Clip
from headroom_ci.sessions.detect import sniff_record
from headroom_ci.sessions.jsonl import decode_lines
from headroom_ci.sessions.jsonl import iter_lines
from headroom_ci.sessions.load import read_paths
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.model import Skip
from headroom_ci.sessions.model import Usage
from testing.gemini_fixtures import call
from testing.gemini_fixtures import cancelled
from testing.gemini_fixtures import gemini as gmsg
from testing.gemini_fixtures import headless
from testing.gemini_fixtures import info
from testing.gemini_fixtures import jsonl
from testing.gemini_fixtures import legacy
from testing.gemini_fixtures import meta
from testing.gemini_fixtures import model_stats
from testing.gemini_fixtures import PARENT_SID
from testing.gemini_fixtures import prompt_log
from testing.gemini_fixtures import rewind
from testing.gemini_fixtures import set_
from testing.gemini_fixtures import shell_output
from testing.gemini_fixtures import SID
from testing.gemini_fixtures import stream_init
from testing.gemini_fixtures import stream_message
from testing.gemini_fixtures import stream_result
from testing.gemini_fixtures import stream_tool_result
from testing.gemini_fixtures import stream_tool_use
from testing.gemini_fixtures import tokens
from testing.gemini_fixtures import user

TS = "2026-01-16T11:02:00.000Z"
Skips = list[tuple[int | None, str]]


def _no_resolve(pointer: str) -> Clip | None:
    return None


def _lines(data: bytes, skips: Skips) -> Any:
    def skip(line: int | None, reason: str) -> None:
        skips.append((line, reason))
    return decode_lines(iter_lines(io.BytesIO(data)), skip=skip)


def _chat(records: list[Any], skips: Skips | None = None) -> list[Session]:
    got: Skips = [] if skips is None else skips
    return gemini.read_chat(_lines(jsonl(records), got), path="chat.jsonl",
                            skip=lambda line, reason: got.append((line, reason)), resolve=_no_resolve)


def _doc(doc: Any, skips: Skips | None = None) -> list[Session]:
    got: Skips = [] if skips is None else skips
    return gemini.read_chat_document(doc, format="gemini-chat-json", path="chat.json",
                                     skip=lambda line, reason: got.append((line, reason)), resolve=_no_resolve)


def _stream(records: list[Any], skips: Skips | None = None) -> list[Session]:
    got: Skips = [] if skips is None else skips
    return gemini.read_stream(_lines(jsonl(records), got), path="out.jsonl",
                              skip=lambda line, reason: got.append((line, reason)), resolve=_no_resolve)


def _row(c: Any) -> tuple[Any, ...]:
    return (c.name, c.kind, c.is_error, c.exit_code, c.error_category, c.output)


LONG = "\n".join(f"tests/test_app.py::test_{i} PASSED" for i in range(40))


@pytest.mark.parametrize(("record", "expected"), [
    pytest.param(call("read_file-1", "read_file", {"file_path": "a.md"}, ts=TS, output="# Hello"),
                 ("read_file", "read", False, None, None, "# Hello"), id="success"),
    pytest.param(call("grep-1", "search_file_content", {"pattern": "error"}, ts=TS,
                      output="Found 1 match\nL3: raise ValueError('error: bad input')"),
                 ("search_file_content", "search", False, None, None,
                  "Found 1 match\nL3: raise ValueError('error: bad input')"), id="success-mentioning-error"),
    pytest.param(call("sh-0", "run_shell_command", {"command": "ls"}, ts=TS, output=shell_output("a.py")),
                 ("run_shell_command", "shell", False, None, None, "Output: a.py\nProcess Group PGID: 4242"),
                 id="shell-exit-0"),
    pytest.param(call("sh-1", "run_shell_command", {"command": "pytest"}, ts=TS,
                      output=shell_output(LONG + "\nFAILED tests/test_app.py::test_x - AssertionError", exit_code=1)),
                 ("run_shell_command", "shell", True, 1, "test_failure",
                  shell_output(LONG + "\nFAILED tests/test_app.py::test_x - AssertionError", exit_code=1)),
                 id="success-status-with-exit-code-after-long-output"),
    pytest.param(call("sh-2", "run_shell_command", {"command": "cat log"}, ts=TS,
                      output=shell_output("Exit Code: 3\nall good")),
                 ("run_shell_command", "shell", False, None, None,
                  "Output: Exit Code: 3\nall good\nProcess Group PGID: 4242"),
                 id="exit-line-inside-command-output"),
    pytest.param(call("sh-3", "run_shell_command", {"command": "nope"}, ts=TS, status="success",
                      display="Command exited with code: 127") | {"result": []},
                 ("run_shell_command", "shell", True, 127, "command_not_found", "Command exited with code: 127"),
                 id="display-only-exit"),
    pytest.param(call("read_file-2", "read_file", {"file_path": "x.md"}, ts=TS, status="error",
                      error="File not found: /repo/x.md"),
                 ("read_file", "read", True, None, "file_not_found", "File not found: /repo/x.md"), id="error-status"),
    pytest.param(call("write-1", "write_file", {"file_path": "x.md"}, ts=TS, status="cancelled",
                      error=cancelled("User did not allow tool call")),
                 ("write_file", "write", True, None, "user_rejected",
                  "[Operation Cancelled] Reason: User did not allow tool call"), id="cancelled-declined"),
    pytest.param(call("sh-4", "run_shell_command", {"command": "sleep 99"}, ts=TS, status="cancelled",
                      error=cancelled("User cancelled tool execution.")),
                 ("run_shell_command", "shell", True, None, "interrupted",
                  "[Operation Cancelled] Reason: User cancelled tool execution."), id="cancelled-aborted"),
    pytest.param(call("replace-1", "replace", {"file_path": "a.py"}, ts=TS,
                      display={"fileDiff": "--- a.py\n+++ a.py\n@@ -1 +1 @@\n-a\n+b", "fileName": "a.py"})
                 | {"result": None},
                 ("replace", "edit", False, None, None, "--- a.py\n+++ a.py\n@@ -1 +1 @@\n-a\n+b"),
                 id="display-diff-fallback"),
    pytest.param({"id": "x-1", "name": "mcp_github_create_issue", "args": "not an object", "status": "success",
                  "result": [{"functionResponse": {"response": {"content": [{"type": "text", "text": "#12"}]}}}]},
                 ("mcp_github_create_issue", "mcp", False, None, None, "#12"), id="content-blocks"),
])
def test_recorded_tool_call(record: dict[str, Any], expected: tuple[Any, ...]) -> None:
    (s,) = _doc(legacy([user("u1", "go", ts=TS), gmsg("g1", ts=TS, calls=[record])]))
    (c,) = s.tool_calls
    assert _row(c) == expected
    assert c.call_id == record["id"]


def test_legacy_chat_document() -> None:
    doc = legacy([
        user("u1", "fix the build", ts="2026-01-16T11:01:22.281Z"),
        gmsg("g1", ts="2026-01-16T11:01:30.000Z", toks=tokens(4749, 292, thoughts=240),
             calls=[call("read_file-1", "read_file", {"file_path": "a.py"}, ts="2026-01-16T11:01:31.000Z",
                         output="import os")]),
        gmsg("g2", ts="2026-01-16T11:02:00.000Z", toks=tokens(5054, 269, cached=2745, thoughts=1627, tool=10),
             model="gemini-2.5-flash",
             calls=[call("sh-1", "run_shell_command", {"command": "make"}, ts="2026-01-16T11:02:09.000Z",
                         output=shell_output("make: *** No rule to make target 'all'.", exit_code=2))]),
        info("i1", "Request cancelled.", ts="2026-01-16T11:02:10.000Z"),
    ], directories=["/home/runner/work/shop/shop", "/tmp/other"])
    (s,) = _doc(doc)
    assert (s.agent, s.format, s.session_id) == ("gemini", "gemini-chat-json", SID)
    assert (s.subagent, s.parent_id) == (False, None)
    assert (s.cwd, s.git_branch, s.model) == ("/home/runner/work/shop/shop", None, "gemini-2.5-flash")
    assert (s.started_at, s.ended_at) == ("2026-01-16T11:01:22.281Z", "2026-01-16T11:02:10.000Z")
    # input excludes cached (4749 + 5054 - 2745 + tool 10); thoughts count as output.
    assert s.usage == Usage(input=7068, output=2428, cache_read=2745, cache_creation=0)
    assert [(c.index, c.name, c.is_error, c.exit_code, c.error_category, c.timestamp) for c in s.tool_calls] == [
        (0, "read_file", False, None, None, "2026-01-16T11:01:31.000Z"),
        (1, "run_shell_command", True, 2, "missing_script", "2026-01-16T11:02:09.000Z"),
    ]


def test_legacy_document_without_directories_has_no_cwd() -> None:
    (s,) = _doc(legacy([user("u1", "hi", ts=TS)]))
    assert (s.cwd, s.model, s.tool_calls, s.usage) == (None, None, (), Usage())


def _replayed() -> list[Any]:
    executing = call("sh-1", "run_shell_command", {"command": "npm test"}, ts="2026-01-16T11:02:01.000Z",
                     status="executing") | {"result": None}
    failed = call("sh-1", "run_shell_command", {"command": "npm test"}, ts="2026-01-16T11:02:05.000Z",
                  status="error", error="Tool execution failed: npm: command not found")
    toks = tokens(1000, 100, cached=600, thoughts=50)
    return [
        meta(),
        user("u1", "run the tests", ts="2026-01-16T11:02:00.000Z"),
        set_(lastUpdated="2026-01-16T11:02:00.000Z"),
        # The same message re-appended while the call runs, then with its result and tokens.
        gmsg("g1", ts="2026-01-16T11:02:01.000Z", calls=[executing]),
        gmsg("g1", ts="2026-01-16T11:02:01.000Z", calls=[executing], toks=toks),
        gmsg("g1", ts="2026-01-16T11:02:01.000Z", calls=[failed], toks=toks),
        set_(directories=["/work/shop"], summary="ran tests"),
        user("u2", "now lint", ts="2026-01-16T11:03:00.000Z"),
        gmsg("g2", ts="2026-01-16T11:03:01.000Z", toks=tokens(2000, 20),
             calls=[call("sh-2", "run_shell_command", {"command": "ruff ."}, ts="2026-01-16T11:03:02.000Z",
                         output=shell_output("ok"))]),
        # The user rewinds to before "now lint": u2 and g2 are gone.
        rewind("u2"),
        user("u3", "just read", ts="2026-01-16T11:04:00.000Z"),
        gmsg("g3", ts="2026-01-16T11:04:01.000Z", toks=tokens(3000, 30, cached=2000),
             calls=[call("read_file-1", "read_file", {"file_path": "package.json"}, ts="2026-01-16T11:04:02.000Z",
                         output="{}")]),
    ]


def test_jsonl_replay_last_occurrence_set_and_rewind() -> None:
    skips: Skips = []
    (s,) = _chat(_replayed(), skips)
    assert skips == []
    assert (s.format, s.session_id, s.cwd, s.model) == ("gemini-chat-jsonl", SID, "/work/shop", "gemini-2.5-pro")
    assert [(c.call_id, c.is_error, c.error_category, c.output) for c in s.tool_calls] == [
        ("sh-1", True, "command_not_found", "Tool execution failed: npm: command not found"),
        ("read_file-1", False, None, "{}"),
    ]
    # g1 counted once although written three times; g2 rewound away.
    assert s.usage == Usage(input=400 + 1000, output=150 + 30, cache_read=600 + 2000)
    assert (s.started_at, s.ended_at) == ("2026-01-16T11:01:22.281Z", "2026-01-16T11:04:02.000Z")


def test_set_with_messages_replaces_history() -> None:
    g1 = gmsg("g1", ts=TS, toks=tokens(100, 10),
              calls=[call("a-1", "read_file", {"file_path": "a"}, ts=TS, output="a")])
    masked = g1 | {"toolCalls": [call("a-1", "read_file", {}, ts=TS, output="[masked]")]}
    records = [meta(), user("u1", "x", ts=TS), g1, gmsg("g0", ts=TS, toks=tokens(999, 999)),
               set_(messages=[user("u1", "x", ts=TS), masked]),
               gmsg("g2", ts=TS, toks=tokens(200, 20))]
    (s,) = _chat(records)
    assert [c.output for c in s.tool_calls] == ["[masked]"]
    assert s.usage == Usage(input=300, output=30)


@pytest.mark.parametrize(("extra", "expected"), [
    pytest.param({"kind": "subagent", "parentSessionId": PARENT_SID}, (True, PARENT_SID), id="with-parent"),
    pytest.param({"kind": "subagent", "directories": ["/w"]}, (True, None), id="parent-not-recorded"),
    pytest.param({"kind": "main"}, (False, None), id="main"),
])
def test_subagent_identity_from_metadata(extra: dict[str, Any], expected: tuple[bool, str | None]) -> None:
    (s,) = _chat([meta("c0ffee00-0000-4000-8000-000000000001", **extra), user("u1", "x", ts=TS)])
    assert (s.subagent, s.parent_id) == expected
    assert s.session_id == "c0ffee00-0000-4000-8000-000000000001"


def test_rewind_to_unknown_message_clears_like_the_cli() -> None:
    skips: Skips = []
    g1 = gmsg("g1", ts=TS, toks=tokens(10, 1), calls=[call("r-1", "read_file", {}, ts=TS, output="x")])
    (s,) = _chat([meta(), g1, rewind("missing"), gmsg("g2", ts=TS, toks=tokens(20, 2))], skips)
    assert (len(s.tool_calls), s.usage) == (0, Usage(input=20, output=2))
    assert skips == [(3, "$rewindTo names an unknown message: all earlier messages dropped, as Gemini CLI does")]


def test_bad_chat_input_is_skipped_and_reported() -> None:
    data = b"\n".join([
        jsonl([meta()]).strip(),
        b"{not json",
        b"[1, 2]",
        b'{"$set": 5}',
        b'{"$rewindTo": 7}',
        b'{"hello": "world"}',
        jsonl([gmsg("g1", ts=TS) | {"toolCalls": [
            "not a call",
            {"id": 5, "name": None, "args": [], "status": None, "result": "plain text", "timestamp": 7},
            call("ok-1", "read_file", {"file_path": "a"}, ts=TS, output="fine"),
        ], "tokens": {"input": "many", "output": -5, "cached": True, "thoughts": 2.0}, "model": 42}]).strip(),
        jsonl([{"id": "g2", "type": "gemini", "timestamp": None, "toolCalls": "nope", "tokens": []}]).strip(),
    ]) + b"\n"
    skips: Skips = []
    (s,) = gemini.read_chat(_lines(data, skips), path="chat.jsonl",
                            skip=lambda line, reason: skips.append((line, reason)), resolve=_no_resolve)
    # msgspec's wording of a decode error varies across versions: only its prefix is ours.
    assert [(line, "invalid JSON" if reason.startswith("invalid JSON: ") else reason) for line, reason in skips] == [
        (2, "invalid JSON"),
        (3, "expected a JSON object"),
        (4, "$set is not an object"),
        (5, "$rewindTo is not a message id"),
        (6, "not a Gemini chat record"),
        (7, "message 'g1': toolCalls[0] is not an object"),
    ]
    assert [_row(c) for c in s.tool_calls] == [
        ("unknown", "other", False, None, None, "plain text"),
        ("read_file", "read", False, None, None, "fine"),
    ]
    assert [c.call_id for c in s.tool_calls] == [None, "ok-1"]
    assert (s.usage, s.model) == (Usage(output=2), None)


@pytest.mark.parametrize("doc", [
    pytest.param([], id="list"),
    pytest.param("text", id="string"),
])
def test_chat_document_that_is_not_an_object(doc: Any) -> None:
    skips: Skips = []
    assert _doc(doc, skips) == []
    assert skips == [(None, "expected a JSON object")]


def test_chat_document_with_broken_messages() -> None:
    skips: Skips = []
    (s,) = _doc({"sessionId": SID, "messages": [None, user("u1", "x", ts=TS), 3,
                                                gmsg("g", ts=TS, toks=tokens(5, 5))], "directories": "nope"},
                skips)
    assert skips == [(None, "messages[0] is not an object"), (None, "messages[2] is not an object")]
    assert (s.usage, s.cwd, s.started_at) == (Usage(input=5, output=5), None, TS)


def test_empty_or_useless_chat_yields_nothing() -> None:
    assert _chat([]) == []
    skips: Skips = []
    assert _chat([{"x": 1}], skips) == []
    assert skips == [(1, "not a Gemini chat record")]


# --- headless -------------------------------------------------------------------------

def test_stream_json() -> None:
    records = [
        stream_init(ts="2026-01-16T11:00:00.000Z"),
        stream_message("fix it", ts="2026-01-16T11:00:00.100Z", role="user"),
        stream_tool_use("sh-1", "run_shell_command", {"command": "make"}, ts="2026-01-16T11:00:01.000Z"),
        stream_tool_result("sh-1", ts="2026-01-16T11:00:03.500Z", output="Command exited with code: 2"),
        stream_tool_use("sh-2", "run_shell_command", {"command": "pytest -q"}, ts="2026-01-16T11:00:04.000Z"),
        # Printed output and a failing exit: the display text shows no exit code.
        stream_tool_result("sh-2", ts="2026-01-16T11:00:05.000Z", output="1 failed, 3 passed"),
        stream_tool_use("r-1", "read_file", {"file_path": "x"}, ts="2026-01-16T11:00:06.000Z"),
        stream_tool_result("r-1", ts="2026-01-16T11:00:06.250Z", error="File not found: x"),
        stream_tool_result("ghost", ts="2026-01-16T11:00:06.300Z", output="?"),
        {"type": "error", "timestamp": "2026-01-16T11:00:07.000Z", "severity": "warning", "message": "loop"},
        stream_result(ts="2026-01-16T11:00:08.000Z", prompt=12000, cached=8000, output=300, thoughts=120, calls=3),
    ]
    skips: Skips = []
    (s,) = _stream(records, skips)
    assert skips == [(9, "tool_result for an unknown tool_id")]
    assert (s.format, s.session_id, s.model, s.cwd) == ("gemini-stream-json", SID, "gemini-2.5-pro", None)
    assert (s.started_at, s.ended_at) == ("2026-01-16T11:00:00.000Z", "2026-01-16T11:00:08.000Z")
    assert s.usage == Usage(input=4000, output=420, cache_read=8000)
    assert [(c.name, c.is_error, c.exit_code, c.error_category, c.duration_ms, c.output) for c in s.tool_calls] == [
        ("run_shell_command", True, 2, "exit_nonzero", 2500, "Command exited with code: 2"),
        ("run_shell_command", False, None, None, 1000, "1 failed, 3 passed"),
        ("read_file", True, None, "file_not_found", 250, "File not found: x"),
    ]


def test_stream_with_two_runs_and_no_stats() -> None:
    records = [
        stream_init("run-a", ts="2026-01-16T11:00:00.000Z"),
        stream_tool_use("t-1", "list_directory", {"dir_path": "."}, ts="2026-01-16T11:00:01.000Z"),
        stream_tool_result("t-1", ts="2026-01-16T11:00:02.000Z", output="Listed 3 item(s)."),
        stream_init("run-b", ts="2026-01-16T12:00:00.000Z", model="gemini-2.5-flash"),
        stream_tool_use("t-1", "glob", {"pattern": "*.py"}, ts="2026-01-16T12:00:01.000Z"),
        {"type": "result", "timestamp": "2026-01-16T12:00:02.000Z", "status": "error",
         "error": {"type": "FatalTurnLimitedError", "message": "max turns"}},
    ]
    a, b = _stream(records)
    assert [(s.session_id, s.model, [c.name for c in s.tool_calls], s.usage) for s in (a, b)] == [
        ("run-a", "gemini-2.5-pro", ["list_directory"], Usage()),
        ("run-b", "gemini-2.5-flash", ["glob"], Usage()),
    ]
    assert (b.tool_calls[0].is_error, b.tool_calls[0].output) == (False, "")


def test_stream_bad_events() -> None:
    skips: Skips = []
    (s,) = _stream([{"type": "tool_use", "timestamp": 5, "tool_name": 3, "parameters": "x"},
                    {"type": "tool_result", "tool_id": None}, {"type": "result", "stats": "none"},
                    {"type": "mystery"}], skips)
    assert skips == [(2, "tool_result for an unknown tool_id")]
    assert [(c.name, c.call_id, c.input) for c in s.tool_calls] == [("unknown", None, {})]
    assert (s.session_id, s.usage) == (None, Usage())


@pytest.mark.parametrize(("doc", "expected"), [
    pytest.param(headless({"gemini-2.5-pro": model_stats(prompt=20000, candidates=900, cached=15000, thoughts=300),
                           "gemini-2.5-flash-lite": model_stats(prompt=1200, candidates=40)}, calls=7, failed=2),
                 (SID, "gemini-2.5-pro", Usage(input=6200, output=1240, cache_read=15000)), id="two-models"),
    pytest.param(headless({"gemini-2.5-flash": {"tokens": {"prompt": 100, "candidates": 5, "cached": 40,
                                                           "total": 105}}}, session_id=None),
                 (None, "gemini-2.5-flash", Usage(input=60, output=5, cache_read=40)), id="old-stats-no-session-id"),
    pytest.param(headless({}, error={"type": "Error", "message": "quota", "code": 429}),
                 (SID, None, Usage()), id="error-no-models"),
    pytest.param({"response": "x", "stats": {"models": {"m": "junk", "": {"tokens": {"input": 3}}}}},
                 (None, None, Usage(input=3)), id="junk"),
])
def test_headless_json(doc: dict[str, Any], expected: tuple[Any, ...]) -> None:
    (s,) = gemini.read_headless_json(doc, format="gemini-json", path="stdout.log",
                                     skip=lambda line, reason: None, resolve=_no_resolve)
    assert (s.session_id, s.model, s.usage) == expected
    # Totals only: stats.tools counts calls, but there are no call records to report.
    assert (s.format, s.tool_calls) == ("gemini-json", ())


@pytest.mark.parametrize(("obj", "expected"), [
    pytest.param(meta(), "gemini-chat-jsonl", id="chat-metadata-line"),
    pytest.param(set_(lastUpdated=TS), "gemini-chat-jsonl", id="set-line"),
    pytest.param(user("u1", "x", ts=TS), "gemini-chat-jsonl", id="message-line"),
    pytest.param(stream_init(ts=TS), "gemini-stream-json", id="stream-init"),
])
def test_sniff_record(obj: dict[str, Any], expected: str) -> None:
    assert sniff_record(obj) == expected


@pytest.mark.parametrize(("doc", "expected"), [
    pytest.param(legacy([user("u1", "x", ts=TS)]), "gemini-chat-json", id="legacy-chat"),
    pytest.param(headless({}), "gemini-json", id="headless"),
    pytest.param(prompt_log(), None, id="logs-json-is-not-a-transcript"),
])
def test_sniff_document(doc: Any, expected: str | None) -> None:
    assert sniff_document(doc) == expected


def test_read_paths_finds_every_gemini_form(tmp_path: Path) -> None:
    chats = tmp_path / "tmp" / "shop" / "chats"
    chats.mkdir(parents=True)
    (chats / "session-2026-01-16T11-01-5b959dae.jsonl").write_bytes(jsonl(_replayed()))
    (chats / SID).mkdir()
    (chats / SID / "0d4e6f1a.jsonl").write_bytes(jsonl([meta("0d4e6f1a", kind="subagent"), user("u", "x", ts=TS)]))
    (chats / "session-2025-12-01T21-45-5b959dae.json").write_text(
        json.dumps(legacy([user("u1", "x", ts=TS)]), indent=2))
    (tmp_path / "tmp" / "shop" / "logs.json").write_text(json.dumps(prompt_log(), indent=2))
    (tmp_path / "gemini-output").mkdir()
    (tmp_path / "gemini-output" / "stdout.log").write_text(
        json.dumps(headless({"gemini-2.5-pro": model_stats(prompt=10, candidates=2)}), indent=2))
    (tmp_path / "gemini-output" / "stream.jsonl").write_bytes(jsonl([
        stream_init(ts=TS), stream_tool_use("t", "glob", {}, ts=TS), stream_tool_result("t", ts=TS, output="a")]))
    result = read_paths([tmp_path])
    assert [(s.format, s.session_id, s.subagent, len(s.tool_calls)) for s in result.sessions] == [
        ("gemini-json", SID, False, 0),
        ("gemini-stream-json", SID, False, 1),
        ("gemini-chat-json", SID, False, 0),
        ("gemini-chat-jsonl", SID, False, 2),
        ("gemini-chat-jsonl", "0d4e6f1a", True, 0),
    ]
    assert result.skipped == (Skip(str(tmp_path / "tmp" / "shop" / "logs.json"), None, "not a recognized transcript"),)


def test_chat_without_its_metadata_line_starting_with_an_error_message(tmp_path: Path) -> None:
    path = tmp_path / "session-2026-01-16T11-01-5b959dae.jsonl"
    path.write_bytes(jsonl([info("e1", "Quota exceeded", ts=TS, type="error"),
                            gmsg("g1", ts=TS, calls=[call("r-1", "read_file", {}, ts=TS, output="x")])]))
    result = read_paths([path])
    assert result.skipped == ()
    assert [(s.format, s.session_id, len(s.tool_calls)) for s in result.sessions] == [("gemini-chat-jsonl", None, 1)]


def test_chat_messages_are_held_reduced_to_what_is_kept() -> None:
    # 100 messages of 1 MB each (content and thoughts): only their calls, tokens and times stay.
    def records() -> Iterator[tuple[int, dict[str, Any]]]:
        yield 1, meta()
        for i in range(100):
            msg = gmsg(f"g{i}", ts=TS, content="c" * 500_000, toks=tokens(10, 1),
                       calls=[call(f"r-{i}", "read_file", {"file_path": "a"}, ts=TS, output="o" * 100)])
            msg["thoughts"] = [{"subject": "s", "description": "t" * 500_000}]
            yield i + 2, msg
    tracemalloc.start()
    try:
        (s,) = gemini.read_chat(records(), path="chat.jsonl", skip=lambda line, reason: None, resolve=_no_resolve)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (len(s.tool_calls), s.usage) == (100, Usage(input=1000, output=100))
    assert peak < 5_000_000
