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
                 "- Run tests with `uv run pytest`, not `python3 -m pytest` (`fastapi` is only in the uv environment; "
                 "3 sessions, 2 CI runs).", id="runner-module"),
    pytest.param(finding("runner", "python", "python3", category="command_not_found", detail="python"),
                 "Environment", "- Use `python3`, not `python` (`python` is not installed; 3 sessions).",
                 id="runner-program"),
    pytest.param(finding("runner", "docker-compose", "docker compose", category="command_not_found",
                         detail="docker-compose"),
                 "Environment",
                 "- Use `docker compose`, not `docker-compose` (`docker-compose` is not installed; 3 sessions).",
                 id="runner-renamed-program"),
    pytest.param(finding("runner", "pytest", "uv run pytest", category="command_not_found", detail="pytest"),
                 "Environment",
                 "- Run tests with `uv run pytest`, not `pytest` (`pytest` is not installed; 3 sessions).",
                 id="runner-tool-not-on-path"),
    pytest.param(finding("runner", "pip install", "uv pip install"), "Environment",
                 "- Install dependencies with `uv pip install`, not `pip install` (`pip install` fails: non-zero exit; "
                 "3 sessions).", id="runner-same-command-under-uv"),
    pytest.param(finding("alternative", "npm test", "npm run test:unit", category="missing_script", detail="test",
                         fixing="cd web && npm run test:unit"),
                 "Command Patterns",
                 "- Run tests with `npm run test:unit` in `web/`, not `npm test` (there is no `test` script; "
                 "3 sessions).", id="alternative-script-in-folder"),
    pytest.param(finding("alternative", "make lint", "uv run ruff check", category="missing_script", detail="lint",
                         peak=3),
                 "Command Patterns",
                 "- Lint with `uv run ruff check`, not `make lint` (there is no `lint` target; 3 sessions, "
                 "retried up to 3× in a session).", id="alternative-target-retried"),
    pytest.param(finding("path", "services/api/models/user.py", "services/api/app/models/user.py",
                         category="file_not_found"),
                 "File Path Corrections",
                 "- `services/api/models/user.py` does not exist: the file is `services/api/app/models/user.py` "
                 "(3 sessions).", id="path"),
    pytest.param(finding("scope", "lib", "src", category="empty_result"), "Search Scope",
                 "- Search in `src`, not `lib`: searches there find nothing (3 sessions).", id="scope"),
    pytest.param(finding("large_file", "data/fixtures.json", "paged", category="too_large"), "Known Large Files",
                 "- `data/fixtures.json` is too large to read whole: read it in parts (offset/limit) or search it "
                 "(3 sessions).", id="large-file"),
    pytest.param(finding("permission", "git push", None, category="permission_denied"), "Permission Notes",
                 "- `git push` is not permitted here (permission denied in 3 sessions).", id="permission"),
    pytest.param(finding("loop", "gh pr view N", None, category="exit_nonzero", occurrences=9), "Retry Prevention",
                 "- Do not retry `gh pr view N` when it fails (non-zero exit) (repeated 9× in 3 sessions).",
                 id="loop"),
])
def test_rule_text(f: Finding, section: str, content: str) -> None:
    (rec,) = recommend([f])
    assert (rec.section, rec.content, rec.target, rec.tokens_saved, rec.evidence_count) == (
        section, content, "context", 100, 3)


def test_rejections_are_memory_rules() -> None:
    (rec,) = recommend([finding("rejected", "rm", None, category="user_rejected", sessions=2)])
    assert rec == Recommendation("fp-rejected", "User Preferences",
                                 "- Ask before running `rm`: it was rejected in 2 sessions.", "memory", 150, 2,
                                 ("F-rejected",))


def test_a_loop_of_a_command_with_a_rule_is_folded_into_it() -> None:
    recs = recommend([finding("alternative", "make lint", "uv run ruff check", category="missing_script",
                              detail="lint"),
                      finding("loop", "make lint", "uv run ruff check .", peak=4)])
    assert [r.content for r in recs] == [
        "- Lint with `uv run ruff check`, not `make lint` (there is no `lint` target; 3 sessions, "
        "retried up to 4× in a session)."]


@pytest.mark.parametrize("text, expected", [
    pytest.param("ls", "`ls`", id="plain"),
    pytest.param("echo `date`", "`` echo `date` ``", id="backticks"),
    pytest.param("a\n  b", "`a b`", id="whitespace"),
    pytest.param("x" * 120, "`" + "x" * 99 + "…`", id="long"),
])
def test_code(text: str, expected: str) -> None:
    assert code(text) == expected
