"""GitHub's rate limits and server errors, as the REST documentation describes them, against the
retry policy every connection uses."""
from __future__ import annotations

import time
from pathlib import Path
from collections.abc import Iterator

import pytest
from github import GithubException

from headroom_ci.github.client import connect
from headroom_ci.github.client import GitHubSettings
from headroom_ci.github.client import rate_limit_wait
from headroom_ci.github.client import RateLimitWaitError
from headroom_ci.github.client import WaitBudget
from testing.fake_github import FakeGitHub
from testing.fake_github import TOKEN

NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def server() -> Iterator[FakeGitHub]:
    with FakeGitHub() as gh:
        yield gh


@pytest.fixture
def gh(server: FakeGitHub) -> FakeGitHub:
    return server.reset()


def _read_repo(gh: FakeGitHub, budget: WaitBudget) -> str:
    return connect(GitHubSettings("acme/shop", TOKEN, gh.api_url), budget=budget).get_repo("acme/shop").full_name


@pytest.mark.parametrize("status, headers, message, previous, expected", [
    pytest.param(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 120)},
                 "API rate limit exceeded for installation ID 1.", 0, 121.0, id="primary-403-waits-for-the-reset"),
    pytest.param(429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) - 5)},
                 "API rate limit exceeded", 0, 0.0, id="primary-429-already-reset"),
    pytest.param(403, {"retry-after": "30", "x-ratelimit-remaining": "10"},
                 "You have exceeded a secondary rate limit.", 0, 30.0, id="secondary-retry-after"),
    pytest.param(429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 9)},
                 "You have exceeded a secondary rate limit.", 0, 10.0, id="secondary-remaining-0-waits-for-reset"),
    pytest.param(403, {"x-ratelimit-remaining": "10"}, "You have exceeded a secondary rate limit.", 0, 60.0,
                 id="secondary-no-header-waits-a-minute"),
    pytest.param(429, {}, "", 2, 240.0, id="secondary-429-again-waits-longer"),
    pytest.param(403, {"x-ratelimit-remaining": "10"}, "Resource not accessible by integration", 0, None,
                 id="a-403-that-is-no-rate-limit"),
    pytest.param(500, {"retry-after": "1"}, "", 0, None, id="not-a-rate-limit-status"),
])
def test_how_long_a_rate_limit_says_to_wait(status: int, headers: dict[str, str], message: str, previous: int,
                                            expected: float | None) -> None:
    assert rate_limit_wait(status, headers, message, previous=previous, now=NOW) == expected


@pytest.mark.parametrize("kind, status, retry_after, reset_in, waited", [
    pytest.param("primary", 403, None, -5, 0.0, id="primary-403"),
    pytest.param("primary", 429, None, -5, 0.0, id="primary-429"),
    pytest.param("secondary", 403, "0", None, 0.0, id="secondary-403-retry-after"),
    pytest.param("secondary", 429, "1", None, 1.0, id="secondary-429-retry-after"),
    pytest.param("secondary", 429, None, -5, 0.0, id="secondary-429-reset"),
])
def test_rate_limited_requests_are_sent_again_after_the_wait(gh: FakeGitHub, kind: str, status: int,
                                                             retry_after: str | None, reset_in: int | None,
                                                             waited: float) -> None:
    reset = int(time.time()) + reset_in if reset_in is not None else None
    gh.rate_limit("GET", r"^/repos/acme/shop$", kind=kind, status=status, retry_after=retry_after, reset=reset)
    budget = WaitBudget(300)
    assert _read_repo(gh, budget) == "acme/shop"
    assert len(gh.requests("GET", r"^/repos/acme/shop$")) == 2
    assert budget.waited == waited


def test_a_secondary_limit_without_headers_waits_a_minute(gh: FakeGitHub) -> None:
    gh.rate_limit("GET", r"^/repos/acme/shop$", kind="secondary", status=429)
    with pytest.raises(RateLimitWaitError) as exc:
        _read_repo(gh, WaitBudget(30))
    assert str(exc.value) == ("GitHub's rate limit asks to wait 60s more, past the cap of 30s of waiting per run: "
                              "try again after the limit resets, or raise the cap")
    assert len(gh.requests("GET", r"^/repos/acme/shop$")) == 1


def test_a_403_that_is_not_a_rate_limit_is_not_retried(gh: FakeGitHub) -> None:
    gh.fail("GET", r"^/repos/acme/shop$", status=403, body={"message": "Resource not accessible by integration"})
    with pytest.raises(GithubException) as exc:
        _read_repo(gh, WaitBudget(300))
    assert (exc.value.status, exc.value.data) == (403, {"message": "Resource not accessible by integration"})
    assert len(gh.requests("GET", r"^/repos/acme/shop$")) == 1


def test_a_5xx_on_a_get_is_sent_again(gh: FakeGitHub) -> None:
    gh.fail("GET", r"^/repos/acme/shop$", status=502, body={"message": "Server Error"})
    assert _read_repo(gh, WaitBudget(1)) == "acme/shop"
    assert len(gh.requests("GET", r"^/repos/acme/shop$")) == 2


def test_a_5xx_on_a_post_is_not_sent_again(gh: FakeGitHub) -> None:
    # It may have taken effect: the caller looks before creating again (see Pulls.create).
    gh.fail("POST", r"/pulls$", status=502, body={"message": "Server Error"})
    repo = connect(GitHubSettings("acme/shop", TOKEN, gh.api_url), budget=WaitBudget(1)).get_repo("acme/shop")
    with pytest.raises(GithubException) as exc:
        repo.create_pull(base="main", head="x", title="t", body="b")
    assert exc.value.status == 502
    assert len(gh.requests("POST", r"/pulls$")) == 1


@pytest.mark.parametrize("origin, api_url, expected", [
    pytest.param("https://github.com/acme/shop.git", None, "acme/shop", id="https"),
    pytest.param("git@github.com:acme/shop.git", None, "acme/shop", id="scp"),
    pytest.param("ssh://git@github.com/acme/shop", None, "acme/shop", id="ssh"),
    pytest.param("https://x-access-token:t0k@github.com/acme/shop", None, "acme/shop", id="with-credentials"),
    pytest.param("https://ghe.example.com/acme/shop.git", "https://ghe.example.com/api/v3", "acme/shop", id="ghes"),
    pytest.param("https://gitlab.com/acme/shop.git", None, None, id="other-forge"),
    pytest.param("/srv/git/shop.git", None, None, id="local-path"),
])
def test_repo_from_remote(origin: str, api_url: str | None, expected: str | None) -> None:
    from headroom_ci.github.client import DEFAULT_API_URL
    from headroom_ci.github.client import repo_from_remote
    assert repo_from_remote(origin, api_url=api_url or DEFAULT_API_URL) == expected


def test_an_origin_not_on_github_names_the_flag_and_hides_credentials() -> None:
    from headroom_ci.github.client import GitHubError
    from headroom_ci.github.client import resolve
    with pytest.raises(GitHubError) as exc:
        resolve(repo=None, token="t", api_url=None, origin_url="https://user:secret@gitlab.com/acme/shop.git", env={})
    assert str(exc.value) == ("the origin remote https://gitlab.com/acme/shop.git is not a GitHub repository's URL: "
                              "pass --github-repo OWNER/NAME")


@pytest.mark.parametrize("repo", [
    pytest.param("acme", id="no-slash"), pytest.param("acme/shop/x", id="a-path"),
    pytest.param("../..", id="parent-folders"), pytest.param("acme/..", id="a-dot-dot-name"),
    pytest.param("acme/shop tools", id="a-space"),
])
def test_a_repository_that_is_not_owner_slash_name_is_refused(repo: str) -> None:
    from headroom_ci.github.client import GitHubError
    from headroom_ci.github.client import resolve
    with pytest.raises(GitHubError) as exc:
        resolve(repo=repo, token="t", api_url=None, origin_url=None, env={})
    assert str(exc.value) == f"--github-repo {repo!r}: expected OWNER/NAME"


def test_a_dot_starts_a_repository_name_github_allows() -> None:
    from headroom_ci.github.client import resolve
    assert resolve(repo="acme/.github", token="t", api_url=None, origin_url=None, env={}).repo == "acme/.github"


@pytest.mark.parametrize("env, gh_says, expected", [
    pytest.param({"GITHUB_TOKEN": "from-github-token", "GH_TOKEN": "from-gh-token"}, "from-gh", "from-github-token",
                 id="github-token-first"),
    pytest.param({"GH_TOKEN": "from-gh-token"}, "from-gh", "from-gh-token", id="gh-token"),
    pytest.param({}, "from-gh", "from-gh", id="gh-auth-token"),
])
def test_token_sources(tmp_path: Path, env: dict[str, str], gh_says: str, expected: str) -> None:
    from headroom_ci.github.client import resolve
    # A `gh` on PATH that answers `gh auth token --hostname github.com` as the GitHub CLI does.
    gh = tmp_path / "gh"
    gh.write_text('#!/bin/sh\n[ "$*" = "auth token --hostname github.com" ] && echo ' + gh_says + '\n')
    gh.chmod(0o755)
    settings = resolve(repo="acme/shop", token=None, api_url=None, origin_url=None, env={**env, "PATH": str(tmp_path)})
    assert settings.token == expected
