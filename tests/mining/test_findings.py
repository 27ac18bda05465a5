from __future__ import annotations

import dataclasses

import pytest

from headroom_ci.mining.findings import Evidence
from headroom_ci.mining.findings import EVIDENCE_PER_FINDING
from headroom_ci.mining.findings import fingerprint
from headroom_ci.mining.findings import Miner
from headroom_ci.mining.findings import RunRef
from headroom_ci.mining.findings import Stats
from headroom_ci.mining.findings import Thresholds
from headroom_ci.sessions.model import Run
from headroom_ci.sessions.model import Session
from testing.builders import bash
from testing.builders import fail
from testing.builders import ok
from testing.builders import ROOT
from testing.builders import session
from testing.builders import Spec

FAIL = bash("python3 -m pytest", "Exit code 1\nModuleNotFoundError: No module named 'fastapi'", code=1)
FIX = bash("uv run pytest", "3 passed")
LINT = bash("make lint", "Exit code 2\nmake: *** No rule to make target 'lint'.  Stop.", code=2)


def _mine(*sessions: Session, thresholds: Thresholds = Thresholds()) -> list[tuple[str, str, int, int, int]]:
    miner = Miner()
    for s in sessions:
        miner.add(s)
    return [(f.kind, f.key, f.sessions, f.runs, f.fixes) for f in miner.findings(thresholds)]


@pytest.mark.parametrize("sessions, thresholds, expected", [
    pytest.param([session(FAIL, FIX, sid="a", run="1"), session(FAIL, FIX, sid="b", run="2")], Thresholds(),
                 [("runner", "python3 -m pytest", 2, 2, 2)], id="two-sessions-two-runs"),
    pytest.param([session(FAIL, FIX, sid="a")], Thresholds(), [], id="once-is-not-a-learning"),
    pytest.param([session(FAIL, FIX, sid="a"), session(FAIL, sid="b")], Thresholds(), [],
                 id="fix-seen-once"),
    pytest.param([session(FAIL, FIX, sid="a"), session(FAIL, sid="b")], Thresholds(min_fixes=1),
                 [("runner", "python3 -m pytest", 2, 0, 1)], id="fix-threshold-is-a-setting"),
    pytest.param([session(LINT, LINT, LINT, bash("uv run ruff check .", "ok"), sid="a")], Thresholds(), [],
                 id="three-retries-in-one-session-are-one-fix"),
    pytest.param([session(LINT, LINT, LINT, bash("uv run ruff check .", "ok"), sid=s) for s in "ab"], Thresholds(),
                 [("alternative", "make lint", 2, 0, 2), ("loop", "make lint", 2, 0, 2)], id="loop-and-its-fix"),
    pytest.param([session(FAIL, FIX, sid=s) for s in "ab"] + [session(FAIL, sid=s) for s in "cdefg"], Thresholds(),
                 [], id="fixed-in-two-of-seven-is-chance"),
    pytest.param([session(FAIL, FIX, sid=s) for s in "abc"] + [session(FAIL, sid=s) for s in "defghi"], Thresholds(),
                 [("runner", "python3 -m pytest", 9, 0, 3)], id="fixed-in-a-third-is-a-fact"),
    pytest.param([session(FAIL, FIX, sid="a", run="1"), session(FAIL, FIX, sid="b", run="1"),
                  session(FAIL, FIX, sid="c", run="1")], Thresholds(), [], id="three-sessions-of-one-run-are-one"),
    pytest.param([session(FAIL, FIX, sid="a", run="1"), session(FAIL, FIX, sid="b", run="1"),
                  session(FAIL, FIX, sid="c", run="2")], Thresholds(), [("runner", "python3 -m pytest", 3, 2, 2)],
                 id="two-runs"),
])
def test_thresholds(sessions: list[Session], thresholds: Thresholds, expected: list[tuple[str, str, int, int, int]]) -> None:
    assert _mine(*sessions, thresholds=thresholds) == expected


def test_finding_carries_its_evidence() -> None:
    miner = Miner()
    miner.add(session(FAIL, FIX, sid="a", run="101"))
    miner.add(session(FAIL, FAIL, FIX, sid="b", run="102"))
    (f,) = miner.findings()
    assert (f.id, f.fingerprint) == (f"F-{fingerprint('runner', 'python3 -m pytest', 'uv run pytest')[:8]}",
                                     fingerprint("runner", "python3 -m pytest", "uv run pytest"))
    assert (f.occurrences, f.peak, f.category, f.detail) == (3, 2, "module_not_found", "fastapi")
    assert f.evidence == (
        Evidence("a", "a.jsonl", "claude", "101", None, "python3 -m pytest", "uv run pytest",
                 "ModuleNotFoundError: No module named 'fastapi'"),
        Evidence("b", "b.jsonl", "claude", "102", None, "python3 -m pytest", "uv run pytest",
                 "ModuleNotFoundError: No module named 'fastapi'"),
    )
    assert miner.stats() == Stats(sessions=2, tool_calls=5, failures=3, wasted_tokens=3 * (
        (len(FAIL.output) + len("python3 -m pytest")) // 4 + 10))


def test_fingerprint_is_stable_and_specific() -> None:
    assert fingerprint("runner", "python3 -m pytest", "uv run pytest") == "c8508618d90c0c0f"
    assert fingerprint("runner", "python3 -m pytest", "poetry run pytest") != fingerprint(
        "runner", "python3 -m pytest", "uv run pytest")


def test_ranking_is_by_sessions_then_waste() -> None:
    path_fail = bash("cat services/api/models/user.py", "Exit code 1\ncat: x: No such file or directory", code=1)
    sessions = [session(FAIL, FIX, sid=s) for s in "abc"] + [session(LINT, bash("uv run ruff check", "ok"), sid=s)
                                                             for s in "de"]
    assert [k for k, *_ in _mine(*sessions)] == ["runner", "alternative"]
    assert path_fail.is_error


def test_evidence_is_redacted() -> None:
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    leak = bash(f"curl -H 'Authorization: token {token}' https://api.github.com/x",
                f"Exit code 22\ncurl: (22) 401 for token {token}", code=22)
    ok_call = bash("gh api x", "{}")
    miner = Miner()
    for sid in "ab":
        miner.add(session(leak, ok_call, sid=sid))
    rendered = repr(miner.findings(Thresholds(min_fixes=0)))
    assert token not in rendered
    assert "[REDACTED:github-token]" in rendered


def _path_miss(sid: str, cwd: str, run: str | None = None) -> Session:
    return session(fail("Read", "File does not exist. Did you mean config.yaml?", file_path=f"{cwd}/etc/config.yml"),
                   sid=sid, cwd=cwd, run=run)


def test_sessions_of_other_repositories_are_set_aside_not_pooled() -> None:
    miner = Miner()
    for i, cwd in enumerate(("/Users/a/shop", "/Users/b/shop", "/Users/a/blog", "/Users/c/blog", "/Users/c/blog")):
        miner.add(_path_miss(f"s{i}", cwd))
    assert [(f.kind, f.key, f.fix, f.sessions) for f in miner.findings()] == [
        ("path", "etc/config.yml", "etc/config.yaml", 3)]
    assert miner.set_aside() == [("shop", 2)]


def test_the_repository_at_repo_path_is_learned_even_when_smaller() -> None:
    miner = Miner(repo_path="/work/shop")
    for i, cwd in enumerate(("/Users/a/shop", "/Users/b/shop", "/Users/a/blog", "/Users/c/blog", "/Users/c/blog")):
        miner.add(_path_miss(f"s{i}", cwd))
    assert [f.sessions for f in miner.findings()] == [2]
    assert miner.set_aside() == [("blog", 3)]


def test_sessions_of_one_ci_run_count_once() -> None:
    miner = Miner()
    for i in range(3):
        miner.add(_path_miss(f"s{i}", "/home/runner/work/shop/shop", run="101"))
    assert miner.findings() == []
    miner.add(_path_miss("s9", "/home/runner/work/shop/shop", run="102"))
    assert [(f.sessions, f.runs) for f in miner.findings()] == [(4, 2)]


def test_a_session_split_in_two_files_is_one_session_merged_by_call_id() -> None:
    first = _path_miss("s1", "/w/shop")
    again = dataclasses.replace(first, path="copy.jsonl")
    miner = Miner()
    miner.add(first)
    miner.add(again)
    assert (miner.stats().sessions, miner.stats().tool_calls) == (1, 1)


def _kinds(miner: Miner, thresholds: Thresholds = Thresholds()) -> list[tuple[str, str, str | None]]:
    return [(f.kind, f.key, f.fix) for f in miner.findings(thresholds)]


def _grep(where: str, found: bool, pattern: str = "SessionState") -> Spec:
    return ok("Grep", f"{where}/state.go:3:type {pattern} struct" if found else "No matches found",
              pattern=pattern, path=f"{ROOT}/{where}")


def test_a_folder_where_searches_usually_succeed_gets_no_scope_rule() -> None:
    miner = Miner()
    for i in range(3):
        miner.add(session(_grep("src/core", False), _grep("src/session", True), sid=f"miss{i}"))
    for i in range(2):
        miner.add(session(_grep("src/core", True), sid=f"hit{i}"))
    assert _kinds(miner) == []


def test_a_place_searches_fail_in_most_sessions_gets_a_scope_rule() -> None:
    miner = Miner()
    for i in range(3):
        miner.add(session(_grep("src/core", False), _grep("src/session", True), sid=f"miss{i}"))
    miner.add(session(_grep("src/core", True), sid="hit"))
    assert _kinds(miner) == [("scope", "src/core", "src/session")]


def _read(path: str, *, exists: bool, text: str = "x") -> Spec:
    return ok("Read", text, file_path=f"{ROOT}/{path}") if exists else fail(
        "Read", "<tool_use_error>File does not exist.</tool_use_error>", file_path=f"{ROOT}/{path}")


def test_a_missing_folder_is_one_rule_and_its_files_fold_into_it() -> None:
    miner = Miner()
    miner.add(session(_read("src/commands/run.py", exists=False), _read("src/run.py", exists=True), sid="a"))
    miner.add(session(_read("src/commands/run.py", exists=False), _read("src/run.py", exists=True), sid="b"))
    miner.add(session(_read("src/commands/init.py", exists=False), sid="c"))
    assert _kinds(miner) == [("folder", "src/commands", "src")]


def test_a_folder_whose_files_are_read_is_not_missing() -> None:
    miner = Miner()
    for sid in "abc":
        miner.add(session(_read("src/commands/run.py", exists=False), _read("src/run.py", exists=True),
                          _read("src/commands/init.py", exists=False), sid=sid))
    for sid in "de":
        miner.add(session(_read("src/commands/help.py", exists=True), sid=sid))
    assert _kinds(miner) == [("path", "src/commands/run.py", "src/run.py")]


def test_paths_outside_the_repository_make_no_rule() -> None:
    miner = Miner()
    for sid in "ab":
        miner.add(session(fail("Read", "File does not exist. Did you mean b.md?", file_path="/etc/shop/a.md"), sid=sid))
    assert _kinds(miner) == []


def test_a_worktree_of_another_name_is_the_same_repository_by_its_files() -> None:
    files = [_read(f"src/m{i}.py", exists=True) for i in range(4)]
    miner = Miner()
    miner.add(session(*files, fail("Read", "File does not exist. Did you mean config.yaml?",
                                   file_path=f"{ROOT}/etc/config.yml"), sid="a"))
    miner.add(session(*files, fail("Read", "File does not exist. Did you mean config.yaml?",
                                   file_path="/Users/b/fix-cart/etc/config.yml"), sid="b", cwd="/Users/b/fix-cart"))
    miner.add(session(_read("README.md", exists=True), sid="c", cwd="/Users/c/blog"))
    assert _kinds(miner) == [("path", "etc/config.yml", "etc/config.yaml")]
    assert miner.set_aside() == [("blog", 1)]


def test_a_session_in_a_subfolder_is_of_the_repository() -> None:
    miner = Miner()
    miner.add(_path_miss("a", "/Users/a/shop"))
    miner.add(_path_miss("b", "/Users/a/shop/web"))
    assert _kinds(miner) == [("path", "etc/config.yml", "etc/config.yaml")]
    assert miner.set_aside() == []
    assert miner.stats().sessions == 2


def test_subagents_count_with_their_parent() -> None:
    miner = Miner()
    for i in range(3):
        sub = dataclasses.replace(_path_miss(f"agent{i}", "/w/shop"), subagent=True, parent_id="parent")
        miner.add(sub)
    assert miner.findings() == []
    miner.add(_path_miss("other", "/w/shop"))
    assert [(f.sessions, f.runs) for f in miner.findings()] == [(4, 0)]


def test_the_repository_with_most_sessions_counts_its_subfolders() -> None:
    miner = Miner()
    for sid in "ab":
        miner.add(_path_miss(sid, "/Users/a/scratch"))
    miner.add(_path_miss("c", "/Users/a/shop"))
    miner.add(_path_miss("d", "/Users/a/shop/web"))
    miner.add(_path_miss("e", "/Users/a/shop/e2e"))
    assert miner.set_aside() == [("scratch", 2)]
    assert miner.stats().sessions == 3


def test_evidence_keeps_a_fixed_example_before_unfixed_ones() -> None:
    miner = Miner()
    for sid in "abcd":
        miner.add(session(FAIL, sid=sid))
    for sid in "gh":
        miner.add(session(FAIL, FIX, sid=sid))
    (f,) = miner.findings(Thresholds(min_sessions=2, min_fixes=2))
    assert [e.fixing for e in f.evidence] == ["uv run pytest", "uv run pytest", None, None, None]


def test_another_repository_with_files_of_its_own_is_set_aside() -> None:
    miner = Miner()
    for sid in "ab":
        miner.add(_path_miss(sid, "/Users/a/shop"))
    miner.add(session(*[_read(f"posts/p{i}.md", exists=True) for i in range(3)], sid="c", cwd="/Users/a/blog"))
    assert miner.set_aside() == [("blog", 1)]


def test_a_missing_folder_is_found_whatever_failed_before_it() -> None:
    miner = Miner()
    for sid in "abc":
        miner.add(session(LINT, _read("src/commands/run.py", exists=False), _read("src/commands/init.py", exists=False),
                          sid=sid))
    assert ("folder", "src/commands", None) in _kinds(miner)


def test_a_resumed_session_adds_only_its_new_calls() -> None:
    first = session(FAIL, FIX, sid="s1")
    resumed = session(FAIL, FIX, LINT, sid="s1")
    resumed = dataclasses.replace(resumed, tool_calls=(*first.tool_calls, *(
        dataclasses.replace(c, call_id=f"new{i}") for i, c in enumerate(resumed.tool_calls[2:]))))
    miner = Miner()
    miner.add(first)
    miner.add(resumed)
    assert (miner.stats().sessions, miner.stats().tool_calls) == (1, 3)


def test_the_repository_at_repo_path_is_found_by_its_folder() -> None:
    miner = Miner(repo_path="/work/checkout")
    for sid in "bc":
        miner.add(_path_miss(sid, "/Users/x/other"))
    miner.add(_path_miss("a", "/work/checkout/web"))
    assert miner.set_aside() == [("other", 2)]


@pytest.mark.parametrize("shared, merged", [
    pytest.param(2, False, id="half-the-files-is-another-repository"),
    pytest.param(3, True, id="most-of-the-files-is-this-repository"),
])
def test_checkouts_of_other_names_share_most_files(shared: int, merged: bool) -> None:
    mine = [_read(f"src/m{i}.py", exists=True) for i in range(4)]
    theirs = [_read(f"src/m{i}.py", exists=True) for i in range(shared)] + [
        _read(f"lib/x{i}.py", exists=True) for i in range(4 - shared)]
    miner = Miner()
    for sid in "ab":
        miner.add(session(*mine, sid=sid))
    miner.add(session(*theirs, sid="c", cwd="/Users/b/fix-cart"))
    assert miner.set_aside() == ([] if merged else [("fix-cart", 1)])


def test_three_files_all_shared_are_enough() -> None:
    miner = Miner()
    for sid in "ab":
        miner.add(session(*[_read(f"src/m{i}.py", exists=True) for i in range(3)], sid=sid))
    miner.add(session(*[_read(f"src/m{i}.py", exists=True) for i in range(3)], sid="c", cwd="/Users/b/fix-cart"))
    assert miner.set_aside() == []


def test_a_place_that_fails_in_two_sessions_and_succeeds_in_one_is_not_wrong() -> None:
    miner = Miner()
    for i in range(2):
        miner.add(session(_grep("src/core", False), _grep("src/session", True), sid=f"miss{i}"))
    miner.add(session(_grep("src/core", True), sid="hit"))
    assert _kinds(miner) == []


def test_a_folder_read_once_against_three_failures_is_still_missing() -> None:
    miner = Miner()
    for sid in "abc":
        miner.add(session(_read("src/commands/run.py", exists=False), _read("src/commands/init.py", exists=False),
                          sid=sid))
    miner.add(session(_read("src/commands/help.py", exists=True), sid="d"))
    assert ("folder", "src/commands", None) in _kinds(miner)


def test_a_subagent_without_a_parent_counts_alone() -> None:
    miner = Miner()
    for i in range(2):
        miner.add(dataclasses.replace(_path_miss(f"agent{i}", "/w/shop"), subagent=True, parent_id=None))
    assert [f.sessions for f in miner.findings()] == [2]


def _in_run(sid: str, run_id: str, *, url: bool = True, created_at: str | None = None) -> Session:
    run = Run(run_id, url=f"https://github.com/acme/shop/actions/runs/{run_id}" if url else None, created_at=created_at)
    return dataclasses.replace(session(FAIL, FIX, sid=sid), run=run)


_URL = "https://github.com/acme/shop/actions/runs/"


@pytest.mark.parametrize("sessions, runs_seen", [
    pytest.param([_in_run(f"s{i}", str(200 + i), created_at=f"2026-11-{10 + i:02d}T09:00:00Z") for i in (3, 11, 0, 7,
                                                                                                  1, 9, 4, 10, 2, 8, 6, 5)],
                 tuple(RunRef(str(200 + i), f"{_URL}{200 + i}", f"2026-11-{10 + i:02d}T09:00:00Z") for i in range(11, -1, -1)),
                 id="twelve-runs-every-one-newest-first"),
    pytest.param([_in_run("a", "9"), _in_run("b", "100"), _in_run("c", "10"), _in_run("d", "100")],
                 (RunRef("100", f"{_URL}100"), RunRef("10", f"{_URL}10"), RunRef("9", f"{_URL}9")),
                 id="no-start-times-by-id-each-run-once"),
    pytest.param([_in_run("a", "300"), _in_run("b", "5", created_at="2026-11-01T00:00:00Z")],
                 (RunRef("5", f"{_URL}5", "2026-11-01T00:00:00Z"), RunRef("300", f"{_URL}300")),
                 id="a-known-start-before-unknown-ones"),
    pytest.param([_in_run("a", "7", url=False), _in_run("b", "7", created_at="2026-11-02T00:00:00Z"), _in_run("c", "8")],
                 (RunRef("7", f"{_URL}7", "2026-11-02T00:00:00Z"), RunRef("8", f"{_URL}8")),
                 id="a-later-session-completes-its-run"),
])
def test_a_finding_carries_every_run_it_was_seen_in(sessions: list[Session], runs_seen: tuple[RunRef, ...]) -> None:
    miner = Miner()
    for s in sessions:
        miner.add(s)
    (f,) = miner.findings()
    assert f.runs_seen == runs_seen
    assert f.runs == len(runs_seen)
    assert len(f.evidence) == min(len(sessions), EVIDENCE_PER_FINDING)
