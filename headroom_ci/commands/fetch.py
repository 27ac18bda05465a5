"""`headroom-ci fetch`: the session bundles of recent workflow runs, into DIR/<run>-<artifact>/.

Exit status: 0 when the runs were listed and, if anything had to be downloaded, at least one
artifact came through (an expired, refused or failed artifact is reported, not fatal); 1 when
listing failed or every download failed.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timezone
from pathlib import Path
from typing import Any
from typing import Literal
from typing import TextIO

from headroom_ci import actions
from headroom_ci import gitops
from headroom_ci.archive import ArchiveError
from headroom_ci.archive import Limits
from headroom_ci.cli import add_renamed
from headroom_ci.cli import csv
from headroom_ci.cli import positive
from headroom_ci.commands.sessions import printable
from headroom_ci.errors import FatalError
from headroom_ci.fsio import read_text
from headroom_ci.fsio import write_text
from headroom_ci.github.artifacts import ArtifactGone
from headroom_ci.github.artifacts import ArtifactInfo
from headroom_ci.github.artifacts import DEFAULT_GLOB
from headroom_ci.github.artifacts import download
from headroom_ci.github.artifacts import DownloadError
from headroom_ci.github.artifacts import install
from headroom_ci.github.artifacts import iso
from headroom_ci.github.artifacts import Listing
from headroom_ci.github.artifacts import list_artifacts
from headroom_ci.github.artifacts import MAX_ARCHIVE_BYTES
from headroom_ci.github.artifacts import parse_since
from headroom_ci.github.artifacts import Query
from headroom_ci.github.client import connect
from headroom_ci.github.client import GitHubError
from headroom_ci.github.client import GitHubSettings
from headroom_ci.github.client import MAX_RATE_LIMIT_WAIT
from headroom_ci.github.client import resolve
from headroom_ci.github.client import WaitBudget
from headroom_ci.progress import is_tty
from headroom_ci.progress import Progress

# No transcript suffix: reading DIR as sessions walks past it instead of reporting it.
INDEX = ".headroom-fetch-index"
INDEX_FORMAT = "headroom-ci-fetch-index"
DEFAULT_JOBS = 4
DEFAULT_MAX_RUNS = 50
# What the API's `status` accepts (the enum of GitHub's REST description): a run's status or its
# conclusion. (startup_failure is a conclusion, but not a value this filter takes.)
STATUSES = ("success", "failure", "completed", "cancelled", "skipped", "timed_out", "neutral",
            "action_required", "stale", "in_progress", "queued", "requested", "waiting", "pending")

Status = Literal["downloaded", "expired", "seen", "failed"]


DEFAULT_MAX_DISK_MB = 4096
# Room set aside per artifact before its download: transcripts compress about tenfold.
_EXPANSION = 20
_MIN_RESERVE = 64 * 1024 * 1024


class DiskBudget:
    """Bytes one fetch may still write, shared by its download threads: each artifact reserves
    room before it starts and gives back what its extraction did not use."""

    def __init__(self, total: int) -> None:
        self.left = total
        self._lock = threading.Lock()

    def reserve(self, want: int) -> int:
        with self._lock:
            got = min(want, self.left)
            self.left -= got
            return got

    def release(self, unused: int) -> None:
        with self._lock:
            self.left += unused


@dataclass(frozen=True)
class FetchSettings:
    github: GitHubSettings
    out: Path
    query: Query = field(default_factory=Query)
    jobs: int = DEFAULT_JOBS
    max_wait: float = MAX_RATE_LIMIT_WAIT
    limits: Limits = field(default_factory=Limits)
    max_archive_bytes: int = MAX_ARCHIVE_BYTES
    per_page: int = 100
    max_disk_bytes: int = DEFAULT_MAX_DISK_MB * 1024 * 1024


@dataclass(frozen=True)
class FetchResult:
    artifact: ArtifactInfo
    status: Status
    detail: str = ""
    files: int = 0
    refused: bool = False   # the archive itself is unsafe: it will be refused again, so it is remembered


@dataclass(frozen=True)
class FetchReport:
    runs: int
    results: tuple[FetchResult, ...]

    def count(self, status: Status) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def exit_code(self) -> int:
        attempted = self.count("downloaded") + self.count("failed")
        return 1 if attempted and not self.count("downloaded") else 0


@dataclass(frozen=True)
class IndexEntry:
    run_id: int
    name: str
    folder: str
    refused: str | None = None


# -- the index (pure) ------------------------------------------------------------------------------
def parse_index(text: str | None) -> dict[int, IndexEntry] | None:
    """The artifacts a previous fetch into this folder took; None when the file is not one."""
    if text is None:
        return {}
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    if not isinstance(doc, dict) or doc.get("format") != INDEX_FORMAT or not isinstance(doc.get("artifacts"), dict):
        return None
    entries: dict[int, IndexEntry] = {}
    for key, raw in doc["artifacts"].items():
        if not (key.isdigit() and isinstance(raw, dict) and isinstance(raw.get("folder"), str)
                and isinstance(raw.get("run"), int) and isinstance(raw.get("name"), str)):
            continue
        refused = raw.get("refused")
        entries[int(key)] = IndexEntry(raw["run"], raw["name"], raw["folder"],
                                       refused if isinstance(refused, str) else None)
    return entries


def index_text(entries: Mapping[int, IndexEntry]) -> str:
    artifacts: dict[str, Any] = {}
    for art_id in sorted(entries):
        e = entries[art_id]
        artifacts[str(art_id)] = {"run": e.run_id, "name": e.name, "folder": e.folder,
                                  **({"refused": e.refused} if e.refused is not None else {})}
    return json.dumps({"format": INDEX_FORMAT, "version": 1, "artifacts": artifacts}, indent=2) + "\n"


def plan(artifacts: Iterable[ArtifactInfo], index: Mapping[int, IndexEntry],
         exists: Callable[[str], bool]) -> list[FetchResult | ArtifactInfo]:
    """What becomes of each artifact: a result decided now, or the artifact to download."""
    out: list[FetchResult | ArtifactInfo] = []
    seen: set[int] = set()
    for art in artifacts:
        if art.id in seen:
            continue
        seen.add(art.id)
        entry = index.get(art.id)
        if art.expired:
            out.append(FetchResult(art, "expired", "expired (past the repository's artifact retention)"))
        elif entry is not None and entry.refused is not None:
            out.append(FetchResult(art, "seen", f"refused by an earlier fetch: {entry.refused}"))
        elif entry is not None and exists(entry.folder):
            out.append(FetchResult(art, "seen", f"already fetched → {entry.folder}/"))
        else:
            out.append(art)
    return out


def describe(r: FetchResult) -> str:
    a = r.artifact
    where = f"run {a.run.id}" + (f", {printable(a.run.workflow)}" if a.run.workflow else "") + (
        f" on {printable(a.run.branch)}" if a.run.branch else "")
    head = f"{printable(a.name)} ({where})"
    if r.status == "downloaded":
        return f"downloaded {head} → {a.folder}/, {r.files} file{'s' if r.files != 1 else ''}"
    if r.status == "failed":
        return f"failed {head}: {printable(r.detail)}"
    return f"skipped {head}: {printable(r.detail)}"


def summary(report: FetchReport, *, repository: str, out_dir: Path) -> str:
    parts = [f"{report.count('downloaded')} downloaded"]
    labels: tuple[tuple[Status, str], ...] = (("seen", "seen before"), ("expired", "expired"),
                                              ("failed", "failed"))
    parts += [f"{report.count(status)} {label}" for status, label in labels if report.count(status)]
    return (f"fetch: {repository}: {report.runs} run{'s' if report.runs != 1 else ''}, "
            f"{len(report.results)} artifact{'s' if len(report.results) != 1 else ''}: "
            f"{', '.join(parts)} → {out_dir}")


# -- effects ---------------------------------------------------------------------------------------
def fetch_one(art: ArtifactInfo, *, settings: FetchSettings, budget: WaitBudget,
              disk: DiskBudget | None = None) -> FetchResult:
    disk = disk or DiskBudget(settings.max_disk_bytes)
    want = min(settings.limits.max_total_bytes + art.size, max(art.size * _EXPANSION, _MIN_RESERVE))
    room = disk.reserve(want)
    used = 0
    if room < want:
        disk.release(room)
        mb = settings.max_disk_bytes // (1024 * 1024)
        return FetchResult(art, "failed", f"over the disk budget of {mb} MB for one fetch (--max-disk-mb)")
    tmp = Path(tempfile.mkdtemp(prefix=".fetch-", dir=settings.out))
    try:
        archive = tmp / "artifact.zip"
        download(art, archive, settings=settings.github, budget=budget,
                 max_bytes=min(settings.max_archive_bytes, room))
        limits = dataclasses.replace(settings.limits, max_total_bytes=min(settings.limits.max_total_bytes,
                                                                          room - archive.stat().st_size))
        dest = settings.out / art.folder
        files = install(archive, dest, artifact=art, repository=settings.github.repo, limits=limits)
        used = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
        return FetchResult(art, "downloaded", files=files)
    except ArtifactGone as exc:
        return FetchResult(art, "expired", str(exc))
    except ArchiveError as exc:
        return FetchResult(art, "failed", str(exc), refused=True)
    except (DownloadError, GitHubError) as exc:
        return FetchResult(art, "failed", str(exc))
    except OSError as exc:
        return FetchResult(art, "failed", f"cannot write under {settings.out}: {exc.strerror or exc}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        disk.release(room - used)


def run_fetch(*, settings: FetchSettings, out: TextIO, env: Mapping[str, str] = os.environ) -> FetchReport:
    """Lists, downloads and extracts; raises FatalError when listing fails."""
    try:
        settings.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FatalError(f"--out {settings.out}: cannot create the folder ({exc.strerror or exc})") from None
    _remove_leftovers(settings.out)
    budget = WaitBudget(settings.max_wait)
    disk = DiskBudget(settings.max_disk_bytes)
    gh = connect(settings.github, per_page=settings.per_page, budget=budget)
    listing = list_artifacts(gh, settings.github, settings.query)
    index_path = settings.out / INDEX
    index = parse_index(read_text(index_path))
    if index is None:
        out.write(f"fetch: {index_path} is not a fetch index; starting a new one\n")
        index = {}
    todo = plan(listing.artifacts, index, lambda folder: (settings.out / folder).is_dir())
    if not todo:   # no artifact matched (one fetched before is still a result, "seen")
        # A green job that learned from nothing is a silent failure: say what was there instead.
        actions.annotate("warning", nothing_matched(listing, settings.query, repository=settings.github.repo),
                         title="headroom-ci fetch", out=out, env=env)
        return FetchReport(len(listing.runs), ())
    results: list[FetchResult] = []
    progress = Progress(out, total=len(todo), tty=is_tty(out))
    pool = ThreadPoolExecutor(max_workers=settings.jobs, thread_name_prefix="fetch")
    try:
        with _group("fetch", out=out, env=env):
            futures: dict[int, Future[FetchResult]] = {
                item.id: pool.submit(fetch_one, item, settings=settings, budget=budget, disk=disk)
                for item in todo if isinstance(item, ArtifactInfo)}
            # Reported in listing order, so logs read the same from one fetch to the next.
            for item in todo:
                result = item if isinstance(item, FetchResult) else futures[item.id].result()
                results.append(result)
                if result.status == "downloaded" or result.refused:
                    a = result.artifact
                    index[a.id] = IndexEntry(a.run.id, a.name, a.folder, result.detail if result.refused else None)
                    write_text(index_path, index_text(index))  # after each: an interrupted fetch keeps its work
                progress.step(describe(result), notable=result.status in ("failed", "expired"))
            progress.close()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return FetchReport(len(listing.runs), tuple(results))


def nothing_matched(listing: Listing, query: Query, *, repository: str) -> str:
    window = f" since {iso(query.since)}" if query.since is not None else ""
    head = f"fetch: {repository}: "
    seen = ", ".join(listing.others[:10]) + (f" and {len(listing.others) - 10} more" if len(listing.others) > 10 else "")
    if query.workflows and not listing.runs:
        return (f"{head}no run of {', '.join(query.workflows)}{window} matched, so no sessions: check the workflows, "
                "since and branch settings")
    if query.workflows:
        runs = f"{len(listing.runs)} run{'s' if len(listing.runs) != 1 else ''}"
        return (f"{head}no artifact named {query.glob!r} in {runs}{window}, so no sessions; "
                + (f"their artifacts: {seen}: check artifact-pattern" if seen
                   else "they uploaded no artifact: does the agent job run headroom/learn-action/collect?"))
    cut = f" (read the newest {listing.truncated} artifacts only: narrow it with since or workflows)" \
        if listing.truncated else ""
    if listing.left_out:
        n = listing.left_out
        return (f"{head}{n} run{'s' if n != 1 else ''} with artifacts named {query.glob!r}{window} "
                f"{'were' if n != 1 else 'was'} left out by the filters, so no sessions: check branch and status; "
                f"runs of forks and of events outsiders can set off are read only with include-fork-runs{cut}")
    if seen:
        return (f"{head}no artifact named {query.glob!r}{window}, so no sessions; the artifacts there: {seen}: "
                f"check artifact-pattern{cut}")
    if not any(c in query.glob for c in "*?["):  # an exact name is asked of the API: no other names come back
        return (f"{head}no artifact named {query.glob!r}{window}, so no sessions: check artifact-pattern, and that "
                "the agent job runs headroom/learn-action/collect")
    return (f"{head}no artifact at all{window}, so no sessions: check since, and that the agent job runs "
            "headroom/learn-action/collect")


def _remove_leftovers(out_dir: Path) -> None:
    # Temporary folders of a fetch that was killed: reading DIR as sessions must not find them.
    for pattern in (".fetch-*", ".*.partial", ".extracting-*"):
        for path in out_dir.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)


def _group(title: str, *, out: TextIO, env: Mapping[str, str]) -> Any:
    # The one place fetch's log group is opened (::group:: in Actions, nothing elsewhere).
    return actions.group(title, out=out, env=env)


def fetch(*, settings: FetchSettings, out: TextIO, env: Mapping[str, str] = os.environ) -> int:
    report = run_fetch(settings=settings, out=out, env=env)
    if report.results:
        out.write(summary(report, repository=settings.github.repo, out_dir=settings.out) + "\n")
    if report.exit_code:
        out.write("fetch: every download failed (see above)\n")
    return report.exit_code


# -- command line ----------------------------------------------------------------------------------
def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "fetch", help="download the session bundles of recent workflow runs",
        description="List the newest runs that uploaded an artifact whose name matches the glob (the "
                    "repository's artifacts by name, or the runs of --workflows), download those artifacts "
                    "and extract each safely into DIR/<run_id>-<artifact_id>/ with the run's "
                    "provenance in manifest.json. Artifacts fetched before (DIR/" + INDEX + ") are not "
                    "downloaded again. Exits 1 when listing fails or every download fails.")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="where the bundles go")
    p.add_argument("--github-repo", metavar="OWNER/NAME",
                   help="the repository (default: $GITHUB_REPOSITORY, else the origin remote of --repo-path)")
    p.add_argument("--repo-path", default=".", metavar="DIR",
                   help="the clone whose origin names the repository (default: %(default)s)")
    add_renamed(p, "--github-token", "--token", dest="token", metavar="TOKEN",
                help="GitHub token with actions: read (default: $GITHUB_TOKEN, else $GH_TOKEN, else `gh auth token`)")
    p.add_argument("--api-url", metavar="URL",
                   help="GitHub API URL (default: $GITHUB_API_URL, else https://api.github.com)")
    add_renamed(p, "--workflows", "--workflow", dest="workflow", action="append", type=csv, default=[],
                metavar="FILE|ID",
                   help="only runs of this workflow (file name such as agent.yml, or id); repeatable")
    add_renamed(p, "--artifact-pattern", "--artifact", dest="artifact", default=DEFAULT_GLOB, metavar="GLOB",
                   help="artifact names to take (default: %(default)s)")
    p.add_argument("--since", metavar="14d|DATE",
                   help="only runs created since: an age (14d, 36h, 2w) or a date (default: no limit but --max-runs)")
    # Not --branch: in pr and run that is the proposal's branch.
    p.add_argument("--branch-filter", metavar="BRANCH", help="only runs on this branch")
    p.add_argument("--include-fork-runs", action="store_true",
                   help="also learn from runs of fork pull requests and of events outsiders can set off "
                        "(pull_request_target, issue_comment, workflow_run): their transcripts may be steered "
                        "by anyone; off by default")
    p.add_argument("--status", choices=STATUSES, metavar="success|failure|completed|…",
                   help="only runs with this status or conclusion")
    p.add_argument("--max-runs", type=positive, default=DEFAULT_MAX_RUNS, metavar="N",
                   help="the N most recent matching runs (default: %(default)s)")
    p.add_argument("--jobs", type=positive, default=DEFAULT_JOBS, metavar="N",
                   help="downloads at a time (default: %(default)s)")
    p.add_argument("--max-disk-mb", type=positive, default=DEFAULT_MAX_DISK_MB, metavar="MB",
                   help="stop downloading once the bundles of this fetch take this much disk (default: %(default)s)")
    p.add_argument("--max-rate-limit-wait", type=positive, default=int(MAX_RATE_LIMIT_WAIT), metavar="SECONDS",
                   help="stop rather than wait longer than this in all for rate limits (default: %(default)s)")


def from_args(args: argparse.Namespace, *, out: TextIO | None = None, env: Mapping[str, str] = os.environ,
              now: datetime | None = None) -> int:
    # The origin remote is read only when nothing else names the repository.
    origin = None if args.github_repo or env.get("GITHUB_REPOSITORY") else gitops.origin_url(args.repo_path)
    github = resolve(repo=args.github_repo, token=args.token, api_url=args.api_url, origin_url=origin, env=env)
    since = None if args.since is None else parse_since(args.since, now=now or datetime.now(timezone.utc))
    query = Query(workflows=tuple(w for group in args.workflow for w in group), glob=args.artifact, since=since,
                  branch=args.branch_filter, status=args.status, max_runs=args.max_runs,
                  forks=args.include_fork_runs)
    settings = FetchSettings(github=github, out=args.out, query=query, jobs=args.jobs,
                             max_wait=float(args.max_rate_limit_wait), max_disk_bytes=args.max_disk_mb * 1024 * 1024)
    return fetch(settings=settings, out=out or sys.stdout, env=env)

