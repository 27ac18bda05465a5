from __future__ import annotations

import pytest

from headroom_ci.mining.findings import Evidence
from headroom_ci.mining.findings import Finding
from headroom_ci.rules import code
from headroom_ci.rules import Recommendation
from headroom_ci.rules import recommend


def finding(kind: str, key: str, fix: str | None, *, category: str = "exit_nonzero", detail: str | None = None,
            sessions: int = 3, runs: int = 0, occurrences: int = 3, peak: int = 1, wasted: int = 300,
            fixing: str | None = None) -> Finding:
    ev = (Evidence("s", "s.jsonl", "claude", None, None, key, fixing or fix, "err"),)
    return Finding(id=f"F-{kind}", fingerprint=f"fp-{kind}", kind=kind, key=key, fix=fix, category=category,
                   detail=detail, sessions=sessions, runs=runs, occurrences=occurrences, peak=peak, fixes=sessions,
                   wasted_tokens=wasted, evidence=ev)


@pytest.mark.parametrize("f, section, content", [
    pytest.param(finding("runner", "python3 -m pytest", "uv run pytest", category="module_not_found", detail="fastapi",
                         runs=2),
                 "Environment",
                 "- Run tests with `uv run pytest`, not `python3 -m pytest`: `fastapi` is only in the uv environment.",
                 id="runner-module"),
    pytest.param(finding("runner", "python", "python3", category="command_not_found", detail="python"),
                 "Environment", "- Use `python3`, not `python`: `python` is not installed.",
                 id="runner-program"),
    pytest.param(finding("runner", "docker-compose", "docker compose", category="command_not_found",
                         detail="docker-compose"),
                 "Environment",
                 "- Use `docker compose`, not `docker-compose`: `docker-compose` is not installed.",
                 id="runner-renamed-program"),
    pytest.param(finding("runner", "pytest", "uv run pytest", category="command_not_found", detail="pytest"),
                 "Environment",
                 "- Run tests with `uv run pytest`, not `pytest`: `pytest` is not installed.",
                 id="runner-tool-not-on-path"),
    pytest.param(finding("runner", "pip install", "uv pip install"), "Environment",
                 "- Install dependencies with `uv pip install`, not `pip install`: `pip install` fails: non-zero exit.",
                 id="runner-same-command-under-uv"),
    pytest.param(finding("alternative", "npm test", "npm run test:unit", category="missing_script", detail="test",
                         fixing="cd web && npm run test:unit"),
                 "Command Patterns",
                 "- Run tests with `npm run test:unit` in `web/`, not `npm test`: there is no `test` script.",
                 id="alternative-script-in-folder"),
    pytest.param(finding("alternative", "make lint", "uv run ruff check", category="missing_script", detail="lint",
                         peak=3),
                 "Command Patterns",
                 "- Lint with `uv run ruff check`, not `make lint`: there is no `lint` target; do not retry it.",
                 id="alternative-target-retried"),
    pytest.param(finding("alternative", "make lint", "uv run ruff check", category="missing_script", detail="lint",
                         peak=2),
                 "Command Patterns",
                 "- Lint with `uv run ruff check`, not `make lint`: there is no `lint` target.",
                 id="alternative-retried-twice-is-not-a-loop"),
    pytest.param(finding("alternative", "npm test", "npm run verify", category="missing_script", detail="test"),
                 "Command Patterns", "- Run tests with `npm run verify`, not `npm test`: there is no `test` script.",
                 id="alternative-verb-from-the-failing-command"),
    pytest.param(finding("prerequisite", "mix test", "mix deps.get", category="exit_nonzero"), "Command Patterns",
                 "- Run `mix deps.get` before `mix test`: without it `mix test` fails (non-zero exit).",
                 id="prerequisite"),
    pytest.param(finding("variant", "gh pr diff --stat", "gh pr diff --name-only", category="usage_error"),
                 "Command Patterns", "- `gh pr diff` has no `--stat` option here: use `gh pr diff --name-only`.",
                 id="variant-flag"),
    pytest.param(finding("variant", "gh api repos/o/r/pulls/N/comments/N", "gh api repos/o/r/pulls/comments/N",
                         category="http_error"),
                 "Command Patterns",
                 "- `gh api repos/o/r/pulls/N/comments/N` answers an HTTP error: the working form is "
                 "`gh api repos/o/r/pulls/comments/N`.", id="variant-arguments"),
    pytest.param(finding("variant", "git push", "git push --set-upstream", category="exit_nonzero"),
                 "Command Patterns",
                 "- `git push` fails here without `--set-upstream` (its error says so): use `git push --set-upstream`.",
                 id="variant-the-errors-hint"),
    pytest.param(finding("path", "services/api/models/user.py", "services/api/app/models/user.py",
                         category="file_not_found"),
                 "File Path Corrections",
                 "- `services/api/models/user.py` does not exist: the file is `services/api/app/models/user.py`.",
                 id="path"),
    pytest.param(finding("folder", "src/commands", "src", category="file_not_found"), "File Path Corrections",
                 "- There is no `src/commands/` folder: the files are in `src/`.", id="folder"),
    pytest.param(finding("folder", "src/commands", None, category="file_not_found"), "File Path Corrections",
                 "- There is no `src/commands/` folder.", id="folder-without-fix"),
    pytest.param(finding("scope", "lib/types.py", "src", category="empty_result"), "Search Scope",
                 "- Searches in `lib/types.py` find nothing in most sessions: what they look for is in `src`.",
                 id="scope"),
    pytest.param(finding("large_file", "data/fixtures.json", "paged", category="too_large"), "Known Large Files",
                 "- `data/fixtures.json` is too large to read whole: read it in parts (offset/limit) or search it.",
                 id="large-file"),
    pytest.param(finding("permission", ".git/hooks/pre-push", None, category="permission_denied"),
                 "Permission Notes", "- The sandbox refuses `.git/hooks/pre-push` (permission denied): leave it alone.",
                 id="permission-path"),
    pytest.param(finding("permission", "<<heredoc", None, category="permission_denied"), "Permission Notes",
                 "- The sandbox refuses heredocs (`<<EOF`), which need a temp file: pass text with `-m`/`-F FILE` "
                 "or write the file first.", id="permission-heredoc"),
    pytest.param(finding("permission", "\\ line continuation", None, category="permission_denied"),
                 "Permission Notes", "- The shell refuses `\\` line continuations: write the command on one line.",
                 id="permission-line-continuation"),
    pytest.param(finding("skill", "commit", None, category="tool_error"), "Environment",
                 "- There is no `commit` skill: do it with the usual tools.", id="skill"),
    pytest.param(finding("workdir", "cd", None, category="file_not_found"), "Command Patterns",
                 "- The shell keeps its working directory between commands: after `cd` into a folder, "
                 "repository-relative paths fail; run commands from the repository root (`cd` back, or pass the "
                 "folder as an argument).", id="workdir"),
    pytest.param(finding("loop", "gh pr view N", None, category="exit_nonzero", occurrences=9), "Retry Prevention",
                 "- Do not retry `gh pr view` when it fails (non-zero exit).", id="loop"),
])
def test_rule_text(f: Finding, section: str, content: str) -> None:
    (rec,) = recommend([f])
    assert (rec.section, rec.content, rec.target, rec.tokens_saved, rec.evidence_count) == (
        section, content, "context", 100, 3)


@pytest.mark.parametrize("sessions, runs", [pytest.param(3, 0, id="sessions"), pytest.param(7, 5, id="runs")])
def test_rule_text_carries_no_counts(sessions: int, runs: int) -> None:
    """The bullet is stable week to week: new evidence for a rule changes its other fields, not its text."""
    few = recommend([finding("path", "a/b.py", "a/c/b.py", category="file_not_found")])
    many = recommend([finding("path", "a/b.py", "a/c/b.py", category="file_not_found", sessions=sessions, runs=runs,
                              occurrences=40, wasted=9000)])
    assert [r.content for r in many] == [r.content for r in few]
    assert many[0].evidence_count == sessions


def test_tokens_saved_are_per_session() -> None:
    (one,) = recommend([finding("path", "a/b.py", "a/c/b.py", category="file_not_found", sessions=1, wasted=90)])
    (four,) = recommend([finding("path", "a/b.py", "a/c/b.py", category="file_not_found", sessions=4, wasted=90)])
    assert (one.tokens_saved, four.tokens_saved) == (90, 22)


def test_rejections_are_memory_rules() -> None:
    (rec,) = recommend([finding("rejected", "rm", None, category="user_rejected", sessions=2)])
    assert rec == Recommendation("fp-rejected", "User Preferences",
                                 "- Ask before running `rm`: the user has refused it.", "memory", 150, 2,
                                 ("F-rejected",))


def test_a_loop_of_a_command_with_a_rule_is_folded_into_it() -> None:
    recs = recommend([finding("alternative", "make lint", "uv run ruff check", category="missing_script",
                              detail="lint"),
                      finding("loop", "make lint", "uv run ruff check .", peak=4)])
    assert [r.content for r in recs] == [
        "- Lint with `uv run ruff check`, not `make lint`: there is no `lint` target; do not retry it."]


@pytest.mark.parametrize("text, expected", [
    pytest.param("ls", "`ls`", id="plain"),
    pytest.param("echo `date`", "`` echo `date` ``", id="backticks"),
    pytest.param("a\n  b", "`a b`", id="whitespace"),
    pytest.param("x" * 120, "`" + "x" * 99 + "…`", id="long"),
])
def test_code(text: str, expected: str) -> None:
    assert code(text) == expected
