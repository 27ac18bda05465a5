from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from github import Github

from headroom_ci.github.client import connect
from headroom_ci.github.client import GitHubError
from headroom_ci.github.client import GitHubSettings
from headroom_ci.github.pulls import ACTIONS_SETTING
from headroom_ci.github.pulls import Ledger
from headroom_ci.github.pulls import Pulls
from testing.fake_github import FakeGitHub
from testing.fake_github import TOKEN
from testing.fake_github import pulls as fake
from testing.gitrepo import GitFixture
from testing.gitrepo import isolated_env
from testing.gitrepo import make_repo


@pytest.fixture(autouse=True)
def _git_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in isolated_env(tmp_path / "home").items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def repo(tmp_path: Path) -> GitFixture:
    repo = make_repo(tmp_path / "r", {"AGENTS.md": "# shop\n"})
    for branch in ("headroom/learn", "other"):
        repo.push_files(branch, {"AGENTS.md": f"# {branch}\n"}, start="main")
    return repo


@pytest.fixture
def gh(repo: GitFixture) -> Iterator[FakeGitHub]:
    with FakeGitHub() as server:
        fake.use_bare(server, repo.bare)
        yield server


def _client(gh: FakeGitHub, *, token: str = TOKEN, per_page: int = 30) -> Github:
    return connect(GitHubSettings("acme/shop", token, gh.api_url), per_page=per_page)


def _pulls(gh: FakeGitHub, **kw: object) -> Pulls:
    return Pulls(_client(gh, **kw), "acme/shop")  # type: ignore[arg-type]


def _writes(gh: FakeGitHub) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in gh.log if r.method != "GET"]


def test_create_then_find_then_a_second_create_gets_the_existing_one(gh: FakeGitHub) -> None:
    pulls = _pulls(gh)
    assert pulls.open_pull("headroom/learn") is None
    first, created = pulls.create(branch="headroom/learn", base="main", title="t", body="b", draft=True)
    again, created_again = pulls.create(branch="headroom/learn", base="main", title="t2", body="b2", draft=False)
    assert (first.number, created, again.number, created_again) == (1, True, 1, False)
    assert (first.url, first.base, first.title, first.body) == ("https://github.com/acme/shop/pull/1", "main", "t", "b")
    assert pulls.open_pull("headroom/learn") == first
    assert pulls.open_pull("other") is None
    assert fake.pulls(gh)[0]["draft"] is True
    assert [r.query for r in gh.requests("GET", r"/pulls$")][0] == {"state": "open", "head": "acme:headroom/learn"}


def test_edit_labels_comments_and_close(gh: FakeGitHub) -> None:
    pulls = _pulls(gh)
    pull, _ = pulls.create(branch="headroom/learn", base="main", title="t", body="b", draft=False)
    pull = pulls.edit(pull, title="t2", body="b2", base="main")
    assert (pull.title, pull.body) == ("t2", "b2")
    assert pulls.add_labels(pull, ["agents", "docs", "agents"]) is None
    pull = pulls.open_pull("headroom/learn") or pull
    assert pull.labels == {"agents", "docs"}
    gh.log.clear()
    assert pulls.add_labels(pull, ["docs", "Agents"]) is None   # GitHub's label names ignore case
    assert _writes(gh) == []
    assert pulls.has_comment(pull, "<!-- mark -->") is False
    pulls.comment(pull, "<!-- mark -->\nhello")
    assert pulls.has_comment(pull, "<!-- mark -->") is True
    pulls.close(pull, comment="bye", body="closed body")
    assert (fake.pulls(gh)[0]["state"], fake.pulls(gh)[0]["body"], fake.comments(gh, 1)) == (
        "closed", "closed body", ["<!-- mark -->\nhello", "bye"])
    assert pulls.open_pull("headroom/learn") is None


def test_reviewers_and_assignees_that_cannot_be_asked_are_warnings(gh: FakeGitHub) -> None:
    gh.state["collaborators"] = {"dana", "core"}
    pulls = _pulls(gh)
    pull, _ = pulls.create(branch="headroom/learn", base="main", title="t", body="b", draft=False)
    assert pulls.request_reviews(pull, ["dana"], ["core"]) == ()
    warnings = pulls.request_reviews(pull, ["mallory"], [])
    assert warnings == ("could not request reviews from mallory on #1: Reviews may only be requested from "
                        "collaborators. One or more of the users or teams you specified is not a collaborator "
                        "of the acme/shop repository.",)
    assert pulls.assign(pull, ["dana", "mallory"]) is None  # GitHub ignores who cannot be assigned
    assert pulls.request_reviews(pull, [], []) == () and pulls.assign(pull, []) is None
    stored = fake.pulls(gh)[0]
    assert (stored["reviewers"], stored["teams"], stored["assignees"]) == (["dana"], ["core"], ["dana"])


def _closed(gh: FakeGitHub, pulls: Pulls, branch: str, body: str, *, merge: bool = False) -> int:
    pull, _ = pulls.create(branch=branch, base="main", title="t", body=body, draft=False)
    if merge:
        fake.merge_pull(gh, pull.number)
    else:
        fake.close_pull(gh, pull.number)
    return pull.number


def test_the_ledger_reads_our_closed_unmerged_pulls_across_pages(gh: FakeGitHub, repo: GitFixture) -> None:
    pulls = _pulls(gh, per_page=2)
    marker = "<!-- headroom-ci:fingerprints {} -->\nrules"
    _closed(gh, pulls, "headroom/learn", marker.format("aaaaaaaa bbbbbbbb"))                  # 1
    _closed(gh, pulls, "headroom/learn", "quoted: " + marker.format("cccccccc"))             # 2: not at the start
    _closed(gh, pulls, "other", marker.format("dddddddd"))                                   # 3: another branch
    _closed(gh, pulls, "headroom/learn", marker.format("bbbbbbbb eeeeeeee"))                 # 4
    _closed(gh, pulls, "headroom/learn", marker.format("ffffffff"), merge=True)              # 5: merged, accepted
    repo.push_files("headroom/learn", {"AGENTS.md": "# again\n"})
    head = repo.sha("headroom/learn")
    _closed(gh, pulls, "headroom/learn", "<!-- headroom-ci:fingerprints -->\nwithdrawn by us")  # 6
    gh.log.clear()
    assert pulls.ledger("headroom/learn") == Ledger(
        {"bbbbbbbb": 4, "eeeeeeee": 4, "aaaaaaaa": 1}, frozenset({fake.pulls(gh)[4]["head_sha"]}))
    assert head != fake.pulls(gh)[4]["head_sha"]
    pages = [r.query.get("page", "1") for r in gh.requests("GET", r"/pulls$")]
    assert pages == ["1", "2", "3"]  # five closed pulls of the branch, two a page, followed by Link


@pytest.mark.parametrize("status, body, expected", [
    (403, {"message": "GitHub Actions is not permitted to create or approve pull requests.",
           "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"},
     "creating the pull request headroom/learn → main: " + ACTIONS_SETTING),
    (403, {"message": "Resource not accessible by integration"},
     "creating the pull request headroom/learn → main: the token is not allowed to (403 Resource not accessible by "
     "integration): in a workflow give the job `permissions: pull-requests: write` and `contents: write`, or use "
     "a token that has them"),
    (422, {"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom",
                                                        "message": "No commits between main and headroom/learn"}]},
     "creating the pull request headroom/learn → main: GitHub answered 422: Validation Failed (No commits between "
     "main and headroom/learn)"),
])
def test_create_errors_say_what_to_do(gh: FakeGitHub, status: int, body: dict[str, object], expected: str) -> None:
    gh.fail("POST", r"/pulls$", status=status, body=body)
    with pytest.raises(GitHubError) as err:
        _pulls(gh).create(branch="headroom/learn", base="main", title="t", body="b", draft=False)
    assert str(err.value) == expected
    assert fake.pulls(gh) == []


def test_the_fake_validates_like_github(gh: FakeGitHub) -> None:
    with pytest.raises(GitHubError, match=r"GitHub answered 422: Validation Failed \(head invalid\)"):
        _pulls(gh).create(branch="missing", base="main", title="t", body="b", draft=False)


@pytest.mark.parametrize("repo_name, token, expected", [
    ("acme/shop", "wrong", "reading acme/shop: GitHub rejected the token "
                           "(401 Bad credentials): check --github-token or GITHUB_TOKEN"),
    ("acme/nope", TOKEN, "reading acme/nope: not found (404): check that acme/nope exists and the token can read it "
                         "(--github-repo, GITHUB_REPOSITORY)"),
])
def test_access_errors(gh: FakeGitHub, repo_name: str, token: str, expected: str) -> None:
    pulls = Pulls(_client(gh, token=token), repo_name)
    with pytest.raises(GitHubError) as err:
        pulls.open_pull("headroom/learn")
    assert str(err.value) == expected


def test_a_team_that_cannot_be_resolved_does_not_lose_the_users(gh: FakeGitHub) -> None:
    # The job's GITHUB_TOKEN cannot see the organization's teams: GitHub answers 422 for the
    # whole request, so users and teams are asked for separately.
    gh.state.update(collaborators={"dana", "lee"}, teams=set())
    pulls = _pulls(gh)
    pull, _ = pulls.create(branch="headroom/learn", base="main", title="t", body="b", draft=False)
    assert pulls.request_reviews(pull, ["dana", "lee"], ["core"]) == (
        "could not request team reviews from core on #1: Reviews may only be requested from collaborators. One or "
        "more of the users or teams you specified is not a collaborator of the acme/shop repository.",)
    assert (fake.pulls(gh)[0]["reviewers"], fake.pulls(gh)[0]["teams"]) == (["dana", "lee"], [])
    bodies = [r.body for r in gh.requests("POST", r"/requested_reviewers$")]
    assert bodies == [{"reviewers": ["dana", "lee"]}, {"team_reviewers": ["core"]}]


@pytest.mark.parametrize("status, message", [
    pytest.param(403, "Resource not accessible by integration", id="no-issues-permission"),
    pytest.param(500, "Server Error", id="5xx"),
])
def test_a_label_that_cannot_be_added_is_a_warning(gh: FakeGitHub, status: int, message: str) -> None:
    pulls = _pulls(gh)
    pull, _ = pulls.create(branch="headroom/learn", base="main", title="t", body="b", draft=False)
    gh.fail("POST", r"/issues/1/labels$", status=status, body={"message": message})
    assert pulls.add_labels(pull, ["agents"]) == f"could not label #1 with agents: {message}"
    assert len(gh.requests("POST", r"/labels$")) == 1


def test_labels_match_the_repository_s_ignoring_case(gh: FakeGitHub) -> None:
    gh.state["labels"] = {"documentation": "Documentation"}
    pulls = _pulls(gh)
    pull, _ = pulls.create(branch="headroom/learn", base="main", title="t", body="b", draft=False)
    assert pulls.add_labels(pull, ["documentation", "DOCUMENTATION", "agents"]) is None
    pull = pulls.open_pull("headroom/learn") or pull
    assert sorted(pull.labels) == ["Documentation", "agents"]
    gh.log.clear()
    assert pulls.add_labels(pull, ["documentation", "AGENTS"]) is None
    assert _writes(gh) == []


@pytest.mark.parametrize("fails_after", [pytest.param(True, id="after-it-was-created"),
                                         pytest.param(False, id="before")])
def test_a_5xx_on_create_is_looked_into_before_creating_again(gh: FakeGitHub, fails_after: bool) -> None:
    gh.fail("POST", r"/pulls$", status=502, body={"message": "Server Error"}, after=fails_after)
    pull, created = _pulls(gh).create(branch="headroom/learn", base="main", title="t", body="b", draft=False)
    assert (pull.number, created, len(fake.pulls(gh))) == (1, True, 1)
    assert [(r.method, r.path) for r in gh.log if "pulls" in r.path] == [
        ("POST", "/repos/acme/shop/pulls"), ("GET", "/repos/acme/shop/pulls"),
        *([] if fails_after else [("POST", "/repos/acme/shop/pulls")])]


def test_a_5xx_twice_on_create_stops(gh: FakeGitHub) -> None:
    gh.fail("POST", r"/pulls$", status=503, body={"message": "Unavailable"}, times=2)
    with pytest.raises(GitHubError) as err:
        _pulls(gh).create(branch="headroom/learn", base="main", title="t", body="b", draft=False)
    assert str(err.value) == "creating the pull request headroom/learn → main: GitHub answered 503: Unavailable"
    assert (len(gh.requests("POST", r"/pulls$")), fake.pulls(gh)) == (2, [])


@pytest.mark.parametrize("fails_after", [True, False])
def test_a_comment_is_never_posted_twice(gh: FakeGitHub, fails_after: bool) -> None:
    pulls = _pulls(gh)
    pull, _ = pulls.create(branch="headroom/learn", base="main", title="t", body="b", draft=False)
    gh.fail("POST", r"/issues/1/comments$", status=500, body={"message": "Server Error"}, after=fails_after)
    pulls.comment(pull, "hello")
    assert fake.comments(gh, 1) == ["hello"]


def test_repository_names_ignore_case(gh: FakeGitHub) -> None:
    pulls = Pulls(_client(gh), "ACME/Shop")
    pull, created = pulls.create(branch="headroom/learn", base="main", title="t", body="b", draft=False)
    assert (pull.number, created) == (1, True)
    assert pulls.open_pull("headroom/learn") == pull


def test_transient_failures_are_retried(gh: FakeGitHub) -> None:
    gh.fail("GET", r"/pulls$", status=502, body={"message": "Server Error"})
    gh.fail("POST", r"/pulls$", status=403, headers={"Retry-After": "1"},
            body={"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."})
    pulls = _pulls(gh)
    started = time.monotonic()
    assert pulls.open_pull("headroom/learn") is None
    pull, created = pulls.create(branch="headroom/learn", base="main", title="t", body="b", draft=False)
    assert (pull.number, created) == (1, True)
    assert time.monotonic() - started >= 1.0
    assert [(r.method, r.path) for r in gh.log if "pulls" in r.path] == [
        ("GET", "/repos/acme/shop/pulls"), ("GET", "/repos/acme/shop/pulls"),
        ("POST", "/repos/acme/shop/pulls"), ("POST", "/repos/acme/shop/pulls")]


def test_the_fake_deletes_a_branch_through_the_refs_api(gh: FakeGitHub, repo: GitFixture) -> None:
    _client(gh).get_repo("acme/shop").get_git_ref("heads/other").delete()
    assert repo.branches() == ["headroom/learn", "main"]
    assert ("DELETE", "/repos/acme/shop/git/refs/heads/other") in _writes(gh)
