"""GitHub Actions on the fake: workflows, workflow runs and artifacts, as the REST API shapes them.

    from testing.fake_github import FakeGitHub
    from testing.fake_github import actions

    with FakeGitHub() as gh:
        acts = actions.of(gh)
        wf = acts.add_workflow("agent.yml")
        run = acts.add_run(wf, created_at="2026-11-01T08:00:00Z")
        acts.add_artifact(run, "agent-sessions-1", data=zip_bytes)

Runs are listed newest first with the documented filters (`branch`, `status` matching the
status or the conclusion, `created` in search syntax); artifact zips answer 302 to the blob
host, which refuses a request carrying an Authorization header, and 410 once expired.
"""
from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any

from testing.fake_github import FakeGitHub
from testing.fake_github import Request
from testing.fake_github import Response
from testing.fake_github import route

_REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/actions"
_NOT_FOUND = {"message": "Not Found",
              "documentation_url": "https://docs.github.com/rest/actions/workflow-runs", "status": "404"}


@dataclass
class Workflow:
    id: int
    file: str
    name: str


@dataclass
class Run:
    id: int
    workflow: Workflow
    branch: str
    sha: str
    status: str
    conclusion: str | None
    created_at: str
    attempt: int
    event: str
    number: int
    head_repo: str | None = None   # owner/name of a fork the run's commit came from; None: the repository


@dataclass
class Artifact:
    id: int
    run: Run
    name: str
    data: bytes
    expired: bool
    created_at: str

    @property
    def signature(self) -> str:
        return hashlib.sha256(f"{self.id}:{self.name}".encode()).hexdigest()[:16]


@dataclass
class Actions:
    """The fake's Actions state, in `gh.state["actions"]`; ids are unique across kinds."""

    workflows: list[Workflow] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    next_id: int = 1000

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def add_workflow(self, file: str, *, name: str | None = None, id: int | None = None) -> Workflow:
        wf = Workflow(id or self._id(), file, name or file.rsplit(".", 1)[0])
        self.workflows.append(wf)
        return wf

    def add_run(self, workflow: Workflow, *, created_at: str, branch: str = "main", sha: str | None = None,
                status: str = "completed", conclusion: str | None = "success", attempt: int = 1,
                event: str = "push", id: int | None = None, head_repo: str | None = None) -> Run:
        run_id = id or self._id()
        run = Run(run_id, workflow, branch, sha or hashlib.sha1(str(run_id).encode()).hexdigest(), status,
                  conclusion if status == "completed" else None, created_at, attempt, event, len(self.runs) + 1,
                  head_repo)
        self.runs.append(run)
        return run

    def add_artifact(self, run: Run, name: str, *, data: bytes = b"", expired: bool = False,
                     id: int | None = None, created_at: str | None = None) -> Artifact:
        art = Artifact(id or self._id(), run, name, data, expired, created_at or run.created_at)
        self.artifacts.append(art)
        return art

    def workflow(self, spec: str) -> Workflow | None:
        """By numeric id or by file name, as `/actions/workflows/{workflow_id}` accepts both."""
        return next((w for w in self.workflows if spec in (str(w.id), w.file)), None)

    def artifact(self, artifact_id: str) -> Artifact | None:
        return next((a for a in self.artifacts if str(a.id) == artifact_id), None)


def zip_of(members: dict[str, bytes]) -> bytes:
    """An artifact's zip, as upload-artifact makes it (deflated, paths relative to its root)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def of(gh: FakeGitHub) -> Actions:
    actions = gh.state.setdefault("actions", Actions())
    assert isinstance(actions, Actions)
    return actions


# -- JSON shapes (docs.github.com/rest/actions) ------------------------------------------------
def workflow_json(gh: FakeGitHub, wf: Workflow) -> dict[str, Any]:
    base = f"{gh.api_url}/repos/{gh.full_name}/actions/workflows/{wf.id}"
    return {"id": wf.id, "node_id": f"W_{wf.id}", "name": wf.name, "path": f".github/workflows/{wf.file}",
            "state": "active", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "url": base, "html_url": f"https://github.com/{gh.full_name}/blob/main/.github/workflows/{wf.file}",
            "badge_url": f"https://github.com/{gh.full_name}/workflows/{wf.name}/badge.svg"}


def run_json(gh: FakeGitHub, run: Run) -> dict[str, Any]:
    base = f"{gh.api_url}/repos/{gh.full_name}/actions/runs/{run.id}"
    repo = gh.repo_json()
    return {
        "id": run.id, "name": run.workflow.name, "node_id": f"WFR_{run.id}", "check_suite_id": run.id + 1,
        "head_branch": run.branch, "head_sha": run.sha, "path": f".github/workflows/{run.workflow.file}",
        "display_title": f"Run {run.number}", "run_number": run.number, "run_attempt": run.attempt,
        "event": run.event, "status": run.status, "conclusion": run.conclusion, "workflow_id": run.workflow.id,
        "url": base, "html_url": f"https://github.com/{gh.full_name}/actions/runs/{run.id}",
        "pull_requests": [], "created_at": run.created_at, "updated_at": run.created_at,
        "run_started_at": run.created_at, "jobs_url": f"{base}/jobs", "logs_url": f"{base}/logs",
        "check_suite_url": f"{gh.api_url}/repos/{gh.full_name}/check-suites/{run.id + 1}",
        "artifacts_url": f"{base}/artifacts", "cancel_url": f"{base}/cancel", "rerun_url": f"{base}/rerun",
        "previous_attempt_url": f"{base}/attempts/{run.attempt - 1}" if run.attempt > 1 else None,
        "workflow_url": f"{gh.api_url}/repos/{gh.full_name}/actions/workflows/{run.workflow.id}",
        "head_commit": {"id": run.sha, "tree_id": run.sha, "message": "change", "timestamp": run.created_at},
        "repository": repo, "head_repository": repo if run.head_repo is None else _fork_json(gh, run.head_repo),
    }


def _fork_json(gh: FakeGitHub, full_name: str) -> dict[str, Any]:
    owner, name = full_name.split("/", 1)
    return {"id": 1000 + sum(map(ord, full_name)), "name": name, "full_name": full_name, "private": False,
            "fork": True, "owner": {"login": owner, "id": 2, "type": "User"},
            "url": f"{gh.api_url}/repos/{full_name}", "html_url": f"https://github.com/{full_name}"}


def _head_repo_id(gh: FakeGitHub, run: Run) -> int:
    # The repository's own id (1) for its own runs, whatever case the run's name was given in.
    own = run.head_repo is None or run.head_repo.lower() == gh.full_name.lower()
    return 1 if own else int(_fork_json(gh, run.head_repo or "")["id"])


def artifact_json(gh: FakeGitHub, art: Artifact) -> dict[str, Any]:
    base = f"{gh.api_url}/repos/{gh.full_name}/actions/artifacts/{art.id}"
    expires = _parse(art.created_at) + timedelta(days=90)
    return {"id": art.id, "node_id": f"MDg6QXJ0aWZhY3Q{art.id}", "name": art.name, "size_in_bytes": len(art.data),
            "url": base, "archive_download_url": f"{base}/zip", "expired": art.expired,
            "digest": "sha256:" + hashlib.sha256(art.data).hexdigest(),
            "created_at": art.created_at, "updated_at": art.created_at,
            "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "workflow_run": {"id": art.run.id, "repository_id": 1,
                             "head_repository_id": _head_repo_id(gh, art.run),
                             "head_branch": art.run.branch, "head_sha": art.run.sha}}


# -- filters -----------------------------------------------------------------------------------
def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _bound(text: str, *, end: bool) -> datetime:
    """A date or date-time of the search syntax; a bare date ends at the end of its day."""
    if "T" in text:
        return _parse(text)
    day = datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
    return day + timedelta(days=1) - timedelta(microseconds=1) if end else day


def created_matches(query: str, created_at: str) -> bool:
    """`created` in GitHub's search syntax: >=D, >D, <=D, <D, D..D, D."""
    at = _parse(created_at)
    m = re.fullmatch(r"(>=|<=|>|<)?(.+)", query.strip())
    assert m is not None
    op, value = m[1], m[2]
    if op is None and ".." in value:
        lo, hi = value.split("..", 1)
        return (lo == "*" or at >= _bound(lo, end=False)) and (hi == "*" or at <= _bound(hi, end=True))
    if op == ">=":
        return at >= _bound(value, end=False)
    if op == ">":
        return at > _bound(value, end=True)
    if op == "<=":
        return at <= _bound(value, end=True)
    if op == "<":
        return at < _bound(value, end=False)
    return _bound(value, end=False) <= at <= _bound(value, end=True)


# The `status` query parameter's enum in GitHub's REST description (list workflow runs).
RUN_STATUSES = ("completed", "action_required", "cancelled", "failure", "neutral", "skipped", "stale", "success",
                "timed_out", "in_progress", "queued", "requested", "waiting", "pending")


def _runs(gh: FakeGitHub, req: Request, runs: list[Run]) -> Response:
    q = req.query
    if "status" in q and q["status"] not in RUN_STATUSES:
        return Response(422, {"message": f"Invalid request.\n\n{q['status']!r} is not a member of enum.",
                              "documentation_url": "https://docs.github.com/rest/actions/workflow-runs",
                              "status": "422"})
    picked = [r for r in runs
              if ("branch" not in q or r.branch == q["branch"])
              and ("status" not in q or q["status"] in (r.status, r.conclusion))
              and ("event" not in q or r.event == q["event"])
              and ("head_sha" not in q or r.sha == q["head_sha"])
              and ("created" not in q or created_matches(q["created"], r.created_at))]
    picked.sort(key=lambda r: (_parse(r.created_at), r.id), reverse=True)  # newest first, as GitHub
    return gh.page(req, [run_json(gh, r) for r in picked], key="workflow_runs")


def _ours(gh: FakeGitHub, req: Request) -> bool:
    assert req.match is not None
    return f"{req.match['owner']}/{req.match['repo']}".lower() == gh.full_name.lower()


# -- routes ------------------------------------------------------------------------------------
@route("GET", _REPO + r"/workflows")
def _list_workflows(gh: FakeGitHub, req: Request) -> Response:
    if not _ours(gh, req):
        return Response(404, _NOT_FOUND)
    return gh.page(req, [workflow_json(gh, w) for w in of(gh).workflows], key="workflows")


@route("GET", _REPO + r"/workflows/(?P<workflow>[^/]+)")
def _get_workflow(gh: FakeGitHub, req: Request) -> Response:
    assert req.match is not None
    wf = of(gh).workflow(req.match["workflow"]) if _ours(gh, req) else None
    return Response(200, workflow_json(gh, wf)) if wf else Response(404, _NOT_FOUND)


@route("GET", _REPO + r"/workflows/(?P<workflow>[^/]+)/runs")
def _list_workflow_runs(gh: FakeGitHub, req: Request) -> Response:
    assert req.match is not None
    wf = of(gh).workflow(req.match["workflow"]) if _ours(gh, req) else None
    if wf is None:
        return Response(404, _NOT_FOUND)
    return _runs(gh, req, [r for r in of(gh).runs if r.workflow is wf])


@route("GET", _REPO + r"/runs")
def _list_runs(gh: FakeGitHub, req: Request) -> Response:
    if not _ours(gh, req):
        return Response(404, _NOT_FOUND)
    return _runs(gh, req, list(of(gh).runs))


@route("GET", _REPO + r"/runs/(?P<run>\d+)")
def _get_run(gh: FakeGitHub, req: Request) -> Response:
    assert req.match is not None
    run = next((r for r in of(gh).runs if str(r.id) == req.match["run"]), None) if _ours(gh, req) else None
    return Response(200, run_json(gh, run)) if run else Response(404, _NOT_FOUND)


def _artifacts(gh: FakeGitHub, req: Request, arts: list[Artifact]) -> Response:
    if "name" in req.query:  # the documented filter is an exact name
        arts = [a for a in arts if a.name == req.query["name"]]
    return gh.page(req, [artifact_json(gh, a) for a in arts], key="artifacts")


@route("GET", _REPO + r"/runs/(?P<run>\d+)/artifacts")
def _list_run_artifacts(gh: FakeGitHub, req: Request) -> Response:
    assert req.match is not None
    run = next((r for r in of(gh).runs if str(r.id) == req.match["run"]), None) if _ours(gh, req) else None
    if run is None:
        return Response(404, _NOT_FOUND)
    return _artifacts(gh, req, [a for a in of(gh).artifacts if a.run is run])


@route("GET", _REPO + r"/artifacts")
def _list_repo_artifacts(gh: FakeGitHub, req: Request) -> Response:
    if not _ours(gh, req):
        return Response(404, _NOT_FOUND)
    # Newest first, as GitHub lists them.
    return _artifacts(gh, req, sorted(of(gh).artifacts, key=lambda a: (_parse(a.created_at), a.id), reverse=True))


@route("GET", _REPO + r"/artifacts/(?P<artifact>\d+)")
def _get_artifact(gh: FakeGitHub, req: Request) -> Response:
    assert req.match is not None
    art = of(gh).artifact(req.match["artifact"]) if _ours(gh, req) else None
    return Response(200, artifact_json(gh, art)) if art else Response(404, _NOT_FOUND)


@route("GET", _REPO + r"/artifacts/(?P<artifact>\d+)/(?P<format>[^/]+)")
def _download_artifact(gh: FakeGitHub, req: Request) -> Response:
    assert req.match is not None
    art = of(gh).artifact(req.match["artifact"]) if _ours(gh, req) else None
    if art is None or req.match["format"] != "zip":
        return Response(404, _NOT_FOUND)
    if art.expired:
        return Response(410, {"message": "Artifact has expired",
                              "documentation_url": "https://docs.github.com/rest/actions/artifacts", "status": "410"})
    # A short-lived signed URL on another host, as GitHub's blob storage hands out.
    location = f"{gh.blob_url}/blob/artifacts/{art.id}?sig={art.signature}&se=2099-01-01"
    return Response(302, None, {"Location": location})


_XML = {"Content-Type": "application/xml"}


@route("GET", r"/blob/artifacts/(?P<artifact>\d+)")
def _blob(gh: FakeGitHub, req: Request) -> Response:
    assert req.match is not None
    if "authorization" in req.headers:
        # What S3 and Azure answer when a signed URL also carries an Authorization header.
        return Response(400, b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidArgument</Code>'
                             b'<Message>Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, '
                             b'Signature query string parameter or the Authorization header should be specified'
                             b'</Message></Error>', _XML)
    art = of(gh).artifact(req.match["artifact"])
    if art is None or req.query.get("sig") != art.signature:
        return Response(403, b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AuthenticationFailed</Code>'
                             b'<Message>Server failed to authenticate the request.</Message></Error>', _XML)
    return Response(200, art.data, {"Content-Type": "application/zip"})
