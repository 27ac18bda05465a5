"""The one place a GitHub connection is made: repository, token and API URL resolved once."""
from __future__ import annotations

import email.utils
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from github import Auth
from github import Github
from github import GithubRetry
from github.GithubException import RateLimitExceededExceedsMaxWait
from typing_extensions import Self
from urllib3.response import BaseHTTPResponse

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


class RateLimitWaitError(GitHubError):
    pass


def wait_cap_error(cap: float, *, asked: float | None, waited: float = 0.0) -> RateLimitWaitError:
    asks = f"asks to wait {asked:.0f}s more" if asked is not None else "asks to wait"
    already = f" (already waited {waited:.0f}s)" if waited else ""
    return RateLimitWaitError(f"GitHub's rate limit {asks}, past the cap of {cap:.0f}s of waiting per run"
                              f"{already}: try again after the limit resets, or raise the cap")


class WaitBudget:
    """How long rate limits may still hold this run up, shared by all its requests and threads."""

    def __init__(self, cap: float) -> None:
        self.cap = cap
        self.waited = 0.0
        self._lock = threading.Lock()

    def take(self, seconds: float) -> None:
        with self._lock:
            if self.waited + seconds > self.cap:
                raise wait_cap_error(self.cap, asked=seconds, waited=self.waited)
            self.waited += seconds


def _retry_after(value: str) -> float | None:
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


class CappedRetry(GithubRetry):
    """GithubRetry whose rate-limit waits (403/429) are charged to a WaitBudget.

    urllib3 honours Retry-After but silently clamps a long one (and GithubRetry applies its
    max_rate_limit_wait only to waits it computes itself): here every such wait counts, and the
    run stops with RateLimitWaitError instead of sleeping past the cap.
    """

    def __init__(self, budget: WaitBudget | None = None, **kwargs: Any) -> None:
        self.budget = budget
        super().__init__(**kwargs)

    def new(self, **kw: Any) -> Self:
        kw["budget"] = self.budget
        return super().new(**kw)

    def increment(self, *args: Any, **kwargs: Any) -> Self:
        try:
            retry = super().increment(*args, **kwargs)
        except RateLimitExceededExceedsMaxWait as exc:  # a primary limit that resets too late
            if self.budget is None:
                raise
            raise wait_cap_error(self.budget.cap, asked=exc.wait, waited=self.budget.waited) from None
        assert isinstance(retry, type(self))  # urllib3 makes the next one with new()
        return retry

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        wait = self.get_backoff_time()
        after = response.headers.get("Retry-After") if response is not None else None
        asked = _retry_after(after) if after is not None and self.respect_retry_after_header else None
        if asked is not None:  # honoured exactly (urllib3 would clamp a long one without a word)
            wait = asked
        if response is not None and response.status in (403, 429) and self.budget is not None:
            self.budget.take(wait)
        if wait > 0:
            time.sleep(wait)


def capped_retry(budget: WaitBudget) -> CappedRetry:
    # Honours Retry-After and the rate-limit reset header on 403/429 and retries 5xx with
    # backoff; one wait longer than the whole budget stops at once.
    return CappedRetry(budget, total=5, backoff_factor=0.5, secondary_rate_wait=min(60.0, budget.cap),
                       max_rate_limit_wait=budget.cap)


def connect(settings: GitHubSettings, *, max_wait: float = MAX_RATE_LIMIT_WAIT, per_page: int = 30,
            budget: WaitBudget | None = None) -> Github:
    """`budget` (default: one of `max_wait` seconds) caps the total rate-limit wait of the run;
    share it with other connections of the same run."""
    retry = capped_retry(budget or WaitBudget(max_wait))
    return Github(auth=Auth.Token(settings.token), base_url=settings.api_url, retry=retry, timeout=30,
                  per_page=per_page, seconds_between_requests=None, seconds_between_writes=None)
