"""The one place a GitHub connection is made: repository, token and API URL resolved once."""
from __future__ import annotations

import email.utils
import json
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from github import Auth
from github import Github
from github import GithubException
from github import RateLimitExceededException
from typing_extensions import Self
from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

from headroom_ci.errors import FatalError

DEFAULT_API_URL = "https://api.github.com"
# How long a rate limit may hold a run up in all; past this the run stops and says so.
MAX_RATE_LIMIT_WAIT = 300.0
_HOST = re.compile(r"(?:[a-z+]+://)?(?:[^@/]*@)?(?P<host>[^/:@]+)[:/]", re.I)
_REMOTE = re.compile(r"(?:[:/])(?P<owner>[\w.-]+)/(?P<name>[\w.-]+?)(?:\.git)?/?$")


class GitHubError(FatalError):
    pass


@dataclass(frozen=True)
class GitHubSettings:
    repo: str       # owner/name
    token: str
    api_url: str


def repo_from_remote(url: str, *, api_url: str = DEFAULT_API_URL) -> str | None:
    """owner/name of an `origin` URL (https, ssh or scp-like) on GitHub or on the GitHub server
    `api_url` belongs to; None for any other (a local path, another forge)."""
    m = _REMOTE.search(url.strip())
    host = _HOST.match(url.strip())
    if not m or not host:
        return None
    server = re.sub(r"^https?://(?:api\.)?([^/:]+).*$", r"\1", api_url.lower())
    return f"{m['owner']}/{m['name']}" if host["host"].lower() in {"github.com", server} else None


def _shown(url: str) -> str:
    # An origin may carry a token (https://x-access-token:…@github.com/…): never in a message.
    return re.sub(r"(?<=://)[^/@]*@", "", url.strip())


def gh_token(api_url: str, *, env: Mapping[str, str]) -> str | None:
    """The GitHub CLI's token (`gh auth token`) for the host of `api_url`, when gh is installed
    and logged in: a developer's machine has one more often than a GITHUB_TOKEN."""
    import shutil
    import subprocess
    gh = shutil.which("gh", path=env.get("PATH", ""))
    if gh is None:
        return None
    host = re.sub(r"^https?://(?:api\.)?([^/:]+).*$", r"\1", api_url.lower())
    try:
        done = subprocess.run([gh, "auth", "token", "--hostname", host], capture_output=True, text=True,
                              timeout=20, check=False, env=dict(env))
    except (OSError, subprocess.SubprocessError):
        return None
    token = done.stdout.strip()
    return token if done.returncode == 0 and token and not any(c.isspace() for c in token) else None


def resolve(*, repo: str | None, token: str | None, api_url: str | None, origin_url: str | None,
            env: Mapping[str, str] = os.environ) -> GitHubSettings:
    """--github-repo, else GITHUB_REPOSITORY, else origin's URL; --github-token, else GITHUB_TOKEN;
    --api-url, else GITHUB_API_URL (GitHub Enterprise), else api.github.com."""
    api = (api_url or env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
    name = repo or env.get("GITHUB_REPOSITORY") or (repo_from_remote(origin_url, api_url=api) if origin_url else None)
    if not name and origin_url:
        raise GitHubError(f"the origin remote {_shown(origin_url)} is not a GitHub repository's URL: "
                          "pass --github-repo OWNER/NAME")
    if not name:
        raise GitHubError("no repository: pass --github-repo OWNER/NAME, or set GITHUB_REPOSITORY, "
                          "or run inside a clone whose origin is on GitHub")
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", name) or any(part in (".", "..") for part in name.split("/")):
        raise GitHubError(f"--github-repo {name!r}: expected OWNER/NAME")
    # GH_TOKEN is the GitHub CLI's variable; `gh auth token` a developer's login.
    secret = token or env.get("GITHUB_TOKEN") or env.get("GH_TOKEN") or gh_token(api, env=env)
    if not secret:
        raise GitHubError("no token: pass --github-token, set GITHUB_TOKEN or GH_TOKEN, or log in with `gh auth login` "
                          "(in Actions: env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }})")
    return GitHubSettings(name, secret, api)


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


def _header(response: Any, name: str) -> str | None:
    value = response.headers.get(name)
    return str(value).strip() if value is not None else None


def rate_limit_wait(status: int, headers: Mapping[str, str], message: str, *, previous: int, now: float) -> float | None:
    """Seconds to wait before a request GitHub refused for a rate limit may be sent again, as
    GitHub's REST documentation says ("Rate limits for the REST API: exceeding the rate limit");
    None when the 403/429 is not a rate limit (a permission, say) and must not be retried.

    Primary: x-ratelimit-remaining is 0, wait until x-ratelimit-reset. Secondary (the message
    says so, or a 429): retry-after if present, else x-ratelimit-reset if remaining is 0, else at
    least one minute, growing exponentially with each further refusal.
    """
    if status not in (403, 429):
        return None
    after = headers.get("retry-after")
    remaining = headers.get("x-ratelimit-remaining")
    reset = headers.get("x-ratelimit-reset")
    said = message.lower()
    limited = status == 429 or after is not None or str(remaining).strip() == "0" or "rate limit" in said
    if not limited:
        return None
    if after is not None:
        asked = _retry_after(str(after))
        if asked is not None:
            return asked
    if str(remaining).strip() == "0" and reset is not None and str(reset).strip().isdigit():
        # (+1: the reset happens somewhere within that second)
        return max(int(str(reset).strip()) - now + 1.0, 0.0)
    return 60.0 * 2.0 ** previous


class CappedRetry(Retry):
    """urllib3's Retry with GitHub's rules, and every rate-limit wait charged to a WaitBudget.

    - 403 and 429 that are rate limits are retried for every method (GitHub did not act on the
      request), after the wait `rate_limit_wait` computes; another 403 is raised at once.
    - 5xx and broken connections are retried only for methods that can safely be sent twice:
      never a POST, which may have taken effect (its caller looks before creating again).
    - A wait that would take the run past its budget stops it with RateLimitWaitError instead
      of sleeping.
    """

    SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})

    def __init__(self, budget: WaitBudget | None = None, *, rate_limited: int = 0, wait: float | None = None,
                 **kwargs: Any) -> None:
        self.budget = budget
        self.rate_limited = rate_limited    # rate-limit refusals so far (the exponential backoff)
        self.wait = wait                    # what sleep() waits next; None: the 5xx backoff
        kwargs.setdefault("status_forcelist", frozenset({403, 429, 500, 502, 503, 504}))
        kwargs.setdefault("allowed_methods", self.SAFE_METHODS)
        super().__init__(**kwargs)

    def new(self, **kw: Any) -> Self:
        kw.setdefault("budget", self.budget)
        kw.setdefault("rate_limited", self.rate_limited)
        return super().new(**kw)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code in (403, 429) and self.total is not False:
            return True   # increment() reads the answer to tell a rate limit from a refusal
        return bool(super().is_retry(method, status_code, has_retry_after))

    def increment(self, method: str | None = None, url: str | None = None, response: Any = None,
                  error: Exception | None = None, _pool: Any = None, _stacktrace: Any = None) -> Self:
        if response is None or response.status not in (403, 429):
            retry = super().increment(method, url, response, error, _pool, _stacktrace)
            assert isinstance(retry, type(self))  # urllib3 makes the next one with new()
            return retry
        headers = {k.lower(): v for k, v in response.headers.items()}
        raw = response.data or b""
        try:
            data: Any = json.loads(raw)
        except ValueError:
            data = {"message": raw.decode("utf-8", "replace")}
        message = str(data.get("message") or "") if isinstance(data, dict) else ""
        wait = rate_limit_wait(response.status, headers, message, previous=self.rate_limited, now=time.time())
        if wait is None:
            raise GithubException(response.status, data, headers)
        try:
            retry = super().increment(method, url, response, error, _pool, _stacktrace)
        except MaxRetryError:
            raise RateLimitExceededException(response.status, data, headers) from None
        if self.budget is not None:
            self.budget.take(wait)
        retry = retry.new(rate_limited=self.rate_limited + 1, wait=wait)
        assert isinstance(retry, type(self))
        return retry

    def sleep(self, response: Any = None) -> None:
        wait = self.wait
        if wait is None:
            after = _header(response, "Retry-After") if response is not None else None
            asked = _retry_after(after) if after is not None else None
            wait = asked if asked is not None else self.get_backoff_time()
        if wait > 0:
            time.sleep(wait)


def capped_retry(budget: WaitBudget) -> CappedRetry:
    return CappedRetry(budget, total=5, backoff_factor=0.5)


def connect(settings: GitHubSettings, *, max_wait: float = MAX_RATE_LIMIT_WAIT, per_page: int = 30,
            budget: WaitBudget | None = None) -> Github:
    """`budget` (default: one of `max_wait` seconds) caps the total rate-limit wait of the run;
    share it with other connections of the same run."""
    retry = capped_retry(budget or WaitBudget(max_wait))
    return Github(auth=Auth.Token(settings.token), base_url=settings.api_url, retry=retry, timeout=30,
                  per_page=per_page, seconds_between_requests=None, seconds_between_writes=None)
