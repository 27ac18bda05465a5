from __future__ import annotations

import json
import stat
import time
import zipfile
from collections.abc import Iterator
from datetime import datetime
from datetime import timezone
from pathlib import Path
from typing import Any

import pytest

from headroom_ci.archive import ArchiveError
from headroom_ci.archive import Limits
from headroom_ci.commands.fetch import STATUSES
from headroom_ci.errors import UsageError
from headroom_ci.github import artifacts as artifacts_module
from headroom_ci.github.artifacts import ArtifactGone
from headroom_ci.github.artifacts import ArtifactInfo
from headroom_ci.github.artifacts import bundle_manifest
from headroom_ci.github.artifacts import created_filter
from headroom_ci.github.artifacts import download
from headroom_ci.github.artifacts import DownloadError
from headroom_ci.github.artifacts import FOREIGN_MANIFEST
from headroom_ci.github.artifacts import install
from headroom_ci.github.artifacts import list_artifacts
from headroom_ci.github.artifacts import Listing
from headroom_ci.github.artifacts import name_matches
from headroom_ci.github.artifacts import newest
from headroom_ci.github.artifacts import parse_since
from headroom_ci.github.artifacts import Query
from headroom_ci.github.artifacts import run_matches
from headroom_ci.github.artifacts import RunInfo
from headroom_ci.github.artifacts import workflow_ref
from headroom_ci.github.client import connect
from headroom_ci.github.client import GitHubError
from headroom_ci.github.client import GitHubSettings
from headroom_ci.github.client import RateLimitWaitError
from headroom_ci.github.client import WaitBudget
from headroom_ci.sessions.bundle import manifest
from headroom_ci.sessions.model import Run
from testing.fake_github import FakeGitHub
from testing.fake_github import TOKEN
from testing.fake_github import actions as fake_actions
from testing.fake_github.actions import zip_of

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


# -- pure ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("14d", "2026-11-07T12:00:00+00:00", id="days"),
    pytest.param("36h", "2026-11-20T00:00:00+00:00", id="hours"),
    pytest.param("2w", "2026-11-07T12:00:00+00:00", id="weeks"),
    pytest.param(" 3d ", "2026-11-18T12:00:00+00:00", id="spaces"),
    pytest.param("2026-11-01", "2026-11-01T00:00:00+00:00", id="date-is-utc"),
    pytest.param("2026-11-01T10:30:00Z", "2026-11-01T10:30:00+00:00", id="zulu"),
    pytest.param("2026-11-01T10:30:00+02:00", "2026-11-01T08:30:00+00:00", id="offset"),
])
def test_parse_since(text: str, expected: str) -> None:
    assert parse_since(text, now=NOW).isoformat() == expected


@pytest.mark.parametrize("text", [
    pytest.param("14", id="no-unit"), pytest.param("14m", id="minutes"), pytest.param("yesterday", id="word"),
    pytest.param("", id="empty"),
])
def test_parse_since_refuses(text: str) -> None:
    with pytest.raises(UsageError) as exc:
        parse_since(text, now=NOW)
    assert str(exc.value) == (f"--since {text!r}: expected an age such as 14d, 36h or 2w, or a date such as "
                              f"2026-11-01")


@pytest.mark.parametrize(("since", "expected"), [
    pytest.param("2026-11-07T09:30:00Z", ">=2026-11-07", id="day-of"),
    pytest.param("2026-11-07T01:00:00+02:00", ">=2026-11-06", id="utc-day"),
])
def test_created_filter(since: str, expected: str) -> None:
    assert created_filter(_at(since)) == expected


@pytest.mark.parametrize(("spec", "expected"), [
    pytest.param("agent.yml", "agent.yml", id="file"),
    pytest.param(".github/workflows/agent.yml", "agent.yml", id="path"),
    pytest.param("161335", 161335, id="id"),
])
def test_workflow_ref(spec: str, expected: int | str) -> None:
    assert workflow_ref(spec) == expected


RUN = RunInfo(id=7, created_at=_at("2026-11-10T08:00:00Z"), branch="main", status="completed", conclusion="success")


@pytest.mark.parametrize(("query", "expected"), [
    pytest.param(Query(), True, id="no-filter"),
    pytest.param(Query(since=_at("2026-11-10T08:00:00Z")), True, id="since-equal"),
    pytest.param(Query(since=_at("2026-11-10T08:00:01Z")), False, id="since-after"),
    pytest.param(Query(branch="main"), True, id="branch"),
    pytest.param(Query(branch="dev"), False, id="other-branch"),
    pytest.param(Query(status="success"), True, id="conclusion"),
    pytest.param(Query(status="completed"), True, id="status"),
    pytest.param(Query(status="failure"), False, id="other-status"),
])
def test_run_matches(query: Query, expected: bool) -> None:
    assert run_matches(RUN, query) is expected


def test_newest_dedupes_and_orders() -> None:
    a = RunInfo(1, _at("2026-11-01T00:00:00Z"))
    b = RunInfo(2, _at("2026-11-03T00:00:00Z"))
    c = RunInfo(3, _at("2026-11-03T00:00:00Z"))
    assert [r.id for r in newest([a, b, c, b], 10)] == [3, 2, 1]
    assert [r.id for r in newest([a, b, c], 2)] == [3, 2]


@pytest.mark.parametrize(("name", "glob", "expected"), [
    pytest.param("agent-sessions-claude", "agent-sessions-*", True, id="default"),
    pytest.param("Agent-Sessions-claude", "agent-sessions-*", False, id="case-sensitive"),
    pytest.param("agent-sessions", "agent-sessions-*", False, id="needs-suffix"),
    pytest.param("coverage", "*", True, id="everything"),
    pytest.param("agent-sessions-7", "agent-sessions-[0-9]", True, id="class"),
])
def test_name_matches(name: str, glob: str, expected: bool) -> None:
    assert name_matches(name, glob) is expected


ART = ArtifactInfo(id=55, name="agent-sessions-a", size=10, expired=False, download_url="",
                   run=RunInfo(id=7, created_at=_at("2026-11-10T08:00:00Z"), attempt=2,
                               url="https://github.com/acme/shop/actions/runs/7", workflow="agent.yml",
                               branch="main", sha="abc123"))
# The listing says attempt 2 (the run's latest): which attempt made the artifact is unknown.
RUN_FIELDS = {"id": "7", "url": "https://github.com/acme/shop/actions/runs/7", "workflow": "agent.yml",
              "branch": "main", "sha": "abc123", "created_at": "2026-11-10T08:00:00Z"}


@pytest.mark.parametrize(("existing", "expected"), [
    pytest.param(None, {"format": "headroom-ci-bundle", "version": 1, "repository": "acme/shop", "run": RUN_FIELDS,
                        "artifact": {"id": 55, "name": "agent-sessions-a"}}, id="none"),
    pytest.param({**manifest(repository="acme/fork", run=Run("7", workflow="Agent", attempt=1),
                             extra={"agent": "claude", "redactions": 3}),
                  "run": {"id": "7", "workflow": "Agent", "job": "agent"}},
                 {"format": "headroom-ci-bundle", "version": 1, "repository": "acme/shop",
                  "run": {**RUN_FIELDS, "job": "agent"}, "agent": "claude", "redactions": 3,
                  "artifact": {"id": 55, "name": "agent-sessions-a"}}, id="collect-fields-kept"),
    pytest.param(manifest(repository="acme/shop", run=Run("7", workflow="Agent", attempt=1)),
                 {"format": "headroom-ci-bundle", "version": 1, "repository": "acme/shop",
                  "run": {**RUN_FIELDS, "attempt": 1}, "artifact": {"id": 55, "name": "agent-sessions-a"}},
                 id="the-attempt-collect-recorded-is-the-artifact-s"),
    pytest.param({"format": "something-else", "name": "x"},
                 {"format": "headroom-ci-bundle", "version": 1, "repository": "acme/shop", "run": RUN_FIELDS,
                  "artifact": {"id": 55, "name": "agent-sessions-a"}}, id="foreign"),
])
def test_bundle_manifest(existing: Any, expected: dict[str, Any]) -> None:
    assert bundle_manifest(existing, repository="acme/shop", artifact=ART) == expected


# -- listing against the fake ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def server() -> Iterator[FakeGitHub]:
    with FakeGitHub(per_page_max=2) as fake:  # one server per module, reset per test
        yield fake


@pytest.fixture
def gh(server: FakeGitHub) -> FakeGitHub:
    acts = fake_actions.of(server.reset())
    agent = acts.add_workflow("agent.yml", id=11)
    nightly = acts.add_workflow("nightly.yml", id=12)
    r201 = acts.add_run(agent, id=201, created_at="2026-11-01T08:00:00Z")
    r202 = acts.add_run(agent, id=202, created_at="2026-11-03T08:00:00Z", branch="dev", conclusion="failure")
    r203 = acts.add_run(nightly, id=203, created_at="2026-11-05T08:00:00Z")
    r204 = acts.add_run(agent, id=204, created_at="2026-11-07T08:00:00Z", attempt=2)
    acts.add_run(agent, id=205, created_at="2026-11-08T08:00:00Z", status="in_progress")
    acts.add_artifact(r201, "agent-sessions-claude", id=301, data=b"a")
    acts.add_artifact(r201, "coverage", id=302, data=b"b")
    acts.add_artifact(r202, "agent-sessions-codex", id=303, data=b"c")
    acts.add_artifact(r203, "agent-sessions-nightly", id=304, data=b"d")
    acts.add_artifact(r203, "agent-sessions-old", id=305, data=b"e", expired=True)
    acts.add_artifact(r204, "agent-sessions-claude", id=306, data=b"f")
    return server


def _settings(gh: FakeGitHub, **kw: str) -> GitHubSettings:
    return GitHubSettings(**{"repo": gh.full_name, "token": TOKEN, "api_url": gh.api_url, **kw})


def _list(gh: FakeGitHub, query: Query, budget: WaitBudget | None = None, **kw: str) -> tuple[list[int], list[int]]:
    settings = _settings(gh, **kw)
    listing = list_artifacts(connect(settings, per_page=100, budget=budget), settings, query)
    return [r.id for r in listing.runs], [a.id for a in listing.artifacts]


@pytest.mark.parametrize(("query", "runs", "artifacts"), [
    # Without workflows, the repository's artifacts are read by name: run 205 uploaded none.
    pytest.param(Query(), [204, 203, 202, 201], [306, 304, 305, 303, 301], id="defaults"),
    pytest.param(Query(workflows=("agent.yml",)), [205, 204, 202, 201], [306, 303, 301], id="workflow-file"),
    pytest.param(Query(workflows=("12",)), [203], [304, 305], id="workflow-id"),
    pytest.param(Query(workflows=("agent.yml", "12", "11"), max_runs=3), [205, 204, 203], [306, 304, 305],
                 id="workflows-merged"),
    pytest.param(Query(branch="dev"), [202], [303], id="branch"),
    pytest.param(Query(branch="dev", workflows=("agent.yml",)), [202], [303], id="branch-of-a-workflow"),
    pytest.param(Query(status="failure"), [202], [303], id="status-conclusion"),
    pytest.param(Query(status="completed"), [204, 203, 202, 201], [306, 304, 305, 303, 301], id="status"),
    pytest.param(Query(status="in_progress", workflows=("11",)), [205], [], id="status-of-a-workflow"),
    pytest.param(Query(since=_at("2026-11-04T00:00:00Z")), [204, 203], [306, 304, 305], id="since"),
    pytest.param(Query(since=_at("2026-11-07T09:00:00Z")), [], [], id="since-to-the-second"),
    pytest.param(Query(since=_at("2026-11-07T09:00:00Z"), workflows=("agent.yml",)), [205], [],
                 id="since-to-the-second-of-a-workflow"),
    pytest.param(Query(glob="agent-sessions-c*"), [204, 202, 201], [306, 303, 301], id="glob"),
    pytest.param(Query(glob="agent-sessions-codex"), [202], [303], id="exact-name"),
    pytest.param(Query(glob="*"), [204, 203, 202, 201], [306, 304, 305, 303, 301, 302], id="glob-all"),
    pytest.param(Query(max_runs=2), [204, 203], [306, 304, 305], id="max-runs"),
    pytest.param(Query(max_runs=2, workflows=("agent.yml",)), [205, 204], [306], id="max-runs-of-a-workflow"),
])
def test_list_artifacts(gh: FakeGitHub, query: Query, runs: list[int], artifacts: list[int]) -> None:
    assert _list(gh, query) == (runs, artifacts)


def _listing(gh: FakeGitHub, query: Query) -> Listing:
    settings = _settings(gh)
    return list_artifacts(connect(settings, per_page=100), settings, query)


def test_busy_ci_without_sessions_does_not_crowd_the_agent_runs_out(gh: FakeGitHub) -> None:
    acts = fake_actions.of(gh)
    ci = acts.add_workflow("ci.yml", id=13)
    for n in range(120):  # newer than every agent run, and no artifact of the glob's
        run = acts.add_run(ci, created_at=f"2026-11-09T{n // 60:02d}:{n % 60:02d}:00Z")
        if n % 40 == 0:
            acts.add_artifact(run, "coverage")
    assert _list(gh, Query()) == ([204, 203, 202, 201], [306, 304, 305, 303, 301])
    # Only the runs that uploaded a matching artifact are read, one request each.
    assert sorted(r.path.rsplit("/", 1)[1] for r in gh.requests("GET", r"/actions/runs/")) == [
        "201", "202", "203", "204"]


def test_an_exact_name_is_asked_of_the_api_and_a_glob_is_matched_here(gh: FakeGitHub) -> None:
    _list(gh, Query(glob="agent-sessions-codex"))
    _list(gh, Query(glob="agent-sessions-c*"))
    assert [r.query.get("name") for r in gh.requests("GET", r"/actions/artifacts$")
            if r.query.get("page", "1") == "1"] == ["agent-sessions-codex", None]


def test_paging_stops_at_since(gh: FakeGitHub) -> None:
    # per_page 2: 306, 305 | 304, 303 | 302, 301 newest first; 303 is before since, so page 3 is never read.
    settings = _settings(gh)
    list_artifacts(connect(settings, per_page=2), settings, Query(since=_at("2026-11-04T00:00:00Z")))
    assert [r.query.get("page", "1") for r in gh.requests("GET", r"/actions/artifacts$")] == ["1", "2"]


def test_paging_stops_once_no_later_artifact_can_be_an_accepted_runs(gh: FakeGitHub) -> None:
    acts = fake_actions.of(gh)
    r206 = acts.add_run(acts.workflows[0], id=206, created_at="2026-11-10T08:00:00Z")
    r207 = acts.add_run(acts.workflows[0], id=207, created_at="2026-11-10T08:30:00Z")
    # Two agent jobs in parallel: run 206's second artifact comes after one of run 207.
    acts.add_artifact(r206, "agent-sessions-a", id=401, created_at="2026-11-10T08:40:00Z")
    acts.add_artifact(r207, "agent-sessions-a", id=402, created_at="2026-11-10T08:45:00Z")
    acts.add_artifact(r206, "agent-sessions-b", id=403, created_at="2026-11-10T08:50:00Z")
    settings = _settings(gh)
    listing = list_artifacts(connect(settings, per_page=2), settings, Query(max_runs=1))
    assert ([r.id for r in listing.runs], [a.id for a in listing.artifacts]) == ([206], [401, 403])
    # 403, 402 | 401, 306: once past run 206's start (306 is older), paging stops.
    assert [r.query.get("page", "1") for r in gh.requests("GET", r"/actions/artifacts$")] == ["1", "2"]


def test_runs_left_out_by_the_filters_are_counted(gh: FakeGitHub) -> None:
    acts = fake_actions.of(gh)
    fork = acts.add_run(acts.workflows[0], id=206, created_at="2026-11-10T08:00:00Z", event="pull_request",
                        head_repo="mallory/shop")
    acts.add_artifact(fork, "agent-sessions-claude", id=401)
    gone = acts.add_run(acts.workflows[0], id=207, created_at="2026-11-10T09:00:00Z")
    acts.add_artifact(gone, "agent-sessions-claude", id=402)
    acts.runs.remove(gone)  # deleted after it uploaded: its artifact is still listed for a while
    listing = _listing(gh, Query())
    # The fork's run is left out by what its artifact says, without a request; the deleted one is not "left out".
    assert ([r.id for r in listing.runs], listing.left_out) == ([204, 203, 202, 201], 1)
    assert sorted(r.path.rsplit("/", 1)[1] for r in gh.requests("GET", r"/actions/runs/\d+$")) == [
        "201", "202", "203", "204", "207"]
    forks = _listing(gh, Query(forks=True))
    assert ([r.id for r in forks.runs], forks.left_out) == ([206, 204, 203, 202, 201], 0)


def test_a_branch_filter_costs_no_request_for_the_runs_it_leaves_out(gh: FakeGitHub) -> None:
    listing = _listing(gh, Query(branch="dev"))
    assert ([r.id for r in listing.runs], listing.left_out) == ([202], 3)
    assert [r.path for r in gh.requests("GET", r"/actions/runs/\d+$")] == ["/repos/acme/shop/actions/runs/202"]


def test_a_run_that_began_before_since_counts_by_its_artifact(gh: FakeGitHub) -> None:
    acts = fake_actions.of(gh)
    long = acts.add_run(acts.workflows[0], id=206, created_at="2026-11-09T23:00:00Z")
    acts.add_artifact(long, "agent-sessions-late", id=401, created_at="2026-11-10T01:00:00Z")
    assert _list(gh, Query(since=_at("2026-11-10T00:00:00Z"))) == ([206], [401])


def test_a_glob_that_matches_nothing_stops_after_a_bounded_listing(gh: FakeGitHub,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(artifacts_module, "MAX_LISTED_ARTIFACTS", 3)
    listing = _listing(gh, Query(glob="nothing-*"))
    assert (listing.runs, listing.others, listing.truncated) == ((), ("agent-sessions-claude", "agent-sessions-old",
                                                                       "agent-sessions-nightly"), 3)
    assert _listing(gh, Query(glob="*")).truncated == 3
    monkeypatch.setattr(artifacts_module, "MAX_LISTED_ARTIFACTS", 6)
    assert _listing(gh, Query(glob="nothing-*")).truncated == 0


def test_list_sends_the_filters_and_stops_paging_at_max_runs(gh: FakeGitHub) -> None:
    _list(gh, Query(branch="main", status="success", since=_at("2026-11-02T10:00:00Z"), max_runs=1,
                    workflows=("agent.yml",)))
    # PyGithub reads the workflow by file name, then lists its runs at the URL GitHub gave back.
    assert [r.path for r in gh.requests("GET", r"/actions/workflows/")] == [
        "/repos/acme/shop/actions/workflows/agent.yml", "/repos/acme/shop/actions/workflows/11/runs"]
    (first,) = gh.requests("GET", r"/actions/workflows/.*/runs$")  # one page of two was enough
    assert (first.path, first.query) == ("/repos/acme/shop/actions/workflows/11/runs",
                                         {"branch": "main", "status": "success", "created": ">=2026-11-02",
                                          "per_page": "100"})


def test_run_provenance_is_what_github_reported(gh: FakeGitHub) -> None:
    settings = _settings(gh)
    listing = list_artifacts(connect(settings, per_page=100), settings, Query(max_runs=2))
    assert listing.artifacts[0].run.provenance() == Run(
        id="204", attempt=2, url="https://github.com/acme/shop/actions/runs/204", workflow="agent.yml",
        branch="main", sha=fake_actions.of(gh).runs[3].sha, created_at="2026-11-07T08:00:00Z")


def test_list_errors_say_what_to_do(gh: FakeGitHub) -> None:
    cases: list[tuple[dict[str, Any], Query, str]] = [
        ({"token": "ghs_wrong"}, Query(),
         "the token was refused while reading acme/shop (401 Bad credentials): check --github-token or GITHUB_TOKEN, "
         "and that it has not expired"),
        ({"repo": "acme/nope"}, Query(),
         f"repository acme/nope not found at {gh.api_url}, or the token cannot see it (it needs actions: read): "
         f"check --github-repo and the token"),
        ({}, Query(workflows=("nope.yml",)),
         "workflow 'nope.yml' not found in acme/shop: pass its file name (agent.yml) or its id"),
    ]
    for kw, query, message in cases:
        with pytest.raises(GitHubError) as exc:
            _list(gh, query, **kw)
        assert str(exc.value) == message


def test_forbidden_names_the_permission(gh: FakeGitHub) -> None:
    gh.fail("GET", r"/actions/artifacts$", status=403, body={"message": "Resource not accessible by integration"})
    with pytest.raises(GitHubError) as exc:
        _list(gh, Query())
    assert str(exc.value) == ("GitHub refused listing the artifacts of acme/shop (403 Resource not accessible "
                              "by integration): the token needs the actions: read permission on acme/shop")


SECONDARY = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
             "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}


@pytest.mark.parametrize(("status", "body", "headers", "waited"), [
    pytest.param(403, SECONDARY, {"Retry-After": "1"}, 1.0, id="secondary-403-retry-after"),
    pytest.param(429, SECONDARY, {"Retry-After": "0"}, 0.0, id="429-retry-after"),
    pytest.param(502, {"message": "Server Error"}, {}, 0.0, id="502-once"),
])
def test_transient_failures_are_retried(gh: FakeGitHub, status: int, body: dict[str, str],
                                        headers: dict[str, str], waited: float) -> None:
    gh.fail("GET", r"/actions/artifacts$", status=status, body=body, headers=headers)
    budget = WaitBudget(300)
    assert _list(gh, Query(max_runs=1), budget=budget) == ([204], [306])
    assert [r.path for r in gh.requests("GET", r"/actions/artifacts$")] == ["/repos/acme/shop/actions/artifacts"] * 2
    assert budget.waited == waited


def test_a_wait_past_the_cap_stops_at_once(gh: FakeGitHub) -> None:
    gh.fail("GET", r"/actions/artifacts$", status=403, body=SECONDARY, headers={"Retry-After": "600"})
    with pytest.raises(RateLimitWaitError) as exc:
        _list(gh, Query(), budget=WaitBudget(300))
    assert str(exc.value) == ("GitHub's rate limit asks to wait 600s more, past the cap of 300s of waiting per run: "
                              "try again after the limit resets, or raise the cap")
    assert len(gh.requests("GET", r"/actions/artifacts$")) == 1


def test_a_primary_limit_that_resets_too_late_stops_at_once(gh: FakeGitHub) -> None:
    gh.fail("GET", r"/actions/artifacts$", status=403,
            body={"message": "API rate limit exceeded for installation ID 1."},
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 3600)})
    with pytest.raises(RateLimitWaitError,
                       match=r"^GitHub's rate limit asks to wait 36\d\ds more, past the cap of 300s of waiting per "
                             r"run: try again after the limit resets, or raise the cap$"):
        _list(gh, Query(), budget=WaitBudget(300))


def test_wait_budget_is_charged_across_waits() -> None:
    budget = WaitBudget(10)
    budget.take(6)
    with pytest.raises(RateLimitWaitError) as exc:
        budget.take(5)
    assert str(exc.value) == ("GitHub's rate limit asks to wait 5s more, past the cap of 10s of waiting per run "
                              "(already waited 6s): try again after the limit resets, or raise the cap")
    budget.take(4)
    assert budget.waited == 10


# -- downloading -----------------------------------------------------------------------------------
def _artifact(gh: FakeGitHub, art_id: int) -> ArtifactInfo:
    return ArtifactInfo(id=art_id, name=f"a-{art_id}", size=1, expired=False,
                        download_url=f"{gh.api_url}/repos/acme/shop/actions/artifacts/{art_id}/zip",
                        run=RunInfo(1, NOW))


def test_download_follows_the_redirect_without_the_token(gh: FakeGitHub, tmp_path: Path) -> None:
    dest = tmp_path / "a.zip"
    assert download(_artifact(gh, 306), dest, settings=_settings(gh), budget=WaitBudget(1)) == 1
    assert dest.read_bytes() == b"f"
    (api,) = gh.requests("GET", r"/artifacts/306/zip$")
    (blob,) = gh.requests("GET", r"^/blob/")
    assert (api.host, api.headers["authorization"]) == ("api", f"Bearer {TOKEN}")
    assert blob.host == "blob" and "authorization" not in blob.headers


@pytest.mark.parametrize(("path", "status", "body", "headers", "error", "message"), [
    pytest.param(r"/artifacts/306/zip$", 410, {"message": "Artifact has expired"}, {}, ArtifactGone,
                 "it expired after it was listed (410 Gone)", id="gone"),
    pytest.param(r"/artifacts/306/zip$", 404, {"message": "Not Found"}, {}, DownloadError,
                 "GitHub answered 404 Not Found: the token needs actions: read on acme/shop", id="not-found"),
    pytest.param(r"^/blob/", 403, b"<?xml version='1.0'?><Error><Code>AuthenticationFailed</Code></Error>",
                 {"Content-Type": "application/xml"}, DownloadError,
                 "the storage host answered 403 (AuthenticationFailed)", id="storage-refuses"),
])
def test_download_failures(gh: FakeGitHub, tmp_path: Path, path: str, status: int, body: Any,
                           headers: dict[str, str], error: type[Exception], message: str) -> None:
    gh.fail("GET", path, status=status, body=body, headers=headers)
    with pytest.raises(error) as exc:
        download(_artifact(gh, 306), tmp_path / "a.zip", settings=_settings(gh), budget=WaitBudget(1))
    assert str(exc.value) == message


@pytest.mark.parametrize("path", [pytest.param(r"/artifacts/306/zip$", id="api"),
                                  pytest.param(r"^/blob/", id="storage")])
def test_download_retries_a_5xx(gh: FakeGitHub, tmp_path: Path, path: str) -> None:
    gh.fail("GET", path, status=503, body={"message": "unavailable"})
    download(_artifact(gh, 306), tmp_path / "a.zip", settings=_settings(gh), budget=WaitBudget(1))
    assert len(gh.requests("GET", path)) == 2


def test_download_rate_limit_then_success(gh: FakeGitHub, tmp_path: Path) -> None:
    gh.fail("GET", r"/artifacts/306/zip$", status=403, body=SECONDARY, headers={"Retry-After": "0"})
    download(_artifact(gh, 306), tmp_path / "a.zip", settings=_settings(gh), budget=WaitBudget(1))
    assert (tmp_path / "a.zip").read_bytes() == b"f"


def test_download_size_cap(gh: FakeGitHub, tmp_path: Path) -> None:
    fake_actions.of(gh).add_artifact(fake_actions.of(gh).runs[0], "big", id=399, data=b"x" * 100)
    with pytest.raises(DownloadError) as exc:
        download(_artifact(gh, 399), tmp_path / "a.zip", settings=_settings(gh), budget=WaitBudget(1), max_bytes=10)
    assert str(exc.value) == "the archive is larger than 10 bytes"


def test_the_token_goes_only_to_the_api_host(gh: FakeGitHub, tmp_path: Path) -> None:
    art = ArtifactInfo(id=1, name="a", size=1, expired=False, download_url=f"{gh.blob_url}/blob/artifacts/306",
                       run=RunInfo(1, NOW))
    with pytest.raises(DownloadError) as exc:
        download(art, tmp_path / "a.zip", settings=_settings(gh), budget=WaitBudget(1))
    assert str(exc.value) == f"its download URL is not on {gh.api_url}; not sending the token there"
    assert gh.log == []


# -- installing ------------------------------------------------------------------------------------
def _tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_install_merges_the_collect_manifest(tmp_path: Path) -> None:
    collected = manifest(repository="acme/shop", run=Run("7", workflow="Agent"), extra={"agent": "claude"})
    archive = tmp_path / "a.zip"
    archive.write_bytes(zip_of({"manifest.json": json.dumps(collected).encode(), "claude/s.jsonl": b"{}\n"}))
    dest = tmp_path / "out" / "7-55"
    assert install(archive, dest, artifact=ART, repository="acme/shop") == 2
    assert _tree(tmp_path / "out") == ["7-55/claude/s.jsonl", "7-55/manifest.json"]
    assert json.loads((dest / "manifest.json").read_text()) == {
        "format": "headroom-ci-bundle", "version": 1, "repository": "acme/shop", "run": RUN_FIELDS,
        "agent": "claude", "artifact": {"id": 55, "name": "agent-sessions-a"}}


def test_install_keeps_a_foreign_manifest_and_replaces_a_stale_folder(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    archive.write_bytes(zip_of({"manifest.json": b"[1, 2]", "s.jsonl": b"{}\n"}))
    dest = tmp_path / "out" / "7-55"
    dest.mkdir(parents=True)
    (dest / "half-written.jsonl").write_bytes(b"{")
    install(archive, dest, artifact=ART, repository="acme/shop")
    assert _tree(dest) == [FOREIGN_MANIFEST, "manifest.json", "s.jsonl"]
    assert (dest / FOREIGN_MANIFEST).read_bytes() == b"[1, 2]"


def _slip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ok.jsonl", b"{}\n")
        zf.writestr("../../evil.jsonl", b"{}\n")


def _link(path: Path) -> None:
    info = zipfile.ZipInfo("link.jsonl")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(info, "/etc/passwd")


def _bomb(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.jsonl", b"\0" * (4 << 20))


@pytest.mark.parametrize(("make", "message"), [
    pytest.param(_slip, "member '../../evil.jsonl' would be written outside the target folder", id="zip-slip"),
    pytest.param(_link, "member 'link.jsonl' is a symbolic link", id="symlink"),
    pytest.param(_bomb, "member 'big.jsonl' expands past the size or compression-ratio limit (a zip bomb?)", id="bomb"),
])
def test_install_refuses_unsafe_archives(tmp_path: Path, make: Any, message: str) -> None:
    archive = tmp_path / "a.zip"
    make(archive)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ArchiveError) as exc:
        install(archive, out / "7-55", artifact=ART, repository="acme/shop", limits=Limits())
    assert str(exc.value) == message
    assert list(out.iterdir()) == [] and not (tmp_path / "evil.jsonl").exists()


@pytest.mark.parametrize("status", STATUSES)
def test_every_status_fetch_accepts_is_one_the_api_accepts(gh: FakeGitHub, status: str) -> None:
    # (only a workflow's runs are filtered by the API; artifacts read by name are filtered here)
    _list(gh, Query(status=status, workflows=("agent.yml",)))
    assert {r.query["status"] for r in gh.requests("GET", r"/actions/workflows/11/runs$")} == {status}


def test_a_status_the_api_does_not_know_is_refused_by_it(gh: FakeGitHub) -> None:
    # (the fake answers as GitHub does, so the check above can fail)
    assert "startup_failure" not in STATUSES
    with pytest.raises(GitHubError, match=r"^GitHub answered 422 while listing"):
        _list(gh, Query(status="startup_failure", workflows=("agent.yml",)))


def test_the_repository_name_is_answered_whatever_its_case(gh: FakeGitHub) -> None:
    settings = _settings(gh, repo="ACME/Shop")
    listing = list_artifacts(connect(settings, per_page=100), settings, Query(max_runs=1))
    assert [r.id for r in listing.runs] == [204]
