"""Git, and nothing else: the only module that imports GitPython.

Thin functions that return values. Nothing here touches the user's working tree, index, HEAD or
current branch: commits are built with plumbing in a private index, and the only refs written
in the user's repository are remote-tracking ones (by `fetch`). The only remote ref ever pushed
is the proposal branch, always with a lease on the sha we examined.
"""
from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from pathlib import PurePosixPath
from typing import BinaryIO
from typing import Literal

import git

from headroom_ci.errors import FatalError

# Remote operations must fail, never wait for a password prompt nobody will answer (an askpass
# helper a CI sets up for its token still works).
_REMOTE_ENV = {"GIT_TERMINAL_PROMPT": "0"}


class GitError(FatalError):
    pass


class PushPermissionError(GitError):
    pass


class ProtectedBranchError(GitError):
    pass


class BranchMovedError(GitError):
    pass


@dataclass(frozen=True)
class Identity:
    name: str
    email: str


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author: Identity
    committer: Identity


@dataclass(frozen=True)
class BranchResult:
    action: Literal["created", "updated", "unchanged", "deleted"]
    sha: str | None  # the branch tip afterwards; None once deleted


def _open(repo_path: str | Path) -> git.Repo:
    try:
        return git.Repo(repo_path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise GitError(f"{repo_path}: not inside a git repository (pass --repo-path to a clone)") from None


def _run(repo: git.Repo, *args: str, env: Mapping[str, str] | None = None, stdin: BinaryIO | None = None,
         binary: bool = False) -> tuple[int, str | bytes, str]:
    """(status, stdout, stderr) of `git args…`; stdout kept exactly (no newline stripped)."""
    status, out, err = repo.git.execute(
        ["git", *args], with_extended_output=True, with_exceptions=False, env=dict(env or {}),
        istream=stdin, stdout_as_string=not binary, strip_newline_in_stdout=False)
    return int(status), (b"" if binary else "") if out is None else out, str(err)


def _ok(repo: git.Repo, *args: str, env: Mapping[str, str] | None = None, stdin: BinaryIO | None = None) -> str:
    status, out, err = _run(repo, *args, env=env, stdin=stdin)
    if status != 0:
        raise GitError(f"git {' '.join(args[:2])} failed: {_tail(err)}")
    return str(out).strip()


def _tail(stderr: str, lines: int = 6) -> str:
    kept = [line for line in stderr.strip().splitlines() if line.strip()]
    return " | ".join(kept[-lines:]) or "(no message)"


def origin_url(repo_path: str | Path, remote: str = "origin") -> str | None:
    """The fetch URL of `remote`, or None when there is no repository or no such remote."""
    try:
        repo = git.Repo(repo_path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    status, out, _ = _run(repo, "remote", "get-url", remote)
    return (str(out).strip() or None) if status == 0 else None


def is_branch_name(repo_path: str | Path, name: str) -> bool:
    """git's own rules for a branch name (and no leading dash: it would read as an option)."""
    return not name.startswith("-") and _run(_open(repo_path), "check-ref-format", f"refs/heads/{name}")[0] == 0


def repo_prefix(repo_path: str | Path) -> str:
    """`repo_path` relative to the top of its repository ("" at the top), in tree path form."""
    repo = _open(repo_path)
    top = Path(repo.working_tree_dir or ".").resolve()
    rel = Path(repo_path).resolve().relative_to(top).as_posix()
    return "" if rel == "." else rel + "/"


def remote_heads(repo_path: str | Path, remote: str, branches: Iterable[str]) -> dict[str, str]:
    """branch → sha for those of `branches` that exist on the remote, asked of the remote itself."""
    repo = _open(repo_path)
    names = list(branches)
    status, out, err = _run(repo, "ls-remote", "--heads", remote, *(f"refs/heads/{b}" for b in names),
                            env=_REMOTE_ENV)
    if status != 0:
        raise _remote_error(err, remote=remote, what="read the branches of")
    heads = {}
    for line in str(out).splitlines():
        sha, _, ref = line.partition("\t")
        if ref.startswith("refs/heads/") and ref[len("refs/heads/"):] in names:
            heads[ref[len("refs/heads/"):]] = sha
    return heads


def fetch(repo_path: str | Path, remote: str, base: str, branch: str | None) -> None:
    """Brings `base` (and `branch`, when it exists) into refs/remotes/<remote>/.

    In a shallow clone (actions/checkout's default) the branch is fetched without the history it
    shares with base, so reading its own commits never downloads the whole repository.
    """
    repo = _open(repo_path)
    refspec = "+refs/heads/{0}:refs/remotes/%s/{0}" % remote
    status, _, err = _run(repo, "fetch", "--no-tags", remote, refspec.format(base), env=_REMOTE_ENV)
    if status == 0 and branch is not None:
        shallow = _ok(repo, "rev-parse", "--is-shallow-repository") == "true"
        extra = [f"--shallow-exclude=refs/heads/{base}"] if shallow else []
        status, _, err = _run(repo, "fetch", "--no-tags", *extra, remote, refspec.format(branch), env=_REMOTE_ENV)
    if status != 0:
        raise _remote_error(err, remote=remote, what="fetch from")


def deepen(repo_path: str | Path, remote: str, branch: str) -> None:
    """In a shallow clone, one commit more below `branch`: the commit it was built on.

    Call it after reading the branch's commits (`commits_between`): below the boundary the
    local history no longer shows that commit to be base's, so it would be listed as the branch's.
    """
    repo = _open(repo_path)
    if _ok(repo, "rev-parse", "--is-shallow-repository") != "true":
        return
    status, _, err = _run(repo, "fetch", "--no-tags", "--deepen=1", remote,
                          f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}", env=_REMOTE_ENV)
    if status != 0:
        raise _remote_error(err, remote=remote, what="fetch from")


def rev(repo_path: str | Path, ref: str) -> str:
    return _ok(_open(repo_path), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")


def read_file(repo_path: str | Path, ref: str, path: str) -> str | None:
    """The file's text at `ref` byte for byte (BOM, CRLF kept), or None when it is not there."""
    repo = _open(repo_path)
    status, out, err = _run(repo, "cat-file", "blob", f"{ref}:{path}", binary=True)
    if status != 0:
        if _run(repo, "cat-file", "-e", f"{ref}^{{commit}}")[0] != 0:
            raise GitError(f"{ref}: no such commit: {_tail(err)}")
        return None
    try:
        return out.decode("utf-8") if isinstance(out, bytes) else out
    except UnicodeDecodeError as exc:
        raise GitError(f"{path} at {ref}: not UTF-8 text (byte {exc.start}): fix or convert the file first") from None


def tree_of(repo_path: str | Path, ref: str) -> str:
    return _ok(_open(repo_path), "rev-parse", "--verify", f"{ref}^{{tree}}")


def build_tree(repo_path: str | Path, *, parent: str, files: Mapping[str, str]) -> str:
    """The tree of `parent` with `files` (tree path → text) written in; nothing else changes.

    A private index (GIT_INDEX_FILE) keeps the user's index and working tree out of it, and the
    blobs are hashed from stdin, which git never runs through eol or clean filters: the bytes
    committed are exactly the text given.
    """
    repo = _open(repo_path)
    with tempfile.TemporaryDirectory(prefix="headroom-ci-index-") as tmp:
        env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
        _ok(repo, "read-tree", parent, env=env)
        for path, text in sorted(files.items()):
            _check_path(path)
            with tempfile.TemporaryFile(dir=tmp) as fh:
                fh.write(text.encode("utf-8"))
                fh.seek(0)
                blob = _ok(repo, "hash-object", "-w", "--stdin", stdin=fh)
            listed = _ok(repo, "ls-tree", parent, "--", path)
            mode = listed.split(" ", 1)[0] if listed else "100644"  # an executable file stays executable
            if mode not in ("100644", "100755"):
                raise GitError(f"{path} at {parent[:12]} is not a regular file (mode {mode}): pick another target")
            _ok(repo, "update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}", env=env)
        return _ok(repo, "write-tree", env=env)


def commit_tree(repo_path: str | Path, *, tree: str, parent: str, message: str, author: Identity) -> str:
    """A commit object (no ref moves) authored and committed by `author`."""
    env = {"GIT_AUTHOR_NAME": author.name, "GIT_AUTHOR_EMAIL": author.email,
           "GIT_COMMITTER_NAME": author.name, "GIT_COMMITTER_EMAIL": author.email}
    repo = _open(repo_path)
    with tempfile.TemporaryFile() as fh:  # the message on stdin: no length limit, no quoting
        fh.write(message.encode("utf-8"))
        fh.seek(0)
        return _ok(repo, "commit-tree", tree, "-p", parent, env=env, stdin=fh)


def commits_between(repo_path: str | Path, base: str, tip: str) -> list[CommitInfo]:
    """Commits reachable from `tip` and not from `base`, newest first."""
    out = _ok(_open(repo_path), "log", "--format=%H%x00%an%x00%ae%x00%cn%x00%ce", f"{base}..{tip}", "--")
    commits = []
    for line in out.splitlines():
        sha, an, ae, cn, ce = line.split("\x00")
        commits.append(CommitInfo(sha, Identity(an, ae), Identity(cn, ce)))
    return commits


def changed_paths(repo_path: str | Path, a: str, b: str) -> list[str]:
    return _ok(_open(repo_path), "diff", "--name-only", "--no-renames", a, b, "--").splitlines()


def holds_change(repo_path: str | Path, *, tip: str, base: str, files: Mapping[str, str]) -> bool:
    """Whether commit `tip` changes exactly `files` to exactly these texts over its parent, and
    `base` has not touched them since that parent: a pull request of `tip` into `base` already
    shows this change, even if base moved on elsewhere."""
    parent = f"{tip}^"
    if set(changed_paths(repo_path, parent, tip)) != set(files):
        return False
    return all(read_file(repo_path, tip, p) == t and read_file(repo_path, parent, p) == read_file(repo_path, base, p)
               for p, t in files.items())


def push_branch(repo_path: str | Path, *, remote: str, branch: str, sha: str, expected: str | None) -> BranchResult:
    """Points the remote's `branch` at `sha`, only if it still is at `expected` (None: absent).

    --force-with-lease with an explicit sha, so a push from anyone else in between is never lost.
    """
    if sha == expected:
        return BranchResult("unchanged", sha)
    _push(repo_path, remote, branch, f"{sha}:refs/heads/{branch}", expected)
    return BranchResult("created" if expected is None else "updated", sha)


def delete_branch(repo_path: str | Path, *, remote: str, branch: str, expected: str) -> BranchResult:
    _push(repo_path, remote, branch, f":refs/heads/{branch}", expected)
    return BranchResult("deleted", None)


def _push(repo_path: str | Path, remote: str, branch: str, refspec: str, expected: str | None) -> None:
    repo = _open(repo_path)
    lease = f"--force-with-lease=refs/heads/{branch}:{expected or ''}"
    status, out, err = _run(repo, "push", "--porcelain", "--no-verify", lease, remote, refspec, env=_REMOTE_ENV)
    if status != 0:
        raise _push_error(str(out) + "\n" + err, remote=remote, branch=branch)


def _check_path(path: str) -> None:
    p = PurePosixPath(path)
    if not path or p.is_absolute() or ".." in p.parts or p.parts[0] == ".git" or "\\" in path:
        raise GitError(f"{path!r}: not a path inside the repository")


_HTTP_403 = re.compile(r"returned error: 403|Permission to \S+ denied|denied to \S+\.?$|HTTP 403", re.M)
_AUTH = re.compile(r"could not read Username|Authentication failed|terminal prompts disabled|"
                   r"Permission denied \(publickey\)|returned error: 401", re.I)
_PROTECTED = re.compile(r"GH006|GH013|[Pp]rotected branch|[Rr]epository rule violations|pre-receive hook declined|"
                        r"remote rejected")


def _push_error(output: str, *, remote: str, branch: str) -> GitError:
    detail = _tail(output)
    if "stale info" in output or "fetch first" in output:
        return BranchMovedError(f"{branch} changed on {remote} while this run was working ({detail}): run again")
    if _HTTP_403.search(output):
        return PushPermissionError(
            f"pushing {branch} to {remote} was refused (HTTP 403: {detail}): the token needs write access to "
            "the repository's contents: in a workflow give the job `permissions: contents: write` "
            "(and keep actions/checkout's persisted credentials)")
    if _PROTECTED.search(output):
        return ProtectedBranchError(
            f"pushing {branch} to {remote} was rejected by the remote ({detail}): a branch protection rule or "
            f"ruleset covers {branch}: exclude it from the rule, or pass --branch with a name the rules allow")
    if _AUTH.search(output):
        return PushPermissionError(_auth_message(remote, detail))
    return GitError(f"pushing {branch} to {remote} failed: {detail}")


def _remote_error(stderr: str, *, remote: str, what: str) -> GitError:
    detail = _tail(stderr)
    if _AUTH.search(stderr):
        return GitError(_auth_message(remote, detail))
    return GitError(f"cannot {what} {remote}: {detail}")


def _auth_message(remote: str, detail: str) -> str:
    return (f"git has no credentials for {remote} ({detail}): check the repository out with actions/checkout "
            "(persist-credentials: true, the default) or configure a credential helper")


@dataclass(frozen=True)
class FileVersion:
    sha: str
    committed_at: str  # ISO 8601 with offset, when the commit reached the branch (first-parent)
    text: str | None   # None: the file did not exist in that commit, or is not UTF-8
    complete: bool = True  # False: a shallow clone's oldest commit; what came before it is unknown


def is_full_checkout(repo_path: str | Path) -> bool:
    """Whether `repo_path` lies in a git working tree with a commit checked out in full (not a
    sparse checkout): only then does a missing file say the repository has no such file."""
    try:
        repo = git.Repo(repo_path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return False
    if repo.bare or _run(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")[0] != 0:
        return False
    return str(_run(repo, "config", "--bool", "core.sparseCheckout")[1]).strip() != "true"


def file_history(repo_path: str | Path, path: str, *, ref: str = "HEAD", limit: int = 200) -> list[FileVersion]:
    """The versions of `path` (relative to `repo_path`) along `ref`'s first-parent line, oldest
    first: a merged pull request shows as its merge commit, dated when it reached the branch.
    [] outside a repository or before the first commit."""
    try:
        repo = git.Repo(repo_path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return []
    tree_path = repo_prefix(repo_path) + path
    status, out, _ = _run(repo, "log", "--first-parent", f"--max-count={limit}", "--format=%H %cI %P", ref, "--",
                          f":(literal){tree_path}")
    if status != 0:
        return []
    shallow = str(_run(repo, "rev-parse", "--is-shallow-repository")[1]).strip() == "true"
    versions = []
    for line in reversed(str(out).splitlines()):
        sha, when, *parents = line.split()
        try:
            text = read_file(repo_path, sha, tree_path)
        except GitError:
            text = None
        versions.append(FileVersion(sha, when, text, complete=not (shallow and not parents)))
    return versions
