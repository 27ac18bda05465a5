from __future__ import annotations

import dataclasses
from datetime import datetime
from datetime import timezone

import pytest

from headroom_ci.learning.efficacy import Counts
from headroom_ci.learning.efficacy import last_seen
from headroom_ci.learning.efficacy import measure
from headroom_ci.learning.efficacy import parse_time
from headroom_ci.learning.efficacy import RuleEffect
from headroom_ci.learning.efficacy import RunLog
from headroom_ci.learning.efficacy import since_dates
from headroom_ci.learning.identity import failure_id
from headroom_ci.learning.merge import InEffect
from headroom_ci.sessions.model import Run
from testing.builders import bash
from testing.builders import session

PYTEST = failure_id("runner", "python3 -m pytest")
NPM = failure_id("alternative", "npm test")


def _block(record: str) -> str:
    return f"<!-- headroom:learn:start -->\n## H\n<!-- headroom-ci:rules {record} -->\n<!-- headroom:learn:end -->\n"


def _run(run_id: str, when: str | None, *failing: str, started: str | None = None):  # type: ignore[no-untyped-def]
    specs = []
    for name in failing:
        if name == "pytest":
            specs += [bash("python3 -m pytest tests/", "ModuleNotFoundError: No module named 'fastapi'", code=1),
                      bash("uv run pytest tests/", "ok")]
        else:
            specs += [bash("npm test", 'npm error Missing script: "test"', code=1), bash("npm run test:unit", "ok")]
    s = session(*specs, sid=f"s{run_id}", run=run_id)
    return dataclasses.replace(s, run=Run(run_id, created_at=when), started_at=started)


def test_run_log_keeps_each_run_s_time_and_failures() -> None:
    log = RunLog(repo_path=None)
    log.add(_run("1", "2026-11-02T08:00:00Z", "pytest", "npm"))
    log.add(_run("1", "2026-11-02T07:00:00Z"))               # another session of run 1, earlier
    log.add(_run("2", None, "npm", started="2026-11-09T10:00:00+02:00"))  # no run time: the session's
    log.add(_run("3", None, "npm"))                          # no time at all: not counted
    log.add(dataclasses.replace(_run("4", "2026-11-10T00:00:00Z", "npm"), run=None))  # not from CI
    assert log.runs == {
        "1": (datetime(2026, 11, 2, 7, tzinfo=timezone.utc), {PYTEST, NPM}),
        "2": (datetime(2026, 11, 9, 8, tzinfo=timezone.utc), {NPM}),
    }


def test_since_is_the_first_version_recording_the_rule() -> None:
    a, b = "a" * 16, "b" * 16
    versions = [("2026-11-01T00:00:00Z", "no block"), ("2026-11-08T09:00:00+01:00", _block(f"{a}.111111.{PYTEST}")),
                ("2026-11-15T00:00:00Z", _block(f"{a}.111111.{PYTEST} {b}.222222.{NPM}")),
                ("2026-11-22T00:00:00Z", _block(f"{a}.111111.{PYTEST} ~{b}..{NPM}")), ("2026-11-23T00:00:00Z", None)]
    assert since_dates(versions) == {a: "2026-11-08T09:00:00+01:00", b: "2026-11-15T00:00:00Z"}
    # A shallow clone's oldest version: the rules in it are older than anyone can tell here.
    assert since_dates([(None, versions[1][1]), *versions[2:]]) == {b: "2026-11-15T00:00:00Z"}


RUNS = {
    "1": (datetime(2026, 11, 1, tzinfo=timezone.utc), {PYTEST, NPM}),
    "2": (datetime(2026, 11, 2, tzinfo=timezone.utc), {PYTEST}),
    "3": (datetime(2026, 11, 9, tzinfo=timezone.utc), {NPM}),
    "4": (datetime(2026, 11, 10, tzinfo=timezone.utc), set()),
}


@pytest.mark.parametrize("failure, since, expected", [
    pytest.param(PYTEST, "2026-11-05T00:00:00Z", ("2026-11-05", Counts(2, 2), Counts(2, 0), "working"), id="working"),
    pytest.param(NPM, "2026-11-05T00:00:00Z", ("2026-11-05", Counts(2, 1), Counts(2, 1), "recurring"), id="recurring"),
    pytest.param(NPM, "2026-11-09T00:00:00Z", ("2026-11-09", Counts(2, 1), Counts(2, 1), "recurring"),
                 id="a-run-at-the-merge-counts-as-after"),
    pytest.param(PYTEST, "2026-12-01T00:00:00Z", ("2026-12-01", Counts(4, 2), Counts(0, 0), "no-data"),
                 id="no-run-since"),
    pytest.param(PYTEST, None, (None, Counts(0, 0), Counts(0, 0), "no-data"), id="not-on-the-base-yet"),
    pytest.param("", "2026-11-05T00:00:00Z", ("2026-11-05", Counts(2, 0), Counts(2, 0), "no-data"),
                 id="failure-unknown"),
])
def test_measure(failure: str, since: str | None, expected: tuple[object, ...]) -> None:
    rule = InEffect("a" * 16, failure, "Environment", "- Use `uv run pytest`.", False)
    got = measure([rule], {"a" * 16: since} if since else {}, RUNS)
    assert got == [RuleEffect("a" * 16, "Environment", "- Use `uv run pytest`.", *expected)]  # type: ignore[arg-type]


def test_parse_time() -> None:
    assert parse_time("2026-11-01T08:00:00Z") == datetime(2026, 11, 1, 8, tzinfo=timezone.utc)
    assert parse_time("2026-11-01T08:00:00") == datetime(2026, 11, 1, 8, tzinfo=timezone.utc)
    assert parse_time("yesterday") is None and parse_time(None) is None


def test_run_log_looks_only_for_the_failures_asked_for() -> None:
    log = RunLog(repo_path=None, failures=frozenset({NPM}))
    log.add(_run("1", "2026-11-02T08:00:00Z", "pytest", "npm"))
    log.add(_run("2", "2026-11-03T08:00:00Z", "pytest"))
    assert log.runs == {"1": (datetime(2026, 11, 2, 8, tzinfo=timezone.utc), {NPM}),
                        "2": (datetime(2026, 11, 3, 8, tzinfo=timezone.utc), set())}
    none = RunLog(repo_path=None, failures=frozenset())
    none.add(_run("1", "2026-11-02T08:00:00Z", "pytest"))
    assert none.runs == {"1": (datetime(2026, 11, 2, 8, tzinfo=timezone.utc), set())}  # runs still counted


def test_last_seen() -> None:
    assert last_seen(RUNS) == {PYTEST: datetime(2026, 11, 2, tzinfo=timezone.utc),
                               NPM: datetime(2026, 11, 9, tzinfo=timezone.utc)}
