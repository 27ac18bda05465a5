"""The fake's Actions routes answer as GitHub documents them, through PyGithub itself."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from github import Auth
from github import Github
from github import GithubException

from testing.fake_github import FakeGitHub
from testing.fake_github import TOKEN
from testing.fake_github import actions as fake_actions


@pytest.fixture(scope="module")
def server() -> Iterator[FakeGitHub]:
    with FakeGitHub(per_page_max=2) as fake:  # one server per module, reset per test
        yield fake


@pytest.fixture
def gh(server: FakeGitHub) -> FakeGitHub:
    acts = fake_actions.of(server.reset())
    agent = acts.add_workflow("agent.yml", id=11)
    lint = acts.add_workflow("lint.yml", id=12)
    acts.add_run(agent, id=101, created_at="2026-11-01T08:00:00Z")
    acts.add_run(agent, id=102, created_at="2026-11-02T08:00:00Z", branch="dev")
    acts.add_run(agent, id=103, created_at="2026-11-03T08:00:00Z", conclusion="failure")
    acts.add_run(agent, id=104, created_at="2026-11-04T08:00:00Z", status="in_progress")
    acts.add_run(lint, id=105, created_at="2026-11-05T08:00:00Z")
    return server


def _client(gh: FakeGitHub) -> Github:
    return Github(auth=Auth.Token(TOKEN), base_url=gh.api_url, per_page=2, retry=None,
                  seconds_between_requests=None, seconds_between_writes=None)


@pytest.mark.parametrize(("filters", "expected"), [
    pytest.param({}, [105, 104, 103, 102, 101], id="all-newest-first"),
    pytest.param({"branch": "dev"}, [102], id="branch"),
    pytest.param({"status": "failure"}, [103], id="status-is-a-conclusion"),
    pytest.param({"status": "completed"}, [105, 103, 102, 101], id="status-is-a-status"),
    pytest.param({"created": ">=2026-11-03"}, [105, 104, 103], id="created-from"),
    pytest.param({"created": "<2026-11-02"}, [101], id="created-before"),
    pytest.param({"created": "2026-11-02..2026-11-03"}, [103, 102], id="created-range"),
    pytest.param({"created": "2026-11-04"}, [104], id="created-day"),
])
def test_repository_runs_are_filtered_and_paginated(gh: FakeGitHub, filters: dict[str, Any],
                                                    expected: list[int]) -> None:
    runs = _client(gh).get_repo("acme/shop").get_workflow_runs(**filters)
    assert [r.id for r in runs] == expected
    pages = gh.requests("GET", r"/actions/runs$")
    assert len(pages) == max((len(expected) + 1) // 2, 1)  # per_page 2, followed through Link


@pytest.mark.parametrize("ref", [pytest.param("agent.yml", id="file"), pytest.param(11, id="id")])
def test_runs_of_one_workflow(gh: FakeGitHub, ref: str | int) -> None:
    runs = _client(gh).get_repo("acme/shop").get_workflow(ref).get_runs()
    assert [(r.id, r.path, r.run_attempt, r.head_branch) for r in runs] == [
        (104, ".github/workflows/agent.yml", 1, "main"), (103, ".github/workflows/agent.yml", 1, "main"),
        (102, ".github/workflows/agent.yml", 1, "dev"), (101, ".github/workflows/agent.yml", 1, "main")]


def test_unknown_workflow_and_repository_are_404(gh: FakeGitHub) -> None:
    repo = _client(gh).get_repo("acme/shop")
    with pytest.raises(GithubException) as exc:
        list(repo.get_workflow("nope.yml").get_runs())
    assert exc.value.status == 404
    with pytest.raises(GithubException) as exc:
        _client(gh).get_repo("acme/other")
    assert exc.value.status == 404


def test_artifacts_of_a_run_with_name_filter(gh: FakeGitHub) -> None:
    acts = fake_actions.of(gh)
    run = acts.runs[0]
    for n in range(3):
        acts.add_artifact(run, f"agent-sessions-{n}", data=b"PK", expired=n == 1, id=900 + n)
    arts = list(_client(gh).get_repo("acme/shop").get_workflow_run(101).get_artifacts())
    assert [(a.id, a.name, a.expired, a.size_in_bytes) for a in arts] == [
        (900, "agent-sessions-0", False, 2), (901, "agent-sessions-1", True, 2), (902, "agent-sessions-2", False, 2)]
    assert arts[0].archive_download_url == f"{gh.api_url}/repos/acme/shop/actions/artifacts/900/zip"
    answer = requests.get(f"{gh.api_url}/repos/acme/shop/actions/runs/101/artifacts?name=agent-sessions-2",
                          headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).json()
    assert (answer["total_count"], [a["id"] for a in answer["artifacts"]]) == (1, [902])


def test_zip_redirects_to_a_blob_host_that_refuses_authorization(gh: FakeGitHub) -> None:
    acts = fake_actions.of(gh)
    acts.add_artifact(acts.runs[0], "agent-sessions-a", data=b"PK-bytes", id=900)
    acts.add_artifact(acts.runs[0], "agent-sessions-b", data=b"PK-old", id=901, expired=True)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    zip_url = f"{gh.api_url}/repos/acme/shop/actions/artifacts/900/zip"

    first = requests.get(zip_url, headers=auth, allow_redirects=False, timeout=5)
    assert first.status_code == 302
    location = first.headers["Location"]
    assert location.startswith(f"{gh.blob_url}/blob/artifacts/900?sig=")

    refused = requests.get(location, headers=auth, allow_redirects=False, timeout=5)
    assert (refused.status_code, refused.headers["Content-Type"]) == (400, "application/xml")
    assert b"<Code>InvalidArgument</Code>" in refused.content
    unsigned = requests.get(f"{gh.blob_url}/blob/artifacts/900", timeout=5)
    assert unsigned.status_code == 403
    ok = requests.get(location, timeout=5)
    assert (ok.status_code, ok.content) == (200, b"PK-bytes")

    gone = requests.get(f"{gh.api_url}/repos/acme/shop/actions/artifacts/901/zip", headers=auth,
                        allow_redirects=False, timeout=5)
    assert (gone.status_code, gone.json()["message"]) == (410, "Artifact has expired")
    unauthenticated = requests.get(zip_url, allow_redirects=False, timeout=5)
    assert unauthenticated.status_code == 401
