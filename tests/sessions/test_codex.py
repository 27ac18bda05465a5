from __future__ import annotations

import copy
import io
import json
import tracemalloc
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import pytest

from headroom_ci.sessions import codex
from headroom_ci.sessions import codex_exec
from headroom_ci.sessions.jsonl import decode_lines
from headroom_ci.sessions.jsonl import iter_lines
from headroom_ci.sessions.model import cap_output
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.model import Usage
from testing.codex_fixtures import at
from testing.codex_fixtures import bare_header
from testing.codex_fixtures import command
from testing.codex_fixtures import COMMIT
from testing.codex_fixtures import custom_call
from testing.codex_fixtures import custom_output
from testing.codex_fixtures import CWD
from testing.codex_fixtures import document
from testing.codex_fixtures import environment_context
from testing.codex_fixtures import event
from testing.codex_fixtures import exec_end
from testing.codex_fixtures import function_call
from testing.codex_fixtures import function_output
from testing.codex_fixtures import item
from testing.codex_fixtures import jsonl
from testing.codex_fixtures import legacy_output
from testing.codex_fixtures import line
from testing.codex_fixtures import local_shell_call
from testing.codex_fixtures import mcp_end
from testing.codex_fixtures import PARENT
from testing.codex_fixtures import patch_end
from testing.codex_fixtures import records
from testing.codex_fixtures import response
from testing.codex_fixtures import session_meta
from testing.codex_fixtures import shell_text
from testing.codex_fixtures import SID
from testing.codex_fixtures import STATE
from testing.codex_fixtures import task_started
from testing.codex_fixtures import thread_started
from testing.codex_fixtures import token_count
from testing.codex_fixtures import turn_completed
from testing.codex_fixtures import turn_context
from testing.codex_fixtures import unified
from testing.codex_fixtures import uuid7
from testing.codex_fixtures import web_search_call

Obj = dict[str, Any]
Skipped = list[tuple[int | None, str]]
TURN = uuid7(1)
FORK = uuid7(100, 5)


def _rollout(objs: list[Obj]) -> tuple[Session, Skipped]:
    skipped: Skipped = []
    sessions = codex.read_rollout(records(objs), path="r.jsonl",
                                  skip=lambda n, why: skipped.append((n, why)), resolve=lambda _: None)
    (session,) = sessions
    return session, skipped


def _with_prefix(objs: list[Obj]) -> list[Obj]:
    return [session_meta(ts=at(0)), task_started(ts=at(0.1), turn_id=TURN),
            turn_context(ts=at(0.2), turn_id=TURN), *objs]


def _rows(s: Session) -> list[tuple[str, str, bool, int | None, str | None]]:
    return [(c.name, c.kind, c.is_error, c.exit_code, c.error_category) for c in s.tool_calls]


# -- identity, tokens, times -----------------------------------------------

def test_rollout_identity_tokens_and_times() -> None:
    s, skipped = _rollout([
        session_meta(ts=at(0)),
        task_started(ts=at(0.1), turn_id=TURN),
        turn_context(ts=at(0.2), turn_id=TURN, model="gpt-5.5"),
        response(environment_context("/elsewhere"), ts=at(0.3)),
        token_count(1000, 800, 50, ts=at(2)),
        token_count(1000, 800, 50, ts=at(2)),  # Codex repeats the event back to back
        token_count(2500, 2000, 120, reasoning=40, ts=at(5)),
        event("token_count", ts=at(6), info=None, rate_limits={"primary": {"used_percent": 3}}),
        line("world_state", {"anything": 1}, ts=at(7)),
    ])
    assert skipped == []
    assert (s.agent, s.format, s.session_id, s.subagent, s.parent_id) == ("codex", "codex-rollout", SID, False, None)
    assert (s.cwd, s.git_branch, s.git_commit, s.model) == (CWD, "main", COMMIT, "gpt-5.5")
    assert (s.started_at, s.ended_at) == (at(0), at(6))
    # The last cumulative total; cached tokens are inside input_tokens,
    # reasoning tokens inside output_tokens.
    assert s.usage == Usage(input=500, output=120, cache_read=2000, cache_creation=0)
    assert s.tool_calls == ()


@pytest.mark.parametrize(("objs", "cwd", "model"), [
    pytest.param([session_meta(ts=at(0), cwd=None), turn_context(ts=at(1), turn_id=TURN, cwd="/tc")],
                 "/tc", "gpt-5.5", id="cwd-from-turn_context"),
    pytest.param([session_meta(ts=at(0), cwd=None), response(environment_context("/env"), ts=at(1))],
                 "/env", None, id="cwd-from-environment_context"),
    pytest.param([session_meta(ts=at(0)), turn_context(ts=at(1), turn_id=TURN, model="gpt-5"),
                  turn_context(ts=at(2), turn_id=uuid7(2), model="gpt-5.5")],
                 CWD, "gpt-5.5", id="model-last-turn_context"),
])
def test_rollout_cwd_and_model_fallbacks(objs: list[Obj], cwd: str, model: str | None) -> None:
    s, _ = _rollout(objs)
    assert (s.cwd, s.model) == (cwd, model)


# -- tool calls and their failures -----------------------------------------

LONG_RUN = [  # exec_command answers "running"; polls carry the output and the exit code
    response(function_call("c1", "exec_command", {"cmd": "npm test", "yield_time_ms": 1000}), ts=at(1)),
    response(function_output("c1", unified(running=4242)), ts=at(2)),
    response(function_call("p1", "write_stdin", {"session_id": 4242, "chars": ""}), ts=at(3)),
    response(function_output("p1", unified("FAIL src/app.test.ts\n", running=4242, chunk="b1")), ts=at(8)),
    exec_end("c1", 1, status="failed", process_id="4242", output="FAIL src/app.test.ts\n1 failed\n", ts=at(9)),
    response(function_call("p2", "write_stdin", {"session_id": 4242, "chars": ""}), ts=at(10)),
    response(function_output("p2", unified("1 failed\n", exit_code=1, chunk="b2", wall=0)), ts=at(10.5)),
]
POLL = ("write_stdin", "shell", False, None, None)


@pytest.mark.parametrize(("objs", "rows"), [
    pytest.param(LONG_RUN, [("exec_command", "shell", True, 1, "test_failure"), POLL, POLL],
                 id="write_stdin-exit-attributed-to-exec_command"),
    pytest.param([o for o in LONG_RUN if o["payload"]["type"] != "exec_command_end"],
                 [("exec_command", "shell", True, 1, "test_failure"), POLL, POLL],
                 id="write_stdin-exit-without-exec_command_end"),
    pytest.param([  # never polled to the end: the end event holds the exit code and the output
        response(function_call("c1", "exec_command", {"cmd": "./deploy.sh"}), ts=at(1)),
        response(function_output("c1", unified(running=9)), ts=at(2)),
        exec_end("c1", 126, status="failed", output="./deploy.sh: Permission denied\n", ts=at(4)),
    ], [("exec_command", "shell", True, 126, "permission_denied")], id="never-polled-exec_command_end"),
    pytest.param([  # the end event names the original call and arrives before its own output
        response(function_call("c1", "exec_command", {"cmd": "ls nope"}), ts=at(1)),
        exec_end("c1", 2, status="failed", ts=at(1.5)),
        response(function_output("c1", unified("ls: nope: No such file or directory\n", exit_code=2)), ts=at(2)),
    ], [("exec_command", "shell", True, 2, "file_not_found")], id="exec_command_end-before-output"),
    pytest.param([  # structured status wins over the text
        response(function_call("c1", "exec_command", {"cmd": "true"}), ts=at(1)),
        response(function_output("c1", unified("", exit_code=3)), ts=at(2)),
        exec_end("c1", 0, status="completed", ts=at(2.1)),
    ], [("exec_command", "shell", False, 0, None)], id="exec_command_end-wins-over-text"),
    pytest.param([
        response(function_call("c1", "exec_command", {"cmd": "pnpm lint"}), ts=at(1)),
        response(function_output("c1", unified("zsh:1: command not found: pnpm\n", exit_code=127)), ts=at(2)),
    ], [("exec_command", "shell", True, 127, "command_not_found")], id="exit-code-from-unified-text"),
    pytest.param([
        response(function_call("c1", "shell_command", {"command": "make"}), ts=at(1)),
        response(function_output("c1", shell_text("make: *** No rule to make target 'x'.\n", 2)), ts=at(2)),
    ], [("shell_command", "shell", True, 2, "missing_script")], id="exit-code-from-shell_command-text"),
    pytest.param([
        response(function_call("c1", "shell", {"command": ["bash", "-lc", "grep -r error src"]}), ts=at(1)),
        response(function_output("c1", legacy_output("src/a.py: raise error\n", 0)), ts=at(2)),
    ], [("shell", "shell", False, 0, None)], id="legacy-json-output-success-despite-error-word"),
    pytest.param([
        response(function_call("c1", "shell", {"command": ["pytest"]}), ts=at(1)),
        response(function_output("c1", legacy_output("E   AssertionError\n1 failed\n", 1)), ts=at(2)),
    ], [("shell", "shell", True, 1, "test_failure")], id="legacy-json-output-metadata-exit_code"),
    pytest.param([
        response(function_call("c1", "exec_command", {"cmd": "rm -rf /"}), ts=at(1)),
        exec_end("c1", -1, status="declined", ts=at(2)),
        response(function_output("c1", "exec command rejected by user"), ts=at(2)),
    ], [("exec_command", "shell", True, -1, "user_rejected")], id="declined"),
    pytest.param([
        response(function_call("c1", "exec_command", {"cmd": "sleep 100"}), ts=at(1)),
        response(function_output("c1", "aborted by user after 9.4s"), ts=at(10)),
    ], [("exec_command", "shell", True, None, "user_rejected")], id="aborted-by-user-text"),
    pytest.param([
        response(function_call("c1", "exec_command", {"cmd": "sleep 100"}), ts=at(1)),
        event("turn_aborted", reason="interrupted", ts=at(5)),
    ], [("exec_command", "shell", True, None, "interrupted")], id="turn_aborted-without-output"),
    pytest.param([
        response(custom_call("c1", "apply_patch", "*** Begin Patch\n*** Update File: a.py\n"), ts=at(1)),
        patch_end("c1", False, stderr="Failed to find expected lines in a.py", ts=at(1.5)),
        response(custom_output("c1", legacy_output(
            "apply_patch verification failed: Failed to find expected lines in a.py", 1)), ts=at(2)),
        response(custom_call("c2", "apply_patch", "*** Begin Patch\n"), ts=at(3)),
        patch_end("c2", True, ts=at(3.5)),
        response(custom_output("c2", legacy_output("Success. Updated the following files:\nM a.py\n", 0)), ts=at(4)),
    ], [("apply_patch", "edit", True, 1, "edit_mismatch"), ("apply_patch", "edit", False, 0, None)],
        id="patch_apply_end"),
    pytest.param([
        response(custom_call("c1", "apply_patch", "*** Begin Patch\n"), ts=at(1)),
        patch_end("c1", False, status="declined", ts=at(2)),
        response(custom_output("c1", "patch rejected by user"), ts=at(2)),
    ], [("apply_patch", "edit", True, None, "user_rejected")], id="patch-declined"),
    pytest.param([
        response(function_call("m1", "js", {"code": "1"}, namespace="mcp__node_repl__"), ts=at(1)),
        response(function_output("m1", 'Wall time: 1.8 seconds\nOutput:\n[{"type":"text","text":"ok"}]'), ts=at(2)),
        response(function_call("m2", "mcp__github__get_issue", {"n": 1}), ts=at(3)),
        mcp_end("m2", {"Err": "tool call failed: 404 Not Found"}, ts=at(3.5)),
        response(function_output("m2", "tool call failed: 404 Not Found"), ts=at(4)),
        response(function_call("m3", "mcp__github__get_issue", {"n": 2}), ts=at(5)),
        mcp_end("m3", {"Ok": {"content": [{"type": "text", "text": "rate limit exceeded"}], "isError": True}}, ts=at(5.5)),
        response(function_output("m3", [{"type": "input_text", "text": "rate limit exceeded"}]), ts=at(6)),
        response(function_call("m4", "mcp__github__get_issue", {"n": 3}), ts=at(7)),
        mcp_end("m4", {"Ok": {"content": [{"type": "text", "text": "#3"}], "isError": False}}, ts=at(7.5)),
        response(function_output("m4", '{"content":[{"type":"text","text":"#3"}],"isError":false}'), ts=at(8)),
    ], [("mcp__node_repl__js", "mcp", False, None, None),
        ("mcp__github__get_issue", "mcp", True, None, "http_error"),
        ("mcp__github__get_issue", "mcp", True, None, "rate_limit"),
        ("mcp__github__get_issue", "mcp", False, None, None)], id="mcp-namespace-and-mcp_tool_call_end"),
    pytest.param([
        response(local_shell_call("c1", ["bash", "-lc", "cargo build"]), ts=at(1)),
        response(function_output("c1", legacy_output("error[E0425]: cannot find value `x`\n", 101)), ts=at(2)),
        response(web_search_call("codex rollout format"), ts=at(3)),
        response(web_search_call("nothing", status="failed", id="ws_2"), ts=at(4)),
        response(function_call("c2", "update_plan", {"plan": []}), ts=at(5)),
        response(function_output("c2", "Plan updated"), ts=at(5.1)),
    ], [("local_shell_call", "shell", True, 101, "exit_nonzero"), ("web_search_call", "web", False, None, None),
        ("web_search_call", "web", True, None, "tool_error"), ("update_plan", "other", False, None, None)],
        id="local_shell_call-web_search_call-other"),
    pytest.param([  # the poll itself failed (it could not write); the command exits 0 later
        response(function_call("c1", "exec_command", {"cmd": "npm run dev"}), ts=at(1)),
        response(function_output("c1", unified(running=77)), ts=at(2)),
        response(function_call("p1", "write_stdin", {"session_id": 77, "chars": "\u0003"}), ts=at(3)),
        response(function_output("p1", "write_stdin failed: stdin is closed for this session; "
                                        "rerun exec_command with tty=true to keep stdin open"), ts=at(3.1)),
        response(function_call("p2", "write_stdin", {"session_id": "77", "chars": ""}), ts=at(4)),
        response(function_output("p2", unified("ready\n", exit_code=0)), ts=at(5)),
    ], [("exec_command", "shell", False, 0, None), ("write_stdin", "shell", True, None, "tool_error"), POLL],
        id="write_stdin-failed-is-the-poll-error"),
    pytest.param([  # compacted history repeats earlier items: not counted again
        response(function_call("c1", "exec_command", {"cmd": "ls"}), ts=at(1)),
        response(function_output("c1", unified("a\n", exit_code=0)), ts=at(2)),
        line("compacted", {"message": "summary", "replacement_history": [
            function_call("c1", "exec_command", {"cmd": "ls"}), function_output("c1", unified("a\n", exit_code=0)),
            function_call("old", "exec_command", {"cmd": "false"}),
            function_output("old", unified("", exit_code=1))]}, ts=at(3)),
        response(function_call("c2", "exec_command", {"cmd": "false"}), ts=at(4)),
        response(function_output("c2", unified("", exit_code=1)), ts=at(5)),
    ], [("exec_command", "shell", False, 0, None), ("exec_command", "shell", True, 1, "exit_nonzero")],
        id="compacted-replacement_history"),
    pytest.param([  # the command's own output prints an exit line: the runner's header decides
        response(function_call("c1", "exec_command", {"cmd": "cat ci.log"}), ts=at(1)),
        response(function_output("c1", unified("Exit code: 1\nProcess exited with code 2\n", exit_code=0)), ts=at(2)),
        response(function_call("c2", "shell_command", {"command": "cat ci.log"}), ts=at(3)),
        response(function_output("c2", shell_text("Process exited with code 1\nExit code: 5\n", 0)), ts=at(4)),
    ], [("exec_command", "shell", False, 0, None), ("shell_command", "shell", False, 0, None)],
        id="exit-line-in-command-output"),
    pytest.param([  # only shell tools (and apply_patch) answer with a runner header
        response(function_call("m1", "mcp__ci__run_job", {"job": "lint"}), ts=at(1)),
        response(function_output("m1", "Exit code: 1\nWall time: 2 seconds\nOutput:\nlint failed"), ts=at(2)),
        response(function_call("c1", "update_plan", {"plan": []}), ts=at(3)),
        response(function_output("c1", "Exit code: 2"), ts=at(4)),
        response(custom_call("a1", "apply_patch", "*** Begin Patch\n"), ts=at(5)),
        response(custom_output("a1", shell_text("error: patch does not apply\n", 1)), ts=at(6)),
    ], [("mcp__ci__run_job", "mcp", False, None, None), ("update_plan", "other", False, None, None),
        ("apply_patch", "edit", True, 1, "exit_nonzero")], id="exit-code-only-for-runner-tools"),
    pytest.param([  # a resumed file re-appends lines already written
        response(function_call("c1", "exec_command", {"cmd": "false"}), ts=at(1)),
        response(function_output("c1", unified("", exit_code=1)), ts=at(2)),
        response(function_call("c1", "exec_command", {"cmd": "false"}), ts=at(1)),
        response(function_output("c1", unified("", exit_code=1)), ts=at(2)),
    ], [("exec_command", "shell", True, 1, "exit_nonzero")], id="re-appended-lines-counted-once"),
])
def test_rollout_calls(objs: list[Obj], rows: list[tuple[str, str, bool, int | None, str | None]]) -> None:
    s, skipped = _rollout(_with_prefix(objs))
    assert skipped == []
    assert _rows(s) == rows
    assert [c.index for c in s.tool_calls] == list(range(len(rows)))


def test_long_command_output_concatenated_on_exec_command() -> None:
    s, _ = _rollout(_with_prefix(LONG_RUN))
    exec_call, poll1, poll2 = s.tool_calls
    # The last chunk's runner header, then every chunk of output in order.
    header = unified("1 failed\n", exit_code=1, chunk="b2", wall=0).removesuffix("1 failed\n")
    assert exec_call.output == header + "FAIL src/app.test.ts\n1 failed\n"
    assert (exec_call.call_id, exec_call.timestamp, exec_call.duration_ms) == ("c1", at(1), 8000)
    assert exec_call.input == {"cmd": "npm test", "yield_time_ms": 1000}
    assert poll2.output == unified("1 failed\n", exit_code=1, chunk="b2", wall=0)
    assert (poll1.input, poll1.duration_ms, poll2.duration_ms) == ({"session_id": 4242, "chars": ""}, 5000, 500)
    assert s.errors == 1


@pytest.mark.parametrize(("raw", "expected"), [
    pytest.param('{"cmd": "ls"}', {"cmd": "ls"}, id="json-string"),
    pytest.param("not json {", {"raw": "not json {"}, id="undecodable"),
    pytest.param("[1, 2]", {"raw": "[1, 2]"}, id="json-not-an-object"),
    pytest.param({"cmd": "ls"}, {"cmd": "ls"}, id="already-an-object"),
    pytest.param(7, {"raw": 7}, id="wrong-type"),
])
def test_function_call_arguments(raw: Any, expected: dict[str, Any]) -> None:
    s, _ = _rollout(_with_prefix([response(function_call("c1", "exec_command", raw), ts=at(1))]))
    assert s.tool_calls[0].input == expected


def test_output_shapes() -> None:
    s, _ = _rollout(_with_prefix([
        response(function_call("c1", "view_image", {"path": "a.png"}), ts=at(1)),
        response(function_output("c1", [{"type": "input_text", "text": "one"},
                                         {"type": "input_image", "image_url": "data:image/png;base64,AAAA"},
                                         {"type": "input_text", "text": "two"}]), ts=at(2)),
        response(function_call("c2", "shell", {"command": ["ls"]}), ts=at(3)),
        response(function_output("c2", legacy_output("README.md\n", 0)), ts=at(4)),
        response(custom_call("c3", "apply_patch", "*** Begin Patch\n*** End Patch\n"), ts=at(5)),
    ]))
    assert [(c.output, c.input) for c in s.tool_calls] == [
        ("one\ntwo", {"path": "a.png"}),
        ("README.md\n", {"command": ["ls"]}),
        ("", {"input": "*** Begin Patch\n*** End Patch\n"}),
    ]


# -- forks and subagents ----------------------------------------------------

def _fork(turn_ids: tuple[str, str]) -> list[Obj]:
    parent_turn, own_turn = turn_ids
    return [
        session_meta(ts=at(100), id=FORK, forked_from_id=PARENT),
        # The parent's history, copied and re-stamped at the fork instant.
        session_meta(ts=at(100), id=PARENT, cwd="/parent"),
        turn_context(ts=at(100), turn_id=parent_turn, model="gpt-5"),
        response(function_call("p1", "exec_command", {"cmd": "false"}), ts=at(100)),
        response(function_output("p1", unified("", exit_code=1)), ts=at(100)),
        token_count(1000, 600, 100, ts=at(100)),
        # The fork's own turn.
        task_started(ts=at(101), turn_id=own_turn),
        turn_context(ts=at(101), turn_id=own_turn, model="gpt-5.5"),
        response(function_call("c1", "exec_command", {"cmd": "make"}), ts=at(102)),
        response(function_output("c1", unified("", exit_code=2)), ts=at(103)),
        token_count(1500, 900, 130, ts=at(104)),
    ]


@pytest.mark.parametrize(("objs", "names", "usage", "identity"), [
    pytest.param(_fork((uuid7(-50, 2), uuid7(101, 3))), [("c1", 2)], Usage(200, 30, 300, 0),
                 (FORK, CWD, "gpt-5.5", False, PARENT), id="fork-replay-skipped"),
    pytest.param(_fork(("turn-1", "turn-2")), [("p1", 1), ("c1", 2)], Usage(600, 130, 900, 0),
                 (FORK, CWD, "gpt-5.5", False, PARENT), id="fork-without-v7-turn-ids-keeps-everything"),
    pytest.param([
        session_meta(ts=at(0), source={"subagent": {"thread_spawn": {"parent_thread_id": PARENT, "depth": 1}}},
                     agent_nickname="Dalton", agent_role="explorer"),
        session_meta(ts=at(0), id=PARENT, cwd="/parent", source="cli"),  # parent meta copied in
        turn_context(ts=at(1), turn_id=uuid7(1), model="gpt-5.5-mini"),
        response(function_call("c1", "exec_command", {"cmd": "rg x"}), ts=at(2)),
        response(function_output("c1", unified("", exit_code=1)), ts=at(3)),
    ], [("c1", 1)], Usage(), (SID, CWD, "gpt-5.5-mini", True, PARENT), id="thread_spawn-subagent"),
    pytest.param([session_meta(ts=at(0), source={"subagent": "review"})], [], Usage(),
                 (SID, CWD, None, True, None), id="review-subagent"),
])
def test_forks_and_subagents(objs: list[Obj], names: list[tuple[str, int]], usage: Usage,
                             identity: tuple[str, str, str | None, bool, str | None]) -> None:
    s, skipped = _rollout(objs)
    assert skipped == []
    assert [(c.call_id, c.exit_code) for c in s.tool_calls] == names
    assert [c.index for c in s.tool_calls] == list(range(len(names)))
    assert s.usage == usage
    assert (s.session_id, s.cwd, s.model, s.subagent, s.parent_id) == identity


# -- older containers ---------------------------------------------------------

BARE_ITEMS: list[Any] = [
    environment_context("/work/repo"),
    function_call("c1", "shell", {"command": ["bash", "-lc", "pytest -q"], "workdir": "/work/repo"}),
    function_output("c1", legacy_output("ERROR: file or directory not found: tests\n", 4)),
    local_shell_call("c2", ["ls"]),
    function_output("c2", legacy_output("src\n", 0)),
    {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "x"},
    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "done"}]},
]
BARE_ROWS = [("shell", "shell", True, 4, "file_not_found"), ("local_shell_call", "shell", False, 0, None)]


def test_bare_rollout() -> None:
    skipped: Skipped = []
    objs = [bare_header(ts=at(0)), STATE, *BARE_ITEMS, STATE]
    (s,) = codex.read_bare(records(objs), path="b.jsonl", skip=lambda n, w: skipped.append((n, w)),
                           resolve=lambda _: None)
    assert skipped == []
    assert (s.format, s.session_id, s.cwd, s.git_branch, s.git_commit, s.model) == (
        "codex-rollout-bare", SID, "/work/repo", "feature/x", COMMIT, None)
    assert (s.started_at, s.ended_at, s.usage) == (at(0), at(0), Usage())
    assert _rows(s) == BARE_ROWS
    assert [c.timestamp for c in s.tool_calls] == [None, None]


def test_bare_header_with_cwd() -> None:
    objs = [bare_header(ts=at(0), cwd="/from/header", originator="codex_cli_rs", cli_version="0.34.0"),
            STATE, environment_context("/from/context")]
    (s,) = codex.read_bare(records(objs), path="b.jsonl", skip=lambda n, w: None, resolve=lambda _: None)
    assert s.cwd == "/from/header"


def test_json_document() -> None:
    skipped: Skipped = []
    doc = document([*BARE_ITEMS, "not an item"], ts=at(0))
    (s,) = codex.read_document(doc, format="codex-rollout-json", path="r.json",
                               skip=lambda n, w: skipped.append((n, w)), resolve=lambda _: None)
    assert skipped == [(None, "expected a JSON object")]
    assert (s.format, s.session_id, s.cwd, s.started_at) == ("codex-rollout-json", SID, "/work/repo", at(0))
    assert _rows(s) == BARE_ROWS


# -- codex exec --json ------------------------------------------------------

def test_exec_json() -> None:
    skipped: Skipped = []
    objs = [
        thread_started(),
        {"type": "turn.started"},
        item("completed", "item_0", "reasoning", text="**Planning**"),
        command("started", "item_1", "bash -lc ls", status="in_progress"),
        command("completed", "item_1", "bash -lc ls", output="a\nb\n", exit_code=0),
        # A non-zero exit has been seen with status "completed".
        command("started", "item_2", "bash -lc 'npm test'", status="in_progress"),
        command("completed", "item_2", "bash -lc 'npm test'", output="1 failed\n", exit_code=1),
        command("completed", "item_3", "bash -lc 'rm -rf /'", exit_code=-1, status="declined"),
        command("completed", "item_4", "bash -lc x", status="failed"),
        item("completed", "item_5", "file_change", changes=[{"path": "/w/a.py", "kind": "update"}], status="completed"),
        item("completed", "item_6", "file_change", changes=[{"path": "/w/b.py", "kind": "add"}], status="failed"),
        item("started", "item_7", "mcp_tool_call", server="github", tool="get_issue", arguments={"n": 1},
             status="in_progress"),
        item("completed", "item_7", "mcp_tool_call", server="github", tool="get_issue", arguments={"n": 1},
             result=None, error={"message": "connection refused"}, status="failed"),
        item("completed", "item_8", "web_search", query="codex exec json"),
        item("started", "item_9", "todo_list", items=[{"text": "x", "completed": False}]),
        item("updated", "item_9", "todo_list", items=[{"text": "x", "completed": True}]),
        item("completed", "item_10", "agent_message", text="done"),
        turn_completed(6000, 5000, 100),
        {"type": "turn.started"},
        command("completed", None, "bash -lc pwd", output="/w\n", exit_code=0),  # no id: counted once
        {"type": "error", "message": "stream disconnected, retrying"},
        turn_completed(13000, 11000, 250),  # cumulative for the thread
    ]
    (s,) = codex_exec.read_exec_json(records(objs), path="e.jsonl", skip=lambda n, w: skipped.append((n, w)),
                                resolve=lambda _: None)
    assert skipped == []
    assert (s.format, s.session_id, s.cwd, s.started_at) == ("codex-exec-json", SID, None, None)
    assert s.usage == Usage(input=2000, output=250, cache_read=11000, cache_creation=0)
    assert _rows(s) == [
        ("command_execution", "shell", False, 0, None),
        ("command_execution", "shell", True, 1, "test_failure"),
        ("command_execution", "shell", True, -1, "user_rejected"),
        ("command_execution", "shell", True, None, "tool_error"),
        ("file_change", "edit", False, None, None),
        ("file_change", "edit", True, None, "tool_error"),
        ("mcp__github__get_issue", "mcp", True, None, "network"),
        ("web_search", "web", False, None, None),
        ("command_execution", "shell", False, 0, None),
    ]
    assert [c.output for c in s.tool_calls][:2] == ["a\nb\n", "1 failed\n"]
    assert s.tool_calls[4].output == "update /w/a.py"
    assert s.tool_calls[6].input == {"n": 1}


# -- bad input: never an exception -------------------------------------------

def _rich_rollout() -> list[Obj]:
    return _with_prefix([
        response(environment_context("/x"), ts=at(0.5)),
        *LONG_RUN,
        response(custom_call("a1", "apply_patch", "*** Begin Patch\n"), ts=at(11)),
        patch_end("a1", False, ts=at(11.5)),
        response(custom_output("a1", legacy_output("failed", 1)), ts=at(12)),
        response(function_call("m1", "js", {"code": "1"}, namespace="mcp__node_repl__"), ts=at(13)),
        mcp_end("m1", {"Ok": {"content": [], "isError": True}}, ts=at(13.5)),
        response(function_output("m1", [{"type": "input_text", "text": "x"}]), ts=at(14)),
        response(local_shell_call("l1", ["ls"]), ts=at(15)),
        response(web_search_call("q"), ts=at(16)),
        event("turn_aborted", reason="interrupted", ts=at(17)),
        line("compacted", {"message": "m", "replacement_history": [function_call("z", "x", {})]}, ts=at(18)),
        token_count(10, 5, 1, ts=at(19)),
    ])


_WRONG: list[Any] = [None, 0, -1, True, 1e308, "", "x", [], [1, "a"], {}, {"a": {"b": 1}}]


def _mutations(obj: Any, depth: int = 0) -> Iterator[Callable[[Any], None]]:
    """Setters that replace or delete one field, at any depth up to 3, of (a copy of) obj."""
    if not isinstance(obj, dict) or depth > 3:
        return
    for key, value in obj.items():
        for sub in _mutations(value, depth + 1):
            yield _inside(key, sub)
        for wrong in _WRONG:
            yield _setter(key, wrong)
        yield _setter(key, None, delete=True)


def _inside(key: str, mutate: Callable[[Any], None]) -> Callable[[Any], None]:
    return lambda o: mutate(o[key])


def _setter(key: str, wrong: Any, *, delete: bool = False) -> Callable[[Any], None]:
    def mutate(o: Any) -> None:
        if delete:
            del o[key]
        else:
            o[key] = copy.deepcopy(wrong)
    return mutate


@pytest.mark.parametrize(("reader", "build"), [
    pytest.param("rollout", _rich_rollout, id="rollout"),
    pytest.param("bare", lambda: [bare_header(ts=at(0)), STATE, *copy.deepcopy(BARE_ITEMS)], id="bare"),
    pytest.param("exec", lambda: [thread_started(), command("started", "i1", "ls", status="in_progress"),
                                  command("completed", "i1", "ls", exit_code=1),
                                  item("completed", "i2", "mcp_tool_call", server="s", tool="t",
                                       arguments={"a": 1}, result={"content": []}, error=None,
                                       status="completed"),
                                  item("completed", "i3", "file_change", changes=[{"path": "p", "kind": "add"}],
                                       status="completed"),
                                  turn_completed(5, 1, 1)], id="exec-json"),
])
def test_wrong_types_in_every_field_never_raise(reader: str, build: Callable[[], list[Obj]]) -> None:
    read = {"rollout": codex.read_rollout, "bare": codex.read_bare, "exec": codex_exec.read_exec_json}[reader]
    base = build()
    runs = 0
    for n in range(len(base)):
        for mutate in _mutations(base[n]):
            objs = copy.deepcopy(base)
            mutate(objs[n])
            # One broken field never loses the session: the other records still make it.
            (s,) = read(records(objs), path="p", skip=lambda line, why: None, resolve=lambda _: None)
            assert all(isinstance(c.output, str) and c.index == i for i, c in enumerate(s.tool_calls))
            runs += 1
    assert runs > 100


@pytest.mark.parametrize(("objs", "calls", "skipped"), [
    pytest.param([line("response_item", ["not", "a", "dict"], ts=at(1)), line("event_msg", "x", ts=at(2)),
                  line("session_meta", None, ts=at(3))], 0,
                 [(4, "response_item line without a payload object"), (5, "event_msg line without a payload object"),
                  (6, "session_meta line without a payload object")], id="non-dict-payloads"),
    pytest.param([response(function_call(None, "exec_command", {"cmd": "ls"}), ts=at(1)),
                  response(function_output("ghost", "x"), ts=at(2)),
                  response({"type": "function_call_output", "output": "x"}, ts=at(3))], 1,
                 [(5, "tool output for an unknown call"), (6, "tool output for an unknown call")],
                 id="missing-call_id-and-unknown-call"),
    pytest.param([exec_end("nobody", 1, ts=at(1)), patch_end("nobody", False, ts=at(2)),
                  mcp_end("nobody", {"Err": "x"}, ts=at(3))], 0, [], id="end-events-for-unknown-calls"),
    pytest.param([token_count(-5, 10**30, 3, ts=at(1))], 0, [], id="absurd-token-numbers"),
])
def test_bad_records(objs: list[Any], calls: int, skipped: Skipped) -> None:
    seen: Skipped = []
    (s,) = codex.read_rollout(records(_with_prefix(objs)), path="r", skip=lambda n, w: seen.append((n, w)),
                              resolve=lambda _: None)
    assert len(s.tool_calls) == calls
    assert seen == skipped


def test_nothing_readable_yields_no_session() -> None:
    for read in (codex.read_rollout, codex.read_bare, codex_exec.read_exec_json):
        assert read(records([{"foo": 1}, {"type": "unknown"}]), path="p", skip=lambda n, w: None,
                    resolve=lambda _: None) == []
    assert codex.read_document([], format="codex-rollout-json", path="p", skip=lambda n, w: None,
                               resolve=lambda _: None) == []


def test_through_line_decoding() -> None:
    raw = jsonl(_with_prefix(LONG_RUN)) + b"{broken\n" + json.dumps([1]).encode() + b"\n"
    skipped: Skipped = []

    def skip(n: int | None, why: str) -> None:
        skipped.append((n, why))

    lines = decode_lines(iter_lines(io.BytesIO(raw)), skip=skip)
    (s,) = codex.read_rollout(lines, path="r.jsonl", skip=skip, resolve=lambda _: None)
    assert [reason.split(":")[0] for _, reason in skipped] == ["invalid JSON", "expected a JSON object"]
    assert _rows(s)[0] == ("exec_command", "shell", True, 1, "test_failure")


def _polled(n: int, size: int) -> Iterator[Obj]:
    """A command polled n times, each chunk `size` characters, exiting 1 on the last poll."""
    yield from _with_prefix([
        response(function_call("c1", "exec_command", {"cmd": "make"}), ts=at(1)),
        response(function_output("c1", unified(running=7)), ts=at(2))])
    for i in range(n):
        chunk = chr(ord("a") + i % 26) * size
        done = i == n - 1
        yield response(function_call(f"p{i}", "write_stdin", {"session_id": 7}), ts=at(3))
        yield response(function_output(f"p{i}", unified(chunk, running=None if done else 7,
                                                         exit_code=1 if done else None)), ts=at(4))


def test_long_command_chunks_are_kept_as_head_and_tail() -> None:
    n, size = 300, 1000
    (s,) = codex.read_rollout(enumerate(_polled(n, size), 1), path="r", skip=lambda n, w: None,
                              resolve=lambda _: None)
    exec_call = s.tool_calls[0]
    body = "".join(chr(ord("a") + i % 26) * size for i in range(n))
    last = body[-size:]
    header = unified(last, exit_code=1).removesuffix(last)  # the last chunk's runner header
    assert (exec_call.output, exec_call.output_size) == (cap_output(header + body), len(header) + n * size)
    assert (exec_call.is_error, exec_call.exit_code, len(s.tool_calls)) == (True, 1, n + 1)


def test_long_command_chunks_are_read_in_bounded_memory() -> None:
    # 200 chunks of 200,000 characters: the joined output (40 MB) is never held, only
    # a head and a tail per call.
    tracemalloc.start()
    try:
        (s,) = codex.read_rollout(enumerate(_polled(200, 200_000), 1), path="r", skip=lambda n, w: None,
                                  resolve=lambda _: None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    last = chr(ord("a") + 199 % 26) * 200_000
    assert s.tool_calls[0].output_size == len(unified(last, exit_code=1)) + 40_000_000 - 200_000
    assert peak < 8_000_000
