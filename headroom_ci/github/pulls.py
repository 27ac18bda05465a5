"""Our one pull request per branch on GitHub: find, create, update, close, comment, label, request
reviews, and read the rejection ledger. Every error GitHub answers becomes a GitHubError whose
message says what to do.
"""
from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import requests
from github import Github
from github import GithubException
from github.PullRequest import PullRequest
from github.Repository import Repository

from headroom_ci.github.body import fingerprints_in
from headroom_ci.github.client import GitHubError
from headroom_ci.safety.redact import redact

ACTIONS_SETTING = (
    "GitHub Actions is not permitted to create pull requests in this repository: enable Settings → Actions → "
    "General → Workflow permissions → \"Allow GitHub Actions to create and approve pull requests\" (in an "
    "organization an owner may have to allow it first), or pass a token of a user or GitHub App with --github-token")


@dataclass(frozen=True)
class Pull:
    number: int
    url: str             # the page people open
    title: str
    body: str
    base: str
    labels: frozenset[str]
    raw: PullRequest = field(compare=False, repr=False)


@dataclass(frozen=True)
class Ledger:
    """What the closed pull requests of our branch say."""
    rejected: dict[str, int]      # fingerprint → the newest PR that held it and was closed without merging
    merged_heads: frozenset[str]  # head shas of merged ones: their commits are in base already


def _pull(raw: PullRequest) -> Pull:
    return Pull(raw.number, raw.html_url, raw.title or "", raw.body or "", raw.base.ref,
                frozenset(label.name for label in raw.labels), raw)


def _message(exc: GithubException) -> tuple[str, str]:
    data: Any = exc.data
    if not isinstance(data, dict):
        return str(data or ""), ""
    errors = "; ".join(str(e.get("message") or f"{e.get('field')} {e.get('code')}") if isinstance(e, dict) else str(e)
                       for e in data.get("errors") or [])
    return str(data.get("message") or ""), errors


def _said(exc: GithubException) -> str:
    message, errors = _message(exc)
    return f"{message or exc.status}{f' ({errors})' if errors else ''}"


def missing_labels(pull: Pull, labels: Sequence[str]) -> list[str]:
    """The labels the pull request lacks; GitHub's label names are case-insensitive."""
    have = {label.casefold() for label in pull.labels}
    wanted = {label.casefold(): label for label in reversed(labels)}
    return [wanted[key] for key in dict.fromkeys(label.casefold() for label in labels) if key not in have]


def describe(exc: GithubException, what: str, repo: str) -> GitHubError:
    message, errors = _message(exc)
    said = message + (f" ({errors})" if errors else "")
    if exc.status == 401:
        return GitHubError(f"{what}: GitHub rejected the token (401 {said}): check --github-token or GITHUB_TOKEN")
    if exc.status == 403 and "not permitted to create or approve pull requests" in message:
        return GitHubError(f"{what}: {ACTIONS_SETTING}")
    if exc.status == 403 and "rate limit" in message.lower():
        return GitHubError(f"{what}: GitHub's rate limit stopped the run ({said}): run it again later")
    if exc.status == 403:
        return GitHubError(f"{what}: the token is not allowed to (403 {said}): in a workflow give the job "
                           "`permissions: pull-requests: write` and `contents: write`, or use a token that has them")
    if exc.status == 404:
        return GitHubError(f"{what}: not found (404): check that {repo} exists and the token can read it "
                           "(--github-repo, GITHUB_REPOSITORY)")
    return GitHubError(f"{what}: GitHub answered {exc.status}: {said or 'no message'}")


def _already_exists(exc: GithubException) -> bool:
    message, errors = _message(exc)
    return exc.status == 422 and "already exists" in (message + errors)


class Pulls:
    """The pull requests of one repository whose head is one of its own branches."""

    def __init__(self, gh: Github, repo: str) -> None:
        self.name = repo
        self.owner = repo.split("/", 1)[0]
        self._gh = gh
        self._repo: Repository | None = None

    @contextmanager
    def _calling(self, what: str) -> Iterator[None]:
        try:
            yield
        except GithubException as exc:
            raise describe(exc, what, self.name) from None
        except requests.RequestException as exc:
            raise GitHubError(f"{what}: GitHub did not answer ({type(exc).__name__}: {exc}): run it again") from None

    @property
    def repo(self) -> Repository:
        if self._repo is None:
            with self._calling(f"reading {self.name}"):
                self._repo = self._gh.get_repo(self.name)
        return self._repo

    def default_branch(self) -> str:
        return self.repo.default_branch

    def _head(self, branch: str) -> str:
        return f"{self.owner}:{branch}"

    def open_pull(self, branch: str) -> Pull | None:
        with self._calling(f"listing the open pull requests of {branch}"):
            for raw in self.repo.get_pulls(state="open", head=self._head(branch)):
                return _pull(raw)
        return None

    def ledger(self, branch: str) -> Ledger:
        """Rejections are the fingerprints in the bodies of our closed, unmerged pull requests."""
        rejected: dict[str, int] = {}
        merged: set[str] = set()
        with self._calling(f"listing the closed pull requests of {branch}"):
            for raw in self.repo.get_pulls(state="closed", head=self._head(branch)):  # newest first
                if raw.merged_at is not None:
                    merged.add(raw.head.sha)
                    continue
                for fp in fingerprints_in(raw.body):
                    rejected.setdefault(fp, raw.number)
        return Ledger(rejected, frozenset(merged))

    def create(self, *, branch: str, base: str, title: str, body: str, draft: bool) -> tuple[Pull, bool]:
        """(the pull request, True) or, when one already exists for the branch, (that one, False).

        A POST is never sent twice blindly: GitHub can fail one (5xx, a dropped connection) after
        it took effect, so after such a failure the open pull requests of the branch are listed
        first, and only when ours is not among them is it created again (once).
        """
        what = f"creating the pull request {branch} → {base}"
        for attempt in (1, 2):
            try:
                raw = self.repo.create_pull(base=base, head=branch, title=title, body=body, draft=draft)
                return _pull(raw), True
            except GithubException as exc:
                if _already_exists(exc):
                    # Someone (a concurrent run) opened it first: update that one.
                    existing = self.open_pull(branch)
                    if existing is None:
                        raise describe(exc, what, self.name) from None
                    return existing, False
                if exc.status < 500 or attempt == 2:
                    raise describe(exc, what, self.name) from None
            except requests.RequestException as exc:
                if attempt == 2:
                    raise GitHubError(f"{what}: GitHub did not answer ({exc}): run it again") from None
            existing = self.open_pull(branch)
            if existing is not None and existing.base == base:
                return existing, True   # the failed request made it
        raise AssertionError("unreachable")

    def edit(self, pull: Pull, *, title: str, body: str, base: str) -> Pull:
        with self._calling(f"updating pull request #{pull.number}"):
            pull.raw.edit(title=title, body=body, base=base)
        return _pull(pull.raw)

    def add_labels(self, pull: Pull, labels: Sequence[str]) -> str | None:
        """None, or a warning: a label that cannot be added (no issues: write, a 403) must not
        fail a run whose pull request is already open. GitHub matches label names ignoring case."""
        missing = missing_labels(pull, labels)
        if not missing:
            return None
        try:
            pull.raw.add_to_labels(*missing)
        except GithubException as exc:
            return f"could not label #{pull.number} with {', '.join(missing)}: {_said(exc)}"
        except requests.RequestException as exc:
            return f"could not label #{pull.number} with {', '.join(missing)}: GitHub did not answer ({exc})"
        return None

    def request_reviews(self, pull: Pull, users: Sequence[str], teams: Sequence[str]) -> tuple[str, ...]:
        """Warnings: a reviewer who cannot be asked should not undo the pull request. Users and
        teams are asked separately, so a team the token cannot resolve does not lose the users."""
        warnings: list[str] = []
        for kind, names, kw in (("reviews", users, "reviewers"), ("team reviews", teams, "team_reviewers")):
            if not names:
                continue
            try:
                pull.raw.create_review_request(**{kw: list(names)})
            except GithubException as exc:
                warnings.append(f"could not request {kind} from {', '.join(names)} on #{pull.number}: {_said(exc)}")
            except requests.RequestException as exc:
                warnings.append(f"could not request {kind} from {', '.join(names)} on #{pull.number}: "
                                f"GitHub did not answer ({exc})")
        return tuple(warnings)

    def assign(self, pull: Pull, users: Sequence[str]) -> str | None:
        if not users:
            return None
        try:
            pull.raw.add_to_assignees(*users)
        except GithubException as exc:
            return f"could not assign #{pull.number} to {', '.join(users)}: {_message(exc)[0] or exc.status}"
        except requests.RequestException as exc:
            return f"could not assign #{pull.number} to {', '.join(users)}: GitHub did not answer ({exc})"
        return None

    def has_comment(self, pull: Pull, marker: str) -> bool:
        with self._calling(f"reading the comments of #{pull.number}"):
            return any(marker in (c.body or "") for c in pull.raw.get_issue_comments())

    def comment(self, pull: Pull, text: str) -> None:
        # Like create(): after a failure that may have taken effect, look before posting again.
        body = redact(text)
        with self._calling(f"commenting on #{pull.number}"):
            try:
                pull.raw.create_issue_comment(body)
            except GithubException as exc:
                if exc.status < 500:
                    raise
            except requests.RequestException:
                pass
            else:
                return
            if not any((c.body or "") == body for c in pull.raw.get_issue_comments()):
                pull.raw.create_issue_comment(body)

    def close(self, pull: Pull, *, comment: str, body: str) -> None:
        self.comment(pull, comment)
        with self._calling(f"closing #{pull.number}"):
            pull.raw.edit(state="closed", body=body)
