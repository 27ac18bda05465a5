from __future__ import annotations

import pytest

from headroom_ci.sessions.kinds import error_category
from headroom_ci.sessions.kinds import exit_code_from_text
from headroom_ci.sessions.kinds import split_header

UNIFIED = "Chunk ID: a1\nWall time: 1.0 seconds\nProcess exited with code {}\nOriginal token count: 3\nOutput:\n"


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("Exit code 1\nModuleNotFoundError", 1, id="claude"),
    pytest.param("Exit code: 2\nWall time: 0.2 seconds\nOutput:\nmake: ***", 2, id="codex-shell"),
    pytest.param(UNIFIED.format(0) + "Exit code: 1\n", 0, id="unified-header-beats-command-output"),
    pytest.param(UNIFIED.format(3) + "Process exited with code 0\n", 3, id="unified-nonzero"),
    pytest.param("Exit code: 0\nWall time: 1\nOutput:\nProcess exited with code 1\n", 0, id="earliest-line-wins"),
    pytest.param("Exit code: 4\nProcess exited with code 5\nOutput:\n", 4, id="earliest-of-two-header-lines"),
    pytest.param("all good\nExit code 1\n", None, id="not-on-the-first-line"),
    pytest.param("Output:\nExit code: 1", None, id="only-after-the-marker"),
    pytest.param("Exit Code: 7", 7, id="gemini-spelling"),
    pytest.param("Exit code -1\n", -1, id="negative"),
    pytest.param("Exit code " + "9" * 5000, None, id="absurd-number"),
    pytest.param("x" * 700 + "\nExit code 1", None, id="no-header-in-reach"),
    pytest.param("", None, id="empty"),
])
def test_exit_code_from_text(text: str, expected: int | None) -> None:
    assert exit_code_from_text(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("Wall time: 1\nOutput:\nhi", ("Wall time: 1\nOutput:\n", "hi"), id="header"),
    pytest.param("Output:\nhi", ("Output:\n", "hi"), id="marker-first"),
    pytest.param("echo Output:\nhi", ("", "echo Output:\nhi"), id="marker-mid-line"),
    pytest.param("x" * 600 + "\nOutput:\nhi", ("", "x" * 600 + "\nOutput:\nhi"), id="marker-too-far"),
])
def test_split_header(text: str, expected: tuple[str, str]) -> None:
    assert split_header(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("<tool_use_error>String to replace not found in file.</tool_use_error>", "edit_mismatch",
                 id="edit-mismatch-is-not-a-missing-file"),
    pytest.param("gh: Not Found (HTTP 404)", "http_error", id="gh-404-is-not-a-missing-file"),
    pytest.param("src/a.go:429:3: line is 140 characters (lll)", "exit_nonzero", id="429-in-lint-output"),
    pytest.param("--- FAIL: TestCart (0.00s)\nFAIL\tshop/cart\t0.01s", "test_failure", id="go-test"),
    pytest.param("Finished in 0.1 seconds\n12 tests, 2 failures", "test_failure", id="exunit"),
    pytest.param("Finished in 0.1 seconds\n12 tests, 0 failures", "exit_nonzero", id="exunit-passing"),
    pytest.param(" Tests  2 failed | 10 passed (12)", "test_failure", id="vitest"),
    pytest.param("test result: FAILED. 3 passed; 1 failed", "test_failure", id="cargo"),
    pytest.param("5 examples, 1 failure", "test_failure", id="rspec"),
    pytest.param("unknown flag: --stat", "usage_error", id="unknown-flag"),
    pytest.param("ENOENT: no such file or directory, posix_spawn '/opt/x/claude'", "tool_unavailable",
                 id="agent-tool-could-not-start"),
    pytest.param("(eval):1: command not found: psql", "command_not_found", id="zsh-command-not-found"),
    pytest.param("✗ Metadata branch not found", "exit_nonzero", id="not-found-in-a-log-is-not-a-file"),
])
def test_error_category(text: str, expected: str) -> None:
    assert error_category(kind="shell", text=text, exit_code=1) == expected
