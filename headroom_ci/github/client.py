"""The one place a GitHub connection is made: repository, token and API URL resolved once."""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from github import Auth
from github import Github
from github import GithubRetry

from headroom_ci.errors import FatalError

DEFAULT_API_URL = "https://api.github.com"
# How long a rate limit may hold a run up in all; past this the run stops and says so.
MAX_RATE_LIMIT_WAIT = 300.0
_REMOTE = re.compile(r"(?:[:/])(?P<owner>[\w.-]+)/(?P<name>[\w.-]+?)(?:\.git)?/?$")


class GitHubError(FatalError):
    pass


@dataclass(frozen=True)
class GitHubSettings:
    repo: str       # owner/name
    token: str
    api_url: str


def repo_from_remote(url: str) -> str | None:
    """owner/name of an `origin` URL (https, ssh or scp-like)."""
    m = _REMOTE.search(url.strip())
    return f"{m['owner']}/{m['name']}" if m else None


def resolve(*, repo: str | None, token: str | None, api_url: str | None, origin_url: str | None,
            env: Mapping[str, str] = os.environ) -> GitHubSettings:
    """--github-repo, else GITHUB_REPOSITORY, else origin's URL; --token, else GITHUB_TOKEN;
    --api-url, else GITHUB_API_URL (GitHub Enterprise), else api.github.com."""
    name = repo or env.get("GITHUB_REPOSITORY") or (repo_from_remote(origin_url) if origin_url else None)
    if not name:
        raise GitHubError("no repository: pass --github-repo OWNER/NAME, or set GITHUB_REPOSITORY, "
                          "or run inside a clone whose origin is on GitHub")
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", name):
        raise GitHubError(f"--github-repo {name!r}: expected OWNER/NAME")
    secret = token or env.get("GITHUB_TOKEN")
    if not secret:
        raise GitHubError("no token: pass --token or set GITHUB_TOKEN (in Actions: "
                          "env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }})")
    return GitHubSettings(name, secret, (api_url or env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"))


def connect(settings: GitHubSettings, *, max_wait: float = MAX_RATE_LIMIT_WAIT) -> Github:
    # PyGithub's retry honours Retry-After and the rate-limit reset header on 403/429 and
    # retries 5xx with backoff; max_rate_limit_wait caps how long one wait may be.
    retry = GithubRetry(total=5, backoff_factor=0.5, secondary_rate_wait=min(60.0, max_wait),
                        max_rate_limit_wait=max_wait)
    return Github(auth=Auth.Token(settings.token), base_url=settings.api_url, retry=retry, timeout=30,
                  seconds_between_requests=None, seconds_between_writes=None)
