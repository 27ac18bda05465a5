from __future__ import annotations

import json
from pathlib import Path

import pytest

from headroom_ci import __version__
from headroom_ci.main import main
from testing.claude_fixtures import assistant_lines
from testing.claude_fixtures import SID
from testing.claude_fixtures import tool_result
from testing.claude_fixtures import tool_use
from testing.claude_fixtures import usage
from testing.claude_fixtures import user_line
from testing.claude_fixtures import write_jsonl


@pytest.fixture
def transcripts(tmp_path: Path) -> Path:
    write_jsonl(tmp_path / f"{SID}.jsonl", [
        *assistant_lines("msg_1", [tool_use("toolu_1", "Bash", command="make lint"),
                                   tool_use("toolu_2", "Read", file_path="README.md")],
                         ts="2026-03-01T10:00:00Z", u=usage(10, 20, 300, 40)),
        user_line([tool_result("toolu_1", "Exit code 2\nmake: *** No rule to make target 'lint'.", is_error=True),
                   tool_result("toolu_2", "# shop")], ts="2026-03-01T10:00:01Z"),
    ])
    (tmp_path / "broken.jsonl").write_bytes(b'{"type":"user","sessionId":"s","uuid":"u","message":{}}\n{nope\n')
    return tmp_path


def test_json_output(transcripts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sessions", str(transcripts), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {
        "sessions": [
            {"path": str(transcripts / f"{SID}.jsonl"), "agent": "claude", "format": "claude-jsonl",
             "session_id": SID, "cwd": "/home/runner/work/shop/shop", "git_branch": "main",
             "model": "claude-sonnet-4-5", "subagent": False, "tool_calls": 2, "errors": 1,
             "input_tokens": 10, "output_tokens": 20, "cache_read_tokens": 300, "cache_creation_tokens": 40},
            {"path": str(transcripts / "broken.jsonl"), "agent": "claude", "format": "claude-jsonl",
             "session_id": "s", "cwd": None, "git_branch": None, "model": None, "subagent": False,
             "tool_calls": 0, "errors": 0, "input_tokens": 0, "output_tokens": 0,
             "cache_read_tokens": 0, "cache_creation_tokens": 0},
        ],
        "totals": {"sessions": 2, "tool_calls": 2, "errors": 1, "input_tokens": 10, "output_tokens": 20,
                   "cache_read_tokens": 300, "cache_creation_tokens": 40},
        "skipped": [{"path": str(transcripts / "broken.jsonl"), "line": 2,
                     "reason": "invalid JSON: malformed at column 2"}],
    }


def test_table_output(transcripts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sessions", str(transcripts / f"{SID}.jsonl"), str(transcripts / "broken.jsonl")]) == 0
    a, b = str(transcripts / f"{SID}.jsonl"), str(transcripts / "broken.jsonl")
    assert capsys.readouterr().out == (
        "AGENT   FORMAT        SESSION                               CALLS  ERRORS  INPUT  OUTPUT  CACHE-R  CACHE-W  PATH\n"
        f"claude  claude-jsonl  {SID}      2       1     10      20      300       40  {a}\n"
        f"claude  claude-jsonl  s                                         0       0      0       0        0        0  {b}\n"
        "total   2 sessions                                              2       1     10      20      300       40\n"
        "\n"
        "skipped (1):\n"
        f"  {b}:2: invalid JSON: malformed at column 2\n"
    )


def test_missing_path_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sessions", str(tmp_path / "nope")]) == 1
    assert capsys.readouterr().err == f"headroom-ci: error: {tmp_path / 'nope'}: no such file or folder\n"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"headroom-ci {__version__}\n"


@pytest.mark.parametrize("argv", [pytest.param(["--help"], id="top"), pytest.param(["sessions", "--help"], id="sessions")])
def test_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    assert "usage: headroom-ci" in capsys.readouterr().out


def test_table_escapes_control_characters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = "evil\x1b[31m\nname\udcff.jsonl"  # an escape sequence, a newline, a byte that is not UTF-8
    write_jsonl(tmp_path / name, [
        *assistant_lines("msg_1", [tool_use("toolu_1", "Bash", command="ls")], ts="2026-03-01T10:00:00Z",
                         session_id="s\x07id"),
        user_line([tool_result("toolu_1", "a")], ts="2026-03-01T10:00:01Z", session_id="s\x07id"),
    ])
    (tmp_path / "bad\x1b.jsonl").write_bytes(b'{"type":"user","sessionId":"s","uuid":"u","message":{}}\n{nope\n')
    assert main(["sessions", str(tmp_path)]) == 0
    shown, bad = f"{tmp_path}/evil\\x1b[31m\\nname\\udcff.jsonl", f"{tmp_path}/bad\\x1b.jsonl"
    assert capsys.readouterr().out == (
        "AGENT   FORMAT        SESSION  CALLS  ERRORS  INPUT  OUTPUT  CACHE-R  CACHE-W  PATH\n"
        f"claude  claude-jsonl  s            0       0      0       0        0        0  {bad}\n"
        f"claude  claude-jsonl  s\\x07id      1       0      3      10        0        0  {shown}\n"
        "total   2 sessions                 1       0      3      10        0        0\n"
        "\n"
        "skipped (1):\n"
        f"  {bad}:2: invalid JSON: malformed at column 2\n"
    )
    assert main(["sessions", str(tmp_path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["sessions"]
    assert [(r["path"], r["session_id"]) for r in rows] == [
        (str(tmp_path / "bad\x1b.jsonl"), "s"), (str(tmp_path / name), "s\x07id")]


def test_an_expected_failure_is_an_annotation_in_actions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert main(["sessions", str(tmp_path / "nope")]) == 1
    captured = capsys.readouterr()
    assert captured.out == f"::error title=headroom-ci sessions::{tmp_path / 'nope'}: no such file or folder\n"
    # The error line names a path, which may come from an artifact: it cannot run as a workflow command.
    fence, line, end = captured.err.splitlines()
    token = fence.removeprefix("::stop-commands::")
    assert (line, end) == (f"headroom-ci: error: {tmp_path / 'nope'}: no such file or folder", f"::{token}::")


def test_an_unexpected_failure_exits_3_with_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Writing the report to a closed stdout raises ValueError, which no command expects.
    import sys
    broken = open(tmp_path / "out.txt", "w")  # noqa: SIM115
    broken.close()
    real = sys.stdout
    sys.stdout = broken  # writing to a closed file raises ValueError: not a FatalError
    try:
        code = main(["sessions", str(tmp_path), "--json"])
    finally:
        sys.stdout = real
    assert code == 3
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.rstrip().endswith("headroom-ci: unexpected error (a bug): please report it with the traceback above")


def test_local_lists_what_learn_would_discover(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import re
    from testing.examples import claude_run
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    for var in ("CODEX_HOME", "GEMINI_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(var, str(tmp_path / "none"))
    folder = tmp_path / "claude" / "projects" / re.sub(r"[^A-Za-z0-9]", "-", str(repo.resolve()))
    write_jsonl(folder / "a1.jsonl", [dict(r, cwd=str(repo.resolve())) for r in claude_run("a1", 1)])
    write_jsonl(tmp_path / "claude" / "projects" / "-elsewhere" / "b2.jsonl", claude_run("b2", 2))
    assert main(["sessions", "--local", "--repo-path", str(repo), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["sessions"]
    assert [(r["agent"], r["session_id"], r["path"]) for r in rows] == [("claude", "a1", str(folder / "a1.jsonl"))]


def test_local_with_nothing_found_says_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    for var, name in (("CLAUDE_CONFIG_DIR", "c"), ("GEMINI_HOME", "g"), ("CODEX_HOME", "x"), ("XDG_DATA_HOME", "d")):
        monkeypatch.setenv(var, str(tmp_path / name))
    assert main(["sessions", "--local", "--repo-path", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"no agent sessions found for {tmp_path.resolve()} (looked in claude {tmp_path / 'c'}, gemini {tmp_path / 'g'}, "
        f"codex {tmp_path / 'x'}, opencode {tmp_path / 'd' / 'opencode'})")


@pytest.mark.parametrize("argv, message", [
    pytest.param(["sessions"], "nothing to read: pass transcript files or folders, or --local", id="nothing"),
    pytest.param(["sessions", "--local", "."], "--local reads this machine's agent folders: pass it without paths",
                 id="both"),
])
def test_local_or_paths(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 1
    assert capsys.readouterr().err == f"headroom-ci: error: {message}\n"
