from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from headroom_ci.commands.collect import scrubber
from headroom_ci.main import main
from headroom_ci.mining.observe import observe
from headroom_ci.mining.paths import relativize
from headroom_ci.mining.paths import repo_roots
from headroom_ci.sessions import normalized
from headroom_ci.sessions.detect import sniff_record
from headroom_ci.sessions.load import read_paths
from headroom_ci.sessions.model import OUTPUT_HEAD
from headroom_ci.sessions.model import OUTPUT_TAIL
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.model import ToolCall
from headroom_ci.sessions.model import Usage
from testing import claude_fixtures as cl
from testing import codex_fixtures as cx
from testing import gemini_fixtures as gm
from testing import opencode_fixtures as oc
from testing.examples import example_files

ROOT = "/home/runner/work/shop/shop"


def _same(text: str) -> str:
    return text


def _write_examples(tmp: Path) -> list[Path]:
    out = []
    for rel, data in example_files().items():
        if rel.endswith(".jsonl"):
            out.append(tmp / rel.replace("/", "-"))
            out[-1].write_bytes(data)
    return out


def _claude_stream(tmp: Path) -> list[Path]:
    return [cl.write_jsonl(tmp / "stream.jsonl", [
        cl.stream_init(),
        cl.stream_assistant("m1", [cl.tool_use("t1", "Bash", command="npm test")], u=cl.usage(10, 1)),
        cl.stream_user([cl.tool_result("t1", "Exit code 1\nnpm error Missing script: \"test\"", is_error=True)]),
        cl.stream_assistant("m2", [cl.tool_use("t2", "Task", prompt="explore")], u=cl.usage(4, 1)),
        cl.stream_assistant("m3", [cl.tool_use("t3", "Grep", pattern="def main")], parent_tool_use_id="t2"),
        cl.stream_user([cl.tool_result("t3", "src/main.py")], parent_tool_use_id="t2"),
        cl.stream_user([cl.tool_result("t2", [{"type": "text", "text": "done"}])]),
        cl.stream_result(cl.usage(100, 200, 3000, 400)),
    ])]


def _claude_execution_file(tmp: Path) -> list[Path]:
    path = tmp / "claude-execution-output.json"
    path.write_text(json.dumps([
        cl.stream_init(),
        cl.stream_assistant("m1", [cl.tool_use("t1", "Read", file_path=f"{ROOT}/big.log")]),
        cl.stream_user([cl.tool_result("t1", "x" * 9000)]),
        cl.stream_result(cl.usage(5, 6), is_error=True, subtype="error_max_turns"),
    ], indent=2))
    return [path]


def _codex_exec(tmp: Path) -> list[Path]:
    path = tmp / "exec.jsonl"
    path.write_bytes(cx.jsonl([cx.thread_started(), cx.command("completed", "item_1", "make lint", output="no rule",
                                                               exit_code=2, status="failed"),
                               cx.turn_completed(10, 5, 3)]))
    return [path]


def _gemini_stream(tmp: Path) -> list[Path]:
    ts = "2026-01-16T11:01:22.281Z"
    path = tmp / "gemini.jsonl"
    path.write_bytes(gm.jsonl([gm.stream_init(ts=ts), gm.stream_tool_use("c1", "read_file", {"path": "a"}, ts=ts),
                               gm.stream_tool_result("c1", ts=ts, error="File not found"),
                               gm.stream_result(ts=ts, prompt=100, cached=40, output=7, calls=1)]))
    return [path]


def _opencode_db(tmp: Path) -> list[Path]:
    store = oc.Store(projects=[oc.project()], sessions=[oc.session("ses_a"), oc.session("ses_b", parent="ses_a")],
                     messages=[oc.assistant_message("msg_1", "ses_a", at=oc.T0, toks=oc.tokens(3, 4, read=5))],
                     parts=[oc.tool_part("prt_1", "msg_1", "ses_a", call_id="c1", tool="bash",
                                         state=oc.completed({"command": "npm test"}, "1 failed", start=oc.T0,
                                                            end=oc.T0 + 9, metadata={"exit": 1})),
                            oc.step_finish("prt_2", "msg_1", "ses_a", oc.tokens(3, 4, read=5))])
    return [oc.write_db(tmp / "opencode.db", store)]


@pytest.mark.parametrize("make", [
    pytest.param(_write_examples, id="claude-codex-gemini-transcripts"),
    pytest.param(_claude_stream, id="claude-stream-json-with-subagent"),
    pytest.param(_claude_execution_file, id="claude-execution-file"),
    pytest.param(_codex_exec, id="codex-exec-json"),
    pytest.param(_gemini_stream, id="gemini-stream-json"),
    pytest.param(_opencode_db, id="opencode-db"),
])
def test_round_trip(tmp_path: Path, make: Callable[[Path], list[Path]]) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    originals = read_paths(make(tmp_path / "in"))
    assert originals.skipped == () and originals.sessions
    for n, s in enumerate(originals.sessions):
        (tmp_path / "out" / f"{n:02d}.jsonl").write_bytes(normalized.dumps(s, scrub=_same))
    back = read_paths([tmp_path / "out"])
    assert back.skipped == ()
    assert [dataclasses.replace(s, path=b.path, run=None) for s, b in zip(originals.sessions, back.sessions, strict=True)] \
        == list(back.sessions)


def test_round_trip_with_the_collect_scrub(tmp_path: Path) -> None:
    """Everything as it was, but for the scrubbed text: runner paths repo-relative, the cwd "."."""
    (original,) = read_paths([_write_examples(tmp_path)[0]]).sessions  # run-101's Claude session
    scrub = scrubber(Path(ROOT), original.cwd)
    path = tmp_path / "s.jsonl"
    path.write_bytes(normalized.dumps(original, scrub=scrub))
    (back,) = read_paths([path]).sessions

    def scrubbed(call: ToolCall) -> ToolCall:
        return dataclasses.replace(call, input={k: scrub(v) for k, v in call.input.items()}, output=scrub(call.output))

    assert back == dataclasses.replace(original, path=str(path), cwd=".", tool_calls=tuple(map(scrubbed, original.tool_calls)))
    assert [c.input for c in back.tool_calls if c.name == "Read"] == [
        {"file_path": "services/api/models/user.py"}, {"file_path": "services/api/app/models/user.py"}]


def test_a_relative_cwd_is_no_root() -> None:
    """A normalized session's cwd is "." (or "web"): mining it must not strip "." or "web" from its
    commands, as a root would."""
    assert repo_roots(cwd=".") == () and repo_roots(cwd="web", repo_path="/srv/shop") == ("/srv/shop",)
    call = ToolCall(0, "Bash", "shell", {"command": "cd web && npm test ../web/x"}, "Exit code 1\nMissing script: \"test\"",
                    40, True, 1, "missing_script")
    (a,) = observe(Session("a", "claude", "claude-jsonl", "s", (call,), cwd=f"{ROOT}/web"), roots=repo_roots(cwd=f"{ROOT}/web"))
    (b,) = observe(Session("b", "claude", "claude-jsonl", "s", (call,), cwd="web"), roots=repo_roots(cwd="web"))
    assert a == b and a.failing == "cd web && npm test ../web/x"


def test_file_header_and_lines() -> None:
    s = Session("p", "codex", "codex-rollout", "s/1", (
        ToolCall(0, "exec_command", "shell", {"cmd": f"ls {ROOT}/src", "n": [1, {"k": f"{ROOT}/a"}]}, "out", 3,
                 False, 0, None, "2026-01-01T00:00:00Z", 12, "c1"),), Usage(1, 2, 3, 4), cwd=ROOT, model="gpt-5.5")
    lines = normalized.dumps(s, scrub=lambda t: relativize(t, (ROOT,))).decode().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"type": "headroom-ci-session", "version": 1, "agent": "codex", "format": "codex-rollout", "session_id": "s/1",
         "cwd": ".", "git_branch": None, "git_commit": None, "model": "gpt-5.5", "started_at": None, "ended_at": None,
         "subagent": False, "parent_id": None, "usage": {"input": 1, "output": 2, "cache_read": 3, "cache_creation": 4}},
        {"type": "tool_call", "index": 0, "name": "exec_command", "kind": "shell",
         "input": {"cmd": "ls src", "n": [1, {"k": "a"}]}, "output": "out", "output_size": 3, "is_error": False,
         "exit_code": 0, "error_category": None, "timestamp": "2026-01-01T00:00:00Z", "duration_ms": 12, "call_id": "c1"},
    ]
    assert sniff_record(json.loads(lines[0])) == "headroom-ci-session"


@pytest.mark.parametrize("session_id, path, stem", [
    pytest.param("3f1c2a9e-5b7d", "x", "claude-3f1c2a9e-5b7d", id="uuid"),
    pytest.param("../a b:c", "x", "claude-a_b_c", id="unsafe-characters"),
    pytest.param(None, "/p/t.jsonl", "claude-b3ab97490a1a1806", id="no-id-hash-of-path"),
])
def test_file_stem(session_id: str | None, path: str, stem: str) -> None:
    assert normalized.file_stem(Session(path, "claude", "claude-jsonl", session_id)) == stem


HEADER = {"type": "headroom-ci-session", "version": 1, "agent": "claude", "format": "claude-jsonl", "session_id": "s1"}
CALL = {"type": "tool_call", "name": "Bash", "kind": "shell", "input": {"command": "ls"}, "output": "a",
        "output_size": 1, "is_error": False}


@pytest.mark.parametrize("records, sessions, skipped", [
    pytest.param([HEADER, CALL, {"type": "later-addition"}, CALL], [("s1", 2)], [], id="unknown-record-read-past"),
    pytest.param([CALL, HEADER, CALL], [("s1", 1)], [(1, "tool call before the session header")], id="call-first"),
    pytest.param([{**HEADER, "version": 2}, CALL, CALL], [],
                 [(1, "headroom-ci-session version 2: newer than this reader (it reads version 1)")], id="newer-version"),
    pytest.param([{**HEADER, "version": "1"}, CALL], [],
                 [(1, "headroom-ci-session version '1': not supported (it reads version 1)")], id="version-not-a-number"),
    pytest.param([{**HEADER, "agent": "cursor"}, CALL], [], [(1, "headroom-ci-session: unknown agent 'cursor'")],
                 id="unknown-agent"),
    pytest.param([HEADER, {**CALL, "name": 3}, CALL], [("s1", 1)], [(2, "tool call without a name")], id="no-name"),
    pytest.param([HEADER, CALL, {**HEADER, "session_id": "s2"}, CALL, CALL], [("s1", 1), ("s2", 2)], [],
                 id="two-sessions-in-one-file"),
])
def test_reader_is_tolerant(tmp_path: Path, records: list[dict[str, Any]], sessions: list[tuple[str, int]],
                            skipped: list[tuple[int, str]]) -> None:
    path = cl.write_jsonl(tmp_path / "s.jsonl", records)
    got = read_paths([path])
    assert [(s.session_id, len(s.tool_calls)) for s in got.sessions] == sessions
    assert [(k.line, k.reason) for k in got.skipped] == skipped


@pytest.mark.parametrize("field, value, expected", [
    pytest.param("kind", "teleport", ("shell", "a", False, None, None), id="unknown-kind-from-name"),
    pytest.param("is_error", "yes", ("shell", "a", False, None, None), id="is-error-only-true"),
    pytest.param("is_error", True, ("shell", "a", True, "tool_error", None), id="error-without-category"),
    pytest.param("duration_ms", -5, ("shell", "a", False, None, None), id="negative-duration"),
    pytest.param("duration_ms", 7, ("shell", "a", False, None, 7), id="duration"),
    pytest.param("output", ["x"], ("shell", "", False, None, None), id="output-not-text"),
])
def test_call_fields_are_checked(tmp_path: Path, field: str, value: Any, expected: tuple[Any, ...]) -> None:
    path = cl.write_jsonl(tmp_path / "s.jsonl", [HEADER, {**CALL, field: value}])
    ((call,),) = [s.tool_calls for s in read_paths([path]).sessions]
    assert (call.kind, call.output, call.is_error, call.error_category, call.duration_ms) == expected


def test_outputs_and_inputs_past_the_caps_are_capped_again(tmp_path: Path) -> None:
    near = "n" * (OUTPUT_HEAD + OUTPUT_TAIL + 100)   # a scrubbed output a little over the cap: kept
    path = cl.write_jsonl(tmp_path / "s.jsonl", [
        HEADER, {**CALL, "output": near}, {**CALL, "output": "y" * 100_000, "input": {"content": "z" * 100_000}}])
    ((a, b),) = [s.tool_calls for s in read_paths([path]).sessions]
    assert a.output == near
    assert len(b.output) < 4200 and "characters omitted" in b.output and b.output_size == 1
    assert b.input["content"] == "z" * 4096 + "[… 95904 characters omitted]"


def test_sessions_command_shows_the_original_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = cl.write_jsonl(tmp_path / "s.jsonl", [{**HEADER, "cwd": "."}, CALL])
    assert main(["sessions", str(path), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["sessions"]
    assert (row["agent"], row["format"], row["session_id"], row["cwd"], row["tool_calls"]) == (
        "claude", "claude-jsonl", "s1", ".", 1)
