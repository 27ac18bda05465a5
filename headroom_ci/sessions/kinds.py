"""Tool names → kinds, and failure text → error categories (pure)."""
from __future__ import annotations

import re

from headroom_ci.sessions.model import ToolKind

# One table for every agent: the names do not collide across agents.
_KINDS: dict[str, ToolKind] = {
    # Claude Code
    "bash": "shell", "bashoutput": "shell", "killshell": "shell", "killbash": "shell",
    "read": "read", "notebookread": "read",
    "write": "write",
    "edit": "edit", "multiedit": "edit", "notebookedit": "edit",
    "grep": "search", "glob": "glob", "ls": "glob",
    "webfetch": "web", "websearch": "web",
    "task": "agent", "agent": "agent",
    # Codex
    "shell": "shell", "shell_command": "shell", "exec_command": "shell",
    "write_stdin": "shell", "local_shell_call": "shell", "container.exec": "shell",
    "apply_patch": "edit", "view_image": "read",
    "web_search_call": "web", "web_search": "web",
    "spawn_agent": "agent",
    # Gemini CLI
    "run_shell_command": "shell",
    "read_file": "read", "read_many_files": "read",
    "write_file": "write",
    "replace": "edit", "smart_edit": "edit",
    "search_file_content": "search", "grep_search": "search", "ripgrep": "search",
    "list_directory": "glob", "glob_tool": "glob",
    "web_fetch": "web", "google_web_search": "web",
    "delegate_to_agent": "agent",
    # OpenCode
    "patch": "edit", "list": "glob", "codesearch": "search",
}


def tool_kind(name: str) -> ToolKind:
    low = name.lower()
    if low.startswith("mcp__") or low.startswith("mcp_"):
        return "mcp"
    return _KINDS.get(low, "other")


# The runner lines a tool output opens with: Claude "Exit code 1", Codex
# "Exit code: 1" and unified exec "Process exited with code 1", Gemini "Exit Code: 1".
_EXIT_LINE = re.compile(r"^(?:Exit code:? |Process exited with code |Exit Code: )(-?\d{1,10})(?!\d)", re.M)
_OUTPUT = "Output:\n"
_HEADER_SPAN = 600


def split_header(text: str) -> tuple[str, str]:
    """(runner header up to "Output:\\n", the command's own output) of a shell answer;
    ("", text) when the text has no such header."""
    at = text.find(_OUTPUT, 0, _HEADER_SPAN)
    if at < 0 or (at > 0 and text[at - 1] != "\n"):
        return "", text
    return text[:at + len(_OUTPUT)], text[at + len(_OUTPUT):]


def exit_code_from_text(text: str) -> int | None:
    """The exit code a shell tool's runner wrote at the top of its output.

    Only the header is read: the lines before "Output:", or the first line when
    there is no such marker. The command's own output may print anything, and
    the earliest runner line wins. Callers use this for shell tools only.
    """
    header, _ = split_header(text)
    if not header:
        end = text.find("\n", 0, _HEADER_SPAN)
        header = text[:end if end >= 0 else _HEADER_SPAN]
    m = _EXIT_LINE.search(header)
    return int(m.group(1)) if m else None


# Ordered: the first match wins. Matched against the head of the output only, and each pattern
# names an error line, not a word that any output may hold (`429` in a linter's line numbers,
# "not found" in a test's log). Lower-case patterns over lower-cased text: `re.I` is ~3x slower.
_CATEGORIES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(rx.lower(), re.M)) for name, rx in (
        ("user_rejected", r"doesn't want to proceed|user rejected|rejected by (the )?user|aborted by user|"
                          r"user declined|declined by (the )?user|exec command rejected|patch rejected"),
        ("interrupted", r"\[Request interrupted|interrupted by user"),
        ("sibling_error", r"Sibling tool call errored"),
        # The agent's own search tool could not start: nothing about the repository.
        ("tool_unavailable", r"posix_spawn"),
        ("edit_mismatch", r"String to replace not found|old_string|did not match|failed to find expected lines|"
                          r"Found \d+ matches|has been modified since read"),
        ("not_read_first", r"has not been read yet|read it first"),
        # Test runners: Go, ExUnit, RSpec, vitest/jest, cargo, pytest.
        ("test_failure", r"^--- FAIL|^FAIL\s|\b\d+ tests?, [1-9]\d* failures?|\b\d+ examples?, [1-9]\d* failures?|"
                         r"^\s*Tests?:?\s+[1-9]\d* failed|test result: FAILED|\b[1-9]\d* (failed|failing)\b|"
                         r"^FAILED |AssertionError"),
        ("http_error", r"\(HTTP [45]\d\d\)|\b[45]\d\d (Not Found|Forbidden|Unauthorized|Bad Request)\b|^HTTP/[\d.]+ [45]\d\d|\bstatus(?: code)?:? [45]\d\d\b"),
        ("rate_limit", r"rate.?limit(ed| exceeded)|too many requests"),
        ("timeout", r"\btimed out\b|deadline exceeded|\btimeout exceeded\b"),
        ("network", r"ECONNRESET|ECONNREFUSED|ETIMEDOUT|connection (reset|refused)|could not resolve host|network is unreachable|temporary failure in name resolution"),
        ("usage_error", r"unknown (shorthand )?flag|unknown option|unrecognized (argument|option)|invalid option|"
                        r"^usage: |unknown command\b"),
        ("module_not_found", r"ModuleNotFoundError|No module named|Cannot find module|ERR_MODULE_NOT_FOUND|cannot find package"),
        ("missing_script", r"Missing script:|npm ERR! missing script|error: no such command|Unknown script|No rule to make target"),
        ("command_not_found", r"command not found|is not recognized as an internal|executable file not found"),
        ("too_large", r"exceeds maximum allowed (tokens|size)|too large|file content \(.*\) exceeds|exceeds the maximum"),
        ("file_not_found", r"does not exist|No such file or directory|ENOENT|cannot find the (file|path)|"
                           r"\b(file|directory|folder|path) not found"),
        ("permission_denied", r"permission denied|permission to [^ ]+ denied|EACCES|operation not permitted|not allowed|"
                              r"requires approval|requested permissions to use|haven't granted it"),
        ("syntax_error", r"SyntaxError|syntax error|ParseError|parse error|unexpected token"),
    )
)


def error_category(*, kind: ToolKind, text: str, exit_code: int | None) -> str:
    head = text[:2000].lower()
    for name, pattern in _CATEGORIES:
        if pattern.search(head):
            return name
    if exit_code == 127:
        return "command_not_found"
    if exit_code is not None and exit_code != 0:
        return "exit_nonzero"
    return "tool_error"
