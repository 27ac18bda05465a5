"""Workflow runs → their artifacts → safely extracted bundles with the run's provenance.

The pure parts (what `--since` means, which runs and artifacts are wanted, the bundle manifest)
come first; listing goes through PyGithub, downloading through requests, because the zip URL
answers 302 to blob storage on another host that must never see the token.
"""
from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import json
import os
import re
import shutil
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path
from typing import Any
from typing import NamedTuple
from urllib.parse import urljoin
from urllib.parse import urlsplit

import requests
from github import Github
from github import GithubException
from github import RateLimitExceededException
from github.Artifact import Artifact
from github.Repository import Repository
from github.WorkflowRun import WorkflowRun
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from headroom_ci.archive import ArchiveError
from headroom_ci.archive import extract_zip
from headroom_ci.archive import Limits
from headroom_ci.errors import UsageError
from headroom_ci.fsio import write_text
from headroom_ci.github.client import capped_retry
from headroom_ci.github.client import GitHubError
from headroom_ci.github.client import GitHubSettings
from headroom_ci.github.client import WaitBudget
from headroom_ci.since import age
from headroom_ci.sessions.bundle import FORMAT
from headroom_ci.sessions.bundle import MANIFEST
from headroom_ci.sessions.bundle import VERSION
from headroom_ci.sessions.model import Run

DEFAULT_GLOB = "agent-sessions-*"
# A download bigger than this is abandoned: bundles are transcripts, not build outputs.
MAX_ARCHIVE_BYTES = 1024 * 1024 * 1024
# A root manifest.json that is not a bundle manifest is kept under this name.
FOREIGN_MANIFEST = "manifest.artifact.json"
# Listing the repository's artifacts by name stops after this many (30 pages): a glob that matches
# nothing must not page through years of a busy repository's artifacts.
MAX_LISTED_ARTIFACTS = 3000
USER_AGENT = "headroom-ci"
_TIMEOUT = 30
_MAX_REDIRECTS = 5
_CHUNK = 1 << 20


# -- pure ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Query:
    workflows: tuple[str, ...] = ()     # file names or ids; none: every workflow
    glob: str = DEFAULT_GLOB
    since: datetime | None = None       # aware, UTC
    branch: str | None = None
    status: str | None = None           # a run status or conclusion, as the API's `status`
    max_runs: int = 50
    forks: bool = False                 # also runs of fork pull requests and outsider-triggered events


@dataclass(frozen=True)
class RunInfo:
    id: int
    created_at: datetime
    attempt: int | None = None
    url: str | None = None
    workflow: str | None = None         # the workflow's file name, e.g. agent.yml
    branch: str | None = None
    sha: str | None = None
    status: str | None = None
    conclusion: str | None = None
    event: str | None = None
    head_repo: str | None = None        # owner/name of the repository the run's commit came from

    def provenance(self) -> Run:
        return Run(id=str(self.id), attempt=self.attempt, url=self.url, workflow=self.workflow,
                   branch=self.branch, sha=self.sha, created_at=iso(self.created_at))


@dataclass(frozen=True)
class ArtifactInfo:
    id: int
    name: str
    size: int
    expired: bool
    download_url: str
    run: RunInfo

    @property
    def folder(self) -> str:
        return f"{self.run.id}-{self.id}"


@dataclass(frozen=True)
class Listing:
    runs: tuple[RunInfo, ...]
    artifacts: tuple[ArtifactInfo, ...]  # whose names match, expired ones included
    others: tuple[str, ...] = ()         # names of the runs' artifacts the glob did not take, for a warning
    left_out: int = 0                    # runs whose artifacts matched but that the filters left out
    truncated: int = 0                   # the listing stopped after this many artifacts


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_since(text: str, *, now: datetime) -> datetime:
    """`14d`, `36h`, `2w` before `now`, or a date (`2026-11-01`) or date-time in UTC."""
    text = text.strip()
    ago = age(text)
    if ago:
        return now.astimezone(timezone.utc) - timedelta(**{ago.unit: ago.n})
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--since {text!r}: expected an age such as 14d, 36h or 2w, or a date such as "
                         f"2026-11-01") from None
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def created_filter(since: datetime) -> str:
    # The API's `created` takes search syntax; the day is coarse on purpose (every server
    # parses it), and run_matches() applies the exact time.
    return f">={since.astimezone(timezone.utc).date().isoformat()}"


def workflow_ref(spec: str) -> int | str:
    """A workflow id, or its file name (the API does not take the .github/workflows/ path)."""
    spec = spec.strip()
    return int(spec) if spec.isdigit() else spec.rsplit("/", 1)[-1]


# Events only people with write access can cause (a push, a schedule, a dispatch, a merge
# queue, a release), and pull requests, whose head repository tells a fork's apart. Not:
# pull_request_target, issue_comment, issues, workflow_run and the like, which an outsider's
# comment or fork can set off with the repository's own code and tokens.
TRUSTED_EVENTS = frozenset({"push", "pull_request", "schedule", "workflow_dispatch", "merge_group", "release",
                            "repository_dispatch", "deployment"})


def own_run(run: RunInfo, repository: str) -> bool:
    """Whether a run is the repository's own: its commit from the repository itself (not a fork's)
    and its event one an outsider cannot set off. Names compare without case, as GitHub's do."""
    return (run.event in TRUSTED_EVENTS and run.head_repo is not None
            and run.head_repo.casefold() == repository.casefold())


def run_matches(run: RunInfo, query: Query, *, repository: str | None = None) -> bool:
    return ((query.forks or repository is None or own_run(run, repository))
            and (query.since is None or run.created_at >= query.since)
            and (query.branch is None or run.branch == query.branch)
            and (query.status is None or query.status in (run.status, run.conclusion)))


def newest(runs: Iterable[RunInfo], limit: int) -> tuple[RunInfo, ...]:
    """The `limit` most recent runs, each once (two --workflow may name the same workflow)."""
    unique = {r.id: r for r in runs}
    return tuple(sorted(unique.values(), key=lambda r: (r.created_at, r.id), reverse=True)[:limit])


def name_matches(name: str, glob: str) -> bool:
    return fnmatch.fnmatchcase(name, glob)


def bundle_manifest(existing: Any, *, repository: str, artifact: ArtifactInfo) -> dict[str, Any]:
    """The manifest of a fetched bundle: a collect manifest at the artifact's root keeps its
    fields, and the run fields GitHub reported are laid over its own."""
    doc: dict[str, Any] = dict(existing) if isinstance(existing, dict) and existing.get("format") == FORMAT else {}
    doc["format"] = FORMAT
    doc.setdefault("version", VERSION)
    doc["repository"] = repository
    prov = artifact.run.provenance()
    fields = {"id": prov.id, "attempt": prov.attempt, "url": prov.url, "workflow": prov.workflow,
              "branch": prov.branch, "sha": prov.sha, "created_at": prov.created_at}
    run = doc.get("run")
    collected: dict[str, Any] = run if isinstance(run, dict) else {}
    # GitHub lists a run with its latest attempt, and an artifact may come from an earlier one: the
    # attempt collect recorded is the artifact's own; without it, only a first attempt is certain.
    own = collected.get("attempt")
    if isinstance(own, int) and not isinstance(own, bool) and 1 <= own <= (prov.attempt or own):
        fields["attempt"] = own
    elif prov.attempt != 1:
        fields["attempt"] = None
    kept = {k: v for k, v in collected.items() if k != "attempt"}
    doc["run"] = {**kept, **{k: v for k, v in fields.items() if v is not None}}
    doc["artifact"] = {"id": artifact.id, "name": artifact.name}
    return doc


# -- errors --------------------------------------------------------------------------------------
class DownloadError(Exception):
    """One artifact could not be downloaded; the others go on."""


class ArtifactGone(DownloadError):
    pass


def _message(exc: GithubException) -> str:
    data = exc.data
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])
    return str(exc.message or "") or f"HTTP {exc.status}"


@contextlib.contextmanager
def _explained(settings: GitHubSettings, doing: str, *, not_found: str) -> Iterator[None]:
    """GitHub's failures as one line that says what failed and what to do."""
    try:
        yield
    except RateLimitExceededException:
        raise GitHubError(f"GitHub's rate limit is used up while {doing}: try again after it resets "
                          f"(GET {settings.api_url}/rate_limit shows when)") from None
    except GithubException as exc:
        if exc.status == 401:
            raise GitHubError(f"the token was refused while {doing} (401 {_message(exc)}): check --github-token or "
                              f"GITHUB_TOKEN, and that it has not expired") from None
        if exc.status == 404:
            raise GitHubError(not_found) from None
        if exc.status == 403:
            raise GitHubError(f"GitHub refused {doing} (403 {_message(exc)}): the token needs the "
                              f"actions: read permission on {settings.repo}") from None
        raise GitHubError(f"GitHub answered {exc.status} while {doing}: {_message(exc)}") from None
    except requests.exceptions.RetryError:
        raise GitHubError(f"GitHub kept failing while {doing} (server errors after every retry): "
                          f"try again later") from None
    except requests.exceptions.RequestException as exc:
        raise GitHubError(f"cannot reach GitHub at {settings.api_url} while {doing} ({type(exc).__name__}): "
                          f"check the network and --api-url / GITHUB_API_URL") from None


# -- listing (PyGithub) ----------------------------------------------------------------------------
def _run_info(run: WorkflowRun) -> RunInfo:
    path = run.path or ""
    workflow = path.split("@", 1)[0].rsplit("/", 1)[-1] or run.name
    return RunInfo(id=run.id, created_at=run.created_at.astimezone(timezone.utc), attempt=run.run_attempt,
                   url=run.html_url, workflow=workflow, branch=run.head_branch, sha=run.head_sha,
                   status=run.status, conclusion=run.conclusion, event=run.event,
                   head_repo=run.head_repository.full_name if run.raw_data.get("head_repository") else None)


def list_artifacts(gh: Github, settings: GitHubSettings, query: Query) -> Listing:
    """The newest `max_runs` matching runs that uploaded an artifact whose name matches the glob,
    with those artifacts. Named workflows are read run by run; otherwise the repository's
    artifacts are read by name, so that busy CI without sessions does not crowd the agent runs out."""
    repo_missing = (f"repository {settings.repo} not found at {settings.api_url}, or the token cannot see it "
                    f"(it needs actions: read): check --github-repo and the token")
    with _explained(settings, f"reading {settings.repo}", not_found=repo_missing):
        repo = gh.get_repo(settings.repo)
    if query.workflows:
        return _by_workflow(repo, settings, query)
    with _explained(settings, f"listing the artifacts of {settings.repo}", not_found=repo_missing):
        return _by_name(repo, settings, query)


def _by_workflow(repo: Repository, settings: GitHubSettings, query: Query) -> Listing:
    filters: dict[str, Any] = {}
    if query.branch is not None:
        filters["branch"] = query.branch
    if query.status is not None:
        filters["status"] = query.status
    if query.since is not None:
        filters["created"] = created_filter(query.since)
    runs: dict[int, WorkflowRun] = {}
    infos: list[RunInfo] = []
    for spec in query.workflows:
        ref = workflow_ref(spec)
        missing = f"workflow {ref!r} not found in {settings.repo}: pass its file name (agent.yml) or its id"
        with _explained(settings, f"listing the runs of workflow {ref} in {settings.repo}", not_found=missing):
            taken = 0
            # Newest first: paging stops once this workflow has given enough runs.
            for run in repo.get_workflow(ref).get_runs(**filters):
                info = _run_info(run)
                if query.since is not None and info.created_at < query.since:
                    break  # newest first: the rest are older still, even if the server ignored `created`
                if run_matches(info, query, repository=settings.repo):
                    runs[info.id] = run
                    infos.append(info)
                    taken += 1
                if taken >= query.max_runs:
                    break
    chosen = newest(infos, query.max_runs)
    artifacts: list[ArtifactInfo] = []
    others: dict[str, None] = {}
    for info in chosen:
        with _explained(settings, f"listing the artifacts of run {info.id}",
                        not_found=f"run {info.id} of {settings.repo} was deleted while it was read: try again"):
            for art in runs[info.id].get_artifacts():
                if name_matches(art.name, query.glob):
                    artifacts.append(_artifact_info(art, info))
                else:
                    others.setdefault(art.name)
    return Listing(chosen, tuple(artifacts), tuple(others))


def _by_name(repo: Repository, settings: GitHubSettings, query: Query) -> Listing:
    exact = not any(c in query.glob for c in "*?[")
    pages = repo.get_artifacts(name=query.glob) if exact else repo.get_artifacts()
    # The artifact's time was held to `since` already: a run that began just before it still counts.
    per_run = dataclasses.replace(query, since=None)
    accepted: dict[int, RunInfo] = {}
    refused: set[int] = set()   # left out by the filters
    gone: set[int] = set()      # deleted since the artifact was listed
    found: dict[int, list[Artifact]] = {}
    others: dict[str, None] = {}
    scanned = 0
    oldest: datetime | None = None  # the oldest accepted run: no later artifact can be one of theirs once past it
    for art in pages:
        scanned += 1
        created = art.created_at.astimezone(timezone.utc) if art.created_at else None
        if created is not None and ((query.since is not None and created < query.since)
                                    or (len(accepted) >= query.max_runs and oldest and created < oldest)):
            break  # newest first, as GitHub lists them: the rest are older still
        if scanned > MAX_LISTED_ARTIFACTS:
            break
        if not name_matches(art.name, query.glob):
            others.setdefault(art.name)
            continue
        origin = _origin(art)
        if origin is None or origin.id in refused or origin.id in gone:
            continue
        if origin.id not in accepted:
            if len(accepted) >= query.max_runs:
                continue  # an older run's artifact between the accepted runs' own
            # What the artifact says of its run decides first: a run left out costs no request.
            if ((query.branch is not None and origin.branch is not None and origin.branch != query.branch)
                    or (not query.forks and origin.head_repo_id is not None and origin.head_repo_id != repo.id)):
                refused.add(origin.id)
                continue
            info = _get_run(repo, origin.id)
            if info is None:
                gone.add(origin.id)
                continue
            if not run_matches(info, per_run, repository=settings.repo):
                refused.add(origin.id)
                continue
            accepted[origin.id] = info
            oldest = info.created_at if oldest is None else min(oldest, info.created_at)
        found.setdefault(origin.id, []).append(art)
    chosen = newest(accepted.values(), query.max_runs)
    artifacts = tuple(_artifact_info(a, info) for info in chosen
                      for a in sorted(found[info.id], key=lambda a: a.id))
    return Listing(chosen, artifacts, tuple(others), left_out=len(refused),
                   truncated=MAX_LISTED_ARTIFACTS if scanned > MAX_LISTED_ARTIFACTS else 0)


class _Origin(NamedTuple):
    id: int
    branch: str | None
    head_repo_id: int | None


def _origin(art: Artifact) -> _Origin | None:
    """The run an artifact names (`workflow_run`: its id, head branch and head repository)."""
    run = art.raw_data.get("workflow_run")
    if not isinstance(run, dict):
        return None
    run_id, branch, head = run.get("id"), run.get("head_branch"), run.get("head_repository_id")
    if not isinstance(run_id, int) or isinstance(run_id, bool):
        return None
    return _Origin(run_id, branch if isinstance(branch, str) else None,
                   head if isinstance(head, int) and not isinstance(head, bool) else None)


def _get_run(repo: Repository, run_id: int) -> RunInfo | None:
    """The run an artifact came from, or None when it was deleted since."""
    try:
        return _run_info(repo.get_workflow_run(run_id))
    except GithubException as exc:
        if exc.status in (404, 410):
            return None
        raise


def _artifact_info(art: Artifact, run: RunInfo) -> ArtifactInfo:
    return ArtifactInfo(id=art.id, name=art.name, size=art.size_in_bytes or 0, expired=bool(art.expired),
                        download_url=art.archive_download_url, run=run)


# -- downloading (requests) ------------------------------------------------------------------------
class _Token(requests.auth.AuthBase):
    """The token, for the API host only (also keeps requests from using ~/.netrc)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


class _NoAuth(requests.auth.AuthBase):
    """Blob storage gets no credentials at all: a signed URL plus an Authorization header is
    refused, and the token must never leave the API host."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers.pop("Authorization", None)
        return r


def _same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc.lower()) == (b.scheme, b.netloc.lower())


def _storage_error(resp: requests.Response) -> str:
    m = re.search(r"<Code>([^<]{1,80})</Code>", resp.text[:4096]) if "xml" in resp.headers.get("Content-Type", "") \
        else None
    return f"the storage host answered {resp.status_code}" + (f" ({m[1]})" if m else "")


def _save(resp: requests.Response, dest: Path, *, max_bytes: int) -> int:
    size = 0
    with open(dest, "wb") as fh:
        for chunk in resp.iter_content(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise DownloadError(f"the archive is larger than {max_bytes} bytes")
            fh.write(chunk)
    return size


def download(artifact: ArtifactInfo, dest: Path, *, settings: GitHubSettings, budget: WaitBudget,
             max_bytes: int = MAX_ARCHIVE_BYTES) -> int:
    """Downloads the artifact's zip to `dest`; returns its size. Raises DownloadError
    (ArtifactGone for 410), or RateLimitWaitError when the run's wait budget runs out."""
    if not _same_origin(artifact.download_url, settings.api_url):
        # The token goes only where the user pointed --api-url.
        raise DownloadError(f"its download URL is not on {settings.api_url}; not sending the token there")
    try:
        with requests.Session() as api, requests.Session() as storage:
            api.mount("http://", HTTPAdapter(max_retries=capped_retry(budget)))
            api.mount("https://", HTTPAdapter(max_retries=capped_retry(budget)))
            plain = Retry(total=3, backoff_factor=0.5, status_forcelist=(500, 502, 503, 504),
                          allowed_methods=frozenset({"GET"}), raise_on_status=False)
            storage.mount("http://", HTTPAdapter(max_retries=plain))
            storage.mount("https://", HTTPAdapter(max_retries=plain))
            headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
                       "User-Agent": USER_AGENT}
            with api.get(artifact.download_url, headers=headers, auth=_Token(settings.token),
                         allow_redirects=False, stream=True, timeout=_TIMEOUT) as resp:
                if resp.status_code == 200:  # a server that answers with the zip itself
                    return _save(resp, dest, max_bytes=max_bytes)
                if resp.status_code == 410:
                    raise ArtifactGone("it expired after it was listed (410 Gone)")
                location = resp.headers.get("Location")
                if not resp.is_redirect or not location:
                    raise DownloadError(_api_error(resp, settings))
                url = urljoin(artifact.download_url, location)
            # Followed by hand so that no hop can bring the token or ~/.netrc credentials back.
            for _ in range(_MAX_REDIRECTS):
                with storage.get(url, headers={"User-Agent": USER_AGENT}, auth=_NoAuth(), allow_redirects=False,
                                 stream=True, timeout=_TIMEOUT) as blob:
                    location = blob.headers.get("Location")
                    if blob.is_redirect and location:
                        url = urljoin(url, location)
                        continue
                    if blob.status_code != 200:
                        raise DownloadError(_storage_error(blob))
                    return _save(blob, dest, max_bytes=max_bytes)
            raise DownloadError(f"more than {_MAX_REDIRECTS} redirects from the storage host")
    except GithubException as exc:  # CappedRetry raises these for a 403 it will not retry
        raise DownloadError(f"GitHub answered {exc.status}: {_message(exc)}") from None
    except requests.exceptions.RetryError:
        raise DownloadError("GitHub kept failing (server errors after every retry)") from None
    except requests.exceptions.RequestException as exc:
        raise DownloadError(f"the download failed ({type(exc).__name__})") from None


def _api_error(resp: requests.Response, settings: GitHubSettings) -> str:
    try:
        message = resp.json().get("message")
    except (ValueError, AttributeError):
        message = None
    status = f"{resp.status_code}" + (f" {message}" if isinstance(message, str) else "")
    if resp.status_code == 401:
        return f"the token was refused ({status})"
    if resp.status_code in (403, 404):
        return f"GitHub answered {status}: the token needs actions: read on {settings.repo}"
    return f"GitHub answered {status} instead of a redirect to the archive"


# -- extraction ------------------------------------------------------------------------------------
def install(archive: Path, dest: Path, *, artifact: ArtifactInfo, repository: str,
            limits: Limits = Limits()) -> int:
    """Extracts `archive` into a fresh `dest` with the run's manifest.json; returns the number of
    files extracted. ArchiveError (its message without the temporary path) leaves nothing behind."""
    staging = dest.with_name(f".{dest.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        try:
            files = extract_zip(archive, staging, limits=limits)
        except ArchiveError as exc:
            raise ArchiveError(str(exc).removeprefix(f"{archive}: ")) from None
        _write_manifest(staging, artifact=artifact, repository=repository)
        if dest.is_dir() and not dest.is_symlink():  # left by a fetch that stopped before its index
            shutil.rmtree(dest)
        elif os.path.lexists(dest):
            dest.unlink()
        os.rename(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return files


def _write_manifest(folder: Path, *, artifact: ArtifactInfo, repository: str) -> None:
    path = folder / MANIFEST
    existing: Any = None
    if path.is_file() and not path.is_symlink():
        try:
            existing = json.loads(path.read_bytes()[: 1 << 20])
        except ValueError:
            existing = None
        if not (isinstance(existing, dict) and existing.get("format") == FORMAT):
            os.replace(path, folder / FOREIGN_MANIFEST)  # not ours: kept, under another name
    doc = bundle_manifest(existing, repository=repository, artifact=artifact)
    write_text(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
