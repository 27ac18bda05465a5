"""Pull requests, their issue side (comments, labels, assignees), review requests and branch refs.

Branch state is read from a real bare repository (`use_bare`), the one the code under test pushes
to: a pull request's head must exist there, its `head.sha` follows the branch, and deleting a ref
deletes the branch. Shapes and errors follow GitHub's REST documentation (pulls, issues,
review requests, git refs); `merge_pull` and `close_pull` play the human on the other side.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import zlib
from pathlib import Path
from typing import Any

from testing.fake_github import FakeGitHub
from testing.fake_github import Request
from testing.fake_github import Response
from testing.fake_github import route

_REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
_NUM = r"(?P<number>[0-9]+)"
_DOCS = "https://docs.github.com/rest"
BOT_LOGIN = "github-actions[bot]"


def use_bare(gh: FakeGitHub, bare: Path) -> None:
    gh.state["bare"] = Path(bare)


def pulls(gh: FakeGitHub) -> list[dict[str, Any]]:
    """Every pull request as stored, oldest first."""
    return list(gh.state.setdefault("pulls", {}).values())


def comments(gh: FakeGitHub, number: int) -> list[str]:
    return [c["body"] for c in gh.state.setdefault("comments", {}).get(number, [])]


def close_pull(gh: FakeGitHub, number: int) -> None:
    """A human closes the pull request without merging it."""
    with gh.lock:
        pr = gh.state["pulls"][number]
        pr["head_sha"] = _sha(gh, pr["head"]) or pr["head_sha"]
        pr.update(state="closed", closed_at=_now(gh))


_HUMAN = {"GIT_AUTHOR_NAME": "Dana", "GIT_AUTHOR_EMAIL": "dana@example.com",
          "GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com"}


def merge_pull(gh: FakeGitHub, number: int, *, method: str = "merge") -> str:
    """A human merges it as the web UI offers: a merge commit (`merge`), one new commit with the
    branch's changes (`squash`), or the branch's commits replayed onto the base with new shas
    (`rebase`); the branch is left as it was. Returns the new sha of the base."""
    with gh.lock:
        pr = gh.state["pulls"][number]
        base, head = f"refs/heads/{pr['base']}", f"refs/heads/{pr['head']}"
        if method == "merge":
            tree = _git(gh, "merge-tree", "--write-tree", base, head).split()[0]
            sha = _git(gh, "commit-tree", tree, "-p", base, "-p", head, "-m", f"Merge pull request #{number}",
                       env=_HUMAN).strip()
        elif method == "squash":
            tree = _git(gh, "merge-tree", "--write-tree", base, head).split()[0]
            sha = _git(gh, "commit-tree", tree, "-p", base, "-m", f"{pr['title']} (#{number})", env=_HUMAN).strip()
        elif method == "rebase":
            sha = _git(gh, "rev-parse", base).strip()
            for commit in _git(gh, "rev-list", "--reverse", f"{base}..{head}").split():
                tree = _replay(gh, commit, onto=sha)
                message = _git(gh, "log", "-1", "--format=%B", commit)
                author = _git(gh, "log", "-1", "--format=%an%x00%ae%x00%aI", commit).strip().split("\0")
                sha = _git(gh, "commit-tree", tree, "-p", sha, "-m", message, env={
                    **_HUMAN, "GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1],
                    "GIT_AUTHOR_DATE": author[2]}).strip()
        else:
            raise ValueError(f"merge method {method!r}: merge, squash or rebase")
        _git(gh, "update-ref", base, sha)
        pr["head_sha"] = _sha(gh, pr["head"]) or pr["head_sha"]
        pr.update(state="closed", merged=True, merged_at=_now(gh), closed_at=_now(gh), merge_commit_sha=sha)
        return sha


# -- git side ------------------------------------------------------------------------------

def _git(gh: FakeGitHub, *args: str, env: dict[str, str] | None = None) -> str:
    bare = gh.state.get("bare")
    assert bare is not None, "call use_bare(gh, path) first"
    done = subprocess.run(["git", *args], cwd=bare, capture_output=True, check=False,
                          env={**os.environ, **(env or {})})
    if done.returncode != 0:
        raise AssertionError(f"fake: git {' '.join(args)}: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode()


def _replay(gh: FakeGitHub, commit: str, *, onto: str) -> str:
    """The tree of `onto` with `commit`'s changes applied (a cherry-pick, in the bare repository)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        subprocess.run(["git", "read-tree", onto], cwd=gh.state["bare"], env=env, check=True)
        patch = subprocess.run(["git", "diff-tree", "-p", "--binary", f"{commit}^", commit], cwd=gh.state["bare"],
                               env=env, check=True, capture_output=True).stdout
        subprocess.run(["git", "apply", "--cached"], cwd=gh.state["bare"], env=env, input=patch, check=True)
        return subprocess.run(["git", "write-tree"], cwd=gh.state["bare"], env=env, check=True,
                              capture_output=True, text=True).stdout.strip()


def _sha(gh: FakeGitHub, branch: str) -> str | None:
    try:
        return _git(gh, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}").strip() or None
    except AssertionError:
        return None


def _ahead(gh: FakeGitHub, base: str, head: str) -> int:
    return int(_git(gh, "rev-list", "--count", f"refs/heads/{base}..refs/heads/{head}").strip())


# -- JSON shapes ---------------------------------------------------------------------------

def _now(gh: FakeGitHub) -> str:
    gh.state["clock"] = gh.state.get("clock", 0) + 1
    hours, seconds = divmod(gh.state["clock"], 3600)
    return f"2026-11-21T{hours % 24:02d}:{seconds // 60:02d}:{seconds % 60:02d}Z"


def _user(login: str) -> dict[str, Any]:
    return {"login": login, "id": zlib.crc32(login.encode()) % 10**6, "type": "Bot" if login.endswith("[bot]") else "User"}


def _part(gh: FakeGitHub, ref: str, sha: str | None) -> dict[str, Any]:
    return {"label": f"{gh.owner}:{ref}", "ref": ref, "sha": sha, "user": _user(gh.owner), "repo": gh.repo_json()}


def _pr_json(gh: FakeGitHub, pr: dict[str, Any]) -> dict[str, Any]:
    url = f"{gh.api_url}/repos/{gh.full_name}"
    n = pr["number"]
    head_sha = _sha(gh, pr["head"]) if pr["state"] == "open" else pr["head_sha"]
    return {
        "url": f"{url}/pulls/{n}", "id": 1000 + n, "number": n, "state": pr["state"], "locked": False,
        "title": pr["title"], "body": pr["body"], "draft": pr["draft"], "user": _user(pr["user"]),
        "html_url": f"https://github.com/{gh.full_name}/pull/{n}", "issue_url": f"{url}/issues/{n}",
        "comments_url": f"{url}/issues/{n}/comments", "created_at": pr["created_at"],
        "updated_at": pr["updated_at"], "closed_at": pr["closed_at"], "merged_at": pr["merged_at"],
        "merged": pr["merged"], "merge_commit_sha": pr["merge_commit_sha"],
        "head": _part(gh, pr["head"], head_sha or pr["head_sha"]), "base": _part(gh, pr["base"], _sha(gh, pr["base"])),
        "labels": [{"name": label, "color": "ededed"} for label in pr["labels"]],
        "assignees": [_user(a) for a in pr["assignees"]],
        "requested_reviewers": [_user(r) for r in pr["reviewers"]],
        "requested_teams": [{"slug": t, "name": t} for t in pr["teams"]],
    }


def _invalid(resource: str, field: str, code: str = "invalid", message: str | None = None) -> Response:
    error: dict[str, Any] = {"resource": resource, "field": field, "code": code}
    if message:
        error = {"resource": resource, "code": "custom", "message": message}
    return Response(422, {"message": "Validation Failed", "errors": [error],
                          "documentation_url": f"{_DOCS}/pulls/pulls#create-a-pull-request", "status": "422"})


def _ours(gh: FakeGitHub, req: Request) -> bool:
    assert req.match is not None   # GitHub answers about a repository whatever the case of its name
    return f"{req.match['owner']}/{req.match['repo']}".lower() == gh.full_name.lower()


def _pull(gh: FakeGitHub, req: Request) -> dict[str, Any] | None:
    assert req.match is not None
    return gh.state.setdefault("pulls", {}).get(int(req.match["number"])) if _ours(gh, req) else None


_NOT_FOUND = Response(404, {"message": "Not Found", "documentation_url": _DOCS, "status": "404"})


# -- pulls ---------------------------------------------------------------------------------

@route("GET", _REPO + r"/pulls")
def _list(gh: FakeGitHub, req: Request) -> Response:
    if not _ours(gh, req):
        return _NOT_FOUND
    state = req.query.get("state", "open")
    head = req.query.get("head")
    items = [p for p in pulls(gh) if state == "all" or p["state"] == state]
    if head is not None:
        # "user:ref-name" or "organization:ref-name"; another owner's branch is a fork we do not model.
        owner, _, ref = head.partition(":")
        items = [p for p in items if owner.lower() == gh.owner.lower() and p["head"] == ref] if ref else []
    if "base" in req.query:
        items = [p for p in items if p["base"] == req.query["base"]]
    # Default sort is by creation, newest first.
    reverse = req.query.get("direction", "desc") == "desc"
    items.sort(key=lambda p: p["number"], reverse=reverse)
    return gh.page(req, [_pr_json(gh, p) for p in items])


@route("POST", _REPO + r"/pulls")
def _create(gh: FakeGitHub, req: Request) -> Response:
    if not _ours(gh, req):
        return _NOT_FOUND
    body = req.body or {}
    if not body.get("title"):
        return _invalid("PullRequest", "title", "missing_field")
    owner, _, head = str(body.get("head", "")).rpartition(":")
    base = str(body.get("base", ""))
    if owner.lower() not in ("", gh.owner.lower()) or not _sha(gh, head):
        return _invalid("PullRequest", "head")
    if not _sha(gh, base):
        return _invalid("PullRequest", "base")
    if any(p["state"] == "open" and p["head"] == head and p["base"] == base for p in pulls(gh)):
        return _invalid("PullRequest", "", message=f"A pull request already exists for {gh.owner}:{head}.")
    if _ahead(gh, base, head) == 0:
        return _invalid("PullRequest", "", message=f"No commits between {base} and {head}")
    number = gh.state["next_number"] = gh.state.get("next_number", 0) + 1
    now = _now(gh)
    pr = {"number": number, "title": body["title"], "body": body.get("body") or "", "state": "open",
          "draft": bool(body.get("draft", False)), "head": head, "base": base, "head_sha": _sha(gh, head),
          "user": gh.state.get("login", BOT_LOGIN), "created_at": now, "updated_at": now, "closed_at": None,
          "merged_at": None, "merged": False, "merge_commit_sha": None, "labels": [], "assignees": [],
          "reviewers": [], "teams": []}
    gh.state.setdefault("pulls", {})[number] = pr
    return Response(201, _pr_json(gh, pr))


@route("GET", _REPO + r"/pulls/" + _NUM)
def _get(gh: FakeGitHub, req: Request) -> Response:
    pr = _pull(gh, req)
    return Response(200, _pr_json(gh, pr)) if pr else _NOT_FOUND


@route("PATCH", _REPO + r"/pulls/" + _NUM)
def _update(gh: FakeGitHub, req: Request) -> Response:
    pr = _pull(gh, req)
    if pr is None:
        return _NOT_FOUND
    body = req.body or {}
    if body.get("state") not in (None, "open", "closed") or (body.get("base") is not None and not _sha(gh, body["base"])):
        return _invalid("PullRequest", "state" if "state" in body else "base")
    for key in ("title", "body", "base"):
        if body.get(key) is not None:
            pr[key] = body[key]
    if body.get("state") == "closed" and pr["state"] == "open":
        pr["head_sha"] = _sha(gh, pr["head"]) or pr["head_sha"]
        pr.update(state="closed", closed_at=_now(gh))
    elif body.get("state") == "open" and pr["state"] == "closed" and not pr["merged"]:
        pr.update(state="open", closed_at=None)
    pr["updated_at"] = _now(gh)
    return Response(200, _pr_json(gh, pr))


@route("GET", _REPO + r"/pulls/" + _NUM + r"/merge")
def _is_merged(gh: FakeGitHub, req: Request) -> Response:
    pr = _pull(gh, req)
    return Response(204) if pr and pr["merged"] else _NOT_FOUND


@route("POST", _REPO + r"/pulls/" + _NUM + r"/requested_reviewers")
def _request_reviewers(gh: FakeGitHub, req: Request) -> Response:
    pr = _pull(gh, req)
    if pr is None:
        return _NOT_FOUND
    body = req.body or {}
    users, teams = list(body.get("reviewers") or []), list(body.get("team_reviewers") or [])
    # Users must be collaborators; teams must be teams of the organization the token can see
    # (the job's GITHUB_TOKEN sees none): one name that fails fails the whole request.
    known = gh.state.get("collaborators")
    known_teams = gh.state.get("teams", known)
    if (known is not None and any(u not in known for u in users)) or (
            known_teams is not None and any(t not in known_teams for t in teams)):
        return Response(422, {"message": "Reviews may only be requested from collaborators. One or more of the "
                                         f"users or teams you specified is not a collaborator of the "
                                         f"{gh.full_name} repository.",
                              "documentation_url": f"{_DOCS}/pulls/review-requests", "status": "422"})
    pr["reviewers"] += [u for u in users if u not in pr["reviewers"]]
    pr["teams"] += [t for t in teams if t not in pr["teams"]]
    return Response(201, _pr_json(gh, pr))


# -- the issue side of a pull request -------------------------------------------------------

def _issue_json(gh: FakeGitHub, pr: dict[str, Any]) -> dict[str, Any]:
    data = _pr_json(gh, pr)
    data["url"] = data.pop("issue_url")
    data["pull_request"] = {"url": f"{gh.api_url}/repos/{gh.full_name}/pulls/{pr['number']}"}
    return data


@route("GET", _REPO + r"/issues/" + _NUM + r"/comments")
def _list_comments(gh: FakeGitHub, req: Request) -> Response:
    pr = _pull(gh, req)
    if pr is None:
        return _NOT_FOUND
    return gh.page(req, gh.state.setdefault("comments", {}).get(pr["number"], []))


@route("POST", _REPO + r"/issues/" + _NUM + r"/comments")
def _comment(gh: FakeGitHub, req: Request) -> Response:
    pr = _pull(gh, req)
    if pr is None:
        return _NOT_FOUND
    text = (req.body or {}).get("body")
    if not text:
        return _invalid("IssueComment", "body", "missing_field")
    all_comments = gh.state.setdefault("comments", {})
    cid = gh.state["next_comment"] = gh.state.get("next_comment", 0) + 1
    comment = {"id": cid, "body": text, "user": _user(gh.state.get("login", BOT_LOGIN)), "created_at": _now(gh),
               "url": f"{gh.api_url}/repos/{gh.full_name}/issues/comments/{cid}",
               "html_url": f"https://github.com/{gh.full_name}/pull/{pr['number']}#issuecomment-{cid}"}
    all_comments.setdefault(pr["number"], []).append(comment)
    return Response(201, comment)


def _labels_of(body: Any) -> list[str]:
    # The documented body is {"labels": [...]}; a bare array is accepted too (PyGithub sends one).
    labels = body.get("labels", []) if isinstance(body, dict) else body or []
    return [str(label["name"] if isinstance(label, dict) else label) for label in labels]


def _repo_label(gh: FakeGitHub, name: str) -> str:
    """The repository's label of that name, ignoring case as GitHub does; a new one is created."""
    labels: dict[str, str] = gh.state.setdefault("labels", {})
    return labels.setdefault(name.casefold(), name)


@route("POST", _REPO + r"/issues/" + _NUM + r"/labels")
def _add_labels(gh: FakeGitHub, req: Request) -> Response:
    pr = _pull(gh, req)
    if pr is None:
        return _NOT_FOUND
    for label in map(lambda name: _repo_label(gh, name), _labels_of(req.body)):
        if label not in pr["labels"]:
            pr["labels"].append(label)
    return Response(200, [{"name": label, "color": "ededed"} for label in pr["labels"]])


@route("PUT", _REPO + r"/issues/" + _NUM + r"/labels")
def _set_labels(gh: FakeGitHub, req: Request) -> Response:
    pr = _pull(gh, req)
    if pr is None:
        return _NOT_FOUND
    pr["labels"] = list(dict.fromkeys(_repo_label(gh, name) for name in _labels_of(req.body)))
    return Response(200, [{"name": label, "color": "ededed"} for label in pr["labels"]])


@route("POST", _REPO + r"/issues/" + _NUM + r"/assignees")
def _assign(gh: FakeGitHub, req: Request) -> Response:
    pr = _pull(gh, req)
    if pr is None:
        return _NOT_FOUND
    # GitHub silently ignores people who cannot be assigned; so does the fake.
    known = gh.state.get("collaborators")
    pr["assignees"] += [a for a in (req.body or {}).get("assignees", [])
                        if a not in pr["assignees"] and (known is None or a in known)]
    return Response(201, _issue_json(gh, pr))


# -- git refs ------------------------------------------------------------------------------

@route("GET", _REPO + r"/git/refs/heads/(?P<branch>.+)")  # the older path, which GitHub still answers
@route("GET", _REPO + r"/git/ref/heads/(?P<branch>.+)")
def _get_ref(gh: FakeGitHub, req: Request) -> Response:
    assert req.match is not None
    sha = _sha(gh, req.match["branch"]) if _ours(gh, req) else None
    if sha is None:
        return _NOT_FOUND
    ref = f"refs/heads/{req.match['branch']}"
    return Response(200, {"ref": ref, "node_id": ref, "url": f"{gh.api_url}/repos/{gh.full_name}/git/{ref}",
                          "object": {"type": "commit", "sha": sha}})


@route("DELETE", _REPO + r"/git/refs/heads/(?P<branch>.+)")
def _delete_ref(gh: FakeGitHub, req: Request) -> Response:
    assert req.match is not None
    if not _ours(gh, req):
        return _NOT_FOUND
    if _sha(gh, req.match["branch"]) is None:
        return Response(422, {"message": "Reference does not exist",
                              "documentation_url": f"{_DOCS}/git/refs#delete-a-reference", "status": "422"})
    _git(gh, "update-ref", "-d", f"refs/heads/{req.match['branch']}")
    return Response(204)
