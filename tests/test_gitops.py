from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from headroom_ci import gitops
from headroom_ci.gitops import BranchResult
from headroom_ci.gitops import Identity
from testing.gitrepo import git
from testing.gitrepo import GitFixture
from testing.gitrepo import HUMAN
from testing.gitrepo import isolated_env
from testing.gitrepo import make_repo

BOT = Identity("headroom-ci[bot]", "headroom-ci@users.noreply.github.com")
AGENTS = "\ufeff# shop\r\n\r\nRead the docs.\r\n"


@pytest.fixture(autouse=True)
def _git_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in isolated_env(tmp_path / "home").items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def repo(tmp_path: Path) -> GitFixture:
    return make_repo(tmp_path / "r", {"AGENTS.md": AGENTS, "src/app.py": "print('hi')\n", "run.sh": "#!/bin/sh\n"})


def _commit(repo: GitFixture, files: dict[str, str], parent: str | None = None) -> str:
    parent = parent or gitops.rev(repo.work, "origin/main")
    tree = gitops.build_tree(repo.work, parent=parent, files=files)
    return gitops.commit_tree(repo.work, tree=tree, parent=parent, message="headroom-ci: rules\n", author=BOT)


def test_origin_url(repo: GitFixture, tmp_path: Path) -> None:
    lone = tmp_path / "lone"
    git(tmp_path, "init", "--quiet", str(lone))
    assert [gitops.origin_url(repo.work), gitops.origin_url(repo.work / "src"), gitops.origin_url(lone),
            gitops.origin_url(tmp_path / "nowhere"), gitops.origin_url(repo.work, "upstream")] == \
        [str(repo.bare), str(repo.bare), None, None, None]


def test_read_file_keeps_bytes_and_tells_missing(repo: GitFixture) -> None:
    assert gitops.read_file(repo.work, "origin/main", "AGENTS.md") == AGENTS
    assert gitops.read_file(repo.work, "origin/main", "CLAUDE.md") is None
    with pytest.raises(gitops.GitError, match="origin/nope: no such commit"):
        gitops.read_file(repo.work, "origin/nope", "AGENTS.md")


def test_commit_changes_only_the_given_file_and_leaves_the_checkout_alone(repo: GitFixture) -> None:
    (repo.work / "scratch.txt").write_text("untracked\n")
    (repo.work / "src" / "app.py").write_text("print('edited')\n")  # a local edit that must not leak
    head, status = git(repo.work, "rev-parse", "HEAD"), git(repo.work, "status", "--porcelain")
    new_text = AGENTS + "\r\n<!-- headroom:learn:start -->\r\n<!-- headroom:learn:end -->\r\n"
    sha = _commit(repo, {"AGENTS.md": new_text, "run.sh": "#!/bin/sh\necho hi\n"})
    assert gitops.changed_paths(repo.work, "origin/main", sha) == ["AGENTS.md", "run.sh"]
    assert gitops.read_file(repo.work, sha, "AGENTS.md") == new_text
    assert git(repo.work, "ls-tree", sha, "run.sh").split()[0] == git(repo.work, "ls-tree", "HEAD", "run.sh").split()[0]
    assert gitops.commits_between(repo.work, "origin/main", sha) == [
        gitops.CommitInfo(sha, BOT, BOT)]
    assert (git(repo.work, "rev-parse", "HEAD"), git(repo.work, "status", "--porcelain")) == (head, status)
    assert git(repo.work, "branch", "--show-current").strip() == "main"


@pytest.mark.parametrize("path", ["../x.md", "/etc/x.md", ".git/config", ""])
def test_build_tree_refuses_paths_outside_the_tree(repo: GitFixture, path: str) -> None:
    with pytest.raises(gitops.GitError, match="not a path inside the repository"):
        _commit(repo, {path: "x"})


@pytest.mark.parametrize("files, base_change, expected", [
    ({"AGENTS.md": "one\n"}, None, True),
    ({"AGENTS.md": "one\n"}, {"src/app.py": "moved\n"}, True),      # base moved elsewhere: still shown right
    ({"AGENTS.md": "two\n"}, None, False),                             # another text
    ({"AGENTS.md": "one\n", "run.sh": "x\n"}, None, False),           # another set of files
    ({"AGENTS.md": "one\n"}, {"AGENTS.md": "theirs\n"}, False),      # base changed the file since
])
def test_holds_change(repo: GitFixture, files: dict[str, str], base_change: dict[str, str] | None,
                      expected: bool) -> None:
    tip = _commit(repo, {"AGENTS.md": "one\n"})
    if base_change:
        repo.push_files("main", base_change)
        gitops.fetch(repo.work, "origin", "main", None)
    base = gitops.rev(repo.work, "origin/main")
    assert gitops.holds_change(repo.work, tip=tip, base=base, files=files) is expected


def test_push_creates_updates_and_leaves_unchanged(repo: GitFixture) -> None:
    main = repo.sha("main")
    first = _commit(repo, {"AGENTS.md": "one\n"})
    second = _commit(repo, {"AGENTS.md": "two\n"})
    results = [
        gitops.push_branch(repo.work, remote="origin", branch="headroom/learn", sha=first, expected=None),
        gitops.push_branch(repo.work, remote="origin", branch="headroom/learn", sha=first, expected=first),
        gitops.push_branch(repo.work, remote="origin", branch="headroom/learn", sha=second, expected=first),
    ]
    assert results == [BranchResult("created", first), BranchResult("unchanged", first),
                       BranchResult("updated", second)]
    assert (repo.sha("headroom/learn"), repo.sha("main")) == (second, main)
    assert gitops.remote_heads(repo.work, "origin", ["main", "headroom/learn", "gone"]) == {
        "main": main, "headroom/learn": second}
    assert gitops.delete_branch(repo.work, remote="origin", branch="headroom/learn", expected=second) == \
        BranchResult("deleted", None)
    assert repo.branches() == ["main"]


def test_the_lease_keeps_someone_elses_push(repo: GitFixture) -> None:
    ours = _commit(repo, {"AGENTS.md": "one\n"})
    gitops.push_branch(repo.work, remote="origin", branch="headroom/learn", sha=ours, expected=None)
    theirs = repo.push_files("headroom/learn", {"AGENTS.md": "mine\n"})
    again = _commit(repo, {"AGENTS.md": "two\n"})
    with pytest.raises(gitops.BranchMovedError, match="headroom/learn changed on origin .*run again"):
        gitops.push_branch(repo.work, remote="origin", branch="headroom/learn", sha=again, expected=ours)
    with pytest.raises(gitops.BranchMovedError):
        gitops.delete_branch(repo.work, remote="origin", branch="headroom/learn", expected=ours)
    with pytest.raises(gitops.BranchMovedError):  # "must not exist" is a lease too
        gitops.push_branch(repo.work, remote="origin", branch="headroom/learn", sha=again, expected=None)
    assert repo.sha("headroom/learn") == theirs


def test_a_protected_branch_rejection_says_what_to_do_and_leaves_main(repo: GitFixture) -> None:
    main = repo.sha("main")
    repo.reject_pushes("error: GH006: Protected branch update failed for refs/heads/headroom/learn.")
    sha = _commit(repo, {"AGENTS.md": "one\n"})
    with pytest.raises(gitops.ProtectedBranchError) as err:
        gitops.push_branch(repo.work, remote="origin", branch="headroom/learn", sha=sha, expected=None)
    assert "GH006: Protected branch update failed" in str(err.value)
    assert "exclude it from the rule, or pass --branch" in str(err.value)
    assert (repo.sha("main"), repo.branches()) == (main, ["main"])


@pytest.fixture
def forbidden_remote() -> Iterator[str]:
    """A smart-HTTP remote that answers 403, as GitHub does for a token without contents: write."""
    class Forbidden(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(403)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forbidden)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/acme/shop.git"
    server.shutdown()
    server.server_close()


def test_a_403_on_push_names_the_permission(repo: GitFixture, forbidden_remote: str) -> None:
    git(repo.work, "remote", "add", "github", forbidden_remote)
    sha = _commit(repo, {"AGENTS.md": "one\n"})
    with pytest.raises(gitops.PushPermissionError, match=r"HTTP 403.*`permissions: contents: write`"):
        gitops.push_branch(repo.work, remote="github", branch="headroom/learn", sha=sha, expected=None)
    assert repo.branches() == ["main"]


def test_fetch_reads_only_the_branch_and_its_start_in_a_shallow_clone(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "s", {"AGENTS.md": "# a\n"})
    initial = repo.sha("main") or ""
    start = repo.push_files("main", {"f.txt": "start\n"})
    bot_sha = repo.push_files("headroom/learn", {"AGENTS.md": "# b\n"}, who=(BOT.name, BOT.email), start="main")
    human_sha = repo.push_files("headroom/learn", {"AGENTS.md": "# c\n"})
    for n in range(3):  # base moves on after the branch was made
        repo.push_files("main", {"f.txt": f"{n}\n"})
    work = tmp_path / "shallow"
    git(tmp_path, "clone", "--quiet", "--depth", "1", f"file://{repo.bare}", str(work))
    gitops.fetch(work, "origin", "main", "headroom/learn")
    commits = gitops.commits_between(work, "origin/main", "origin/headroom/learn")
    assert [(c.sha, c.author.email) for c in commits] == [(human_sha, HUMAN[1]), (bot_sha, BOT.email)]
    assert gitops.rev(work, "origin/main") == repo.sha("main")
    with pytest.raises(gitops.GitError):
        gitops.rev(work, f"{bot_sha}^")
    gitops.deepen(work, "origin", "headroom/learn")
    # The commit the branch started from is there to compare with; the history before it is not.
    assert gitops.rev(work, f"{bot_sha}^") == start
    assert gitops.read_file(work, start, "AGENTS.md") == "# a\n"
    with pytest.raises(AssertionError):
        git(work, "cat-file", "-t", initial)


def test_fetch_of_a_missing_remote_says_so(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"AGENTS.md": "# a\n"})
    git(repo.work, "remote", "set-url", "origin", str(tmp_path / "missing.git"))
    with pytest.raises(gitops.GitError, match="cannot fetch from origin"):
        gitops.fetch(repo.work, "origin", "main", None)


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(gitops.GitError, match="not inside a git repository"):
        gitops.repo_prefix(tmp_path)


def test_repo_prefix(repo: GitFixture) -> None:
    assert (gitops.repo_prefix(repo.work), gitops.repo_prefix(repo.work / "src")) == ("", "src/")


@pytest.mark.parametrize("name, ok", [("headroom/learn", True), ("a.b-c_d", True), ("-x", False), ("a..b", False),
                                      ("a b", False), ("x.lock", False), ("a//b", False), ("", False), ("a~1", False)])
def test_is_branch_name(repo: GitFixture, name: str, ok: bool) -> None:
    assert gitops.is_branch_name(repo.work, name) is ok


def test_file_history_follows_the_first_parent_line_oldest_first(repo: GitFixture, tmp_path: Path) -> None:
    side = repo.push_files("side", {"AGENTS.md": "side\n"}, start="main")  # never merged: not in main's history
    second = repo.push_files("main", {"AGENTS.md": "second\n"})
    repo.push_files("main", {"src/app.py": "print()\n"})  # does not touch the file
    git(repo.work, "pull", "--quiet", "origin", "main")
    history = gitops.file_history(repo.work, "AGENTS.md")
    assert [(v.sha, v.text) for v in history][1:] == [(second, "second\n")]
    assert history[0].text == AGENTS and side not in [v.sha for v in history]
    assert all(v.committed_at[:4].isdigit() and "T" in v.committed_at for v in history)
    assert gitops.file_history(repo.work, "AGENTS.md", limit=1) == history[-1:]
    assert gitops.file_history(repo.work, "missing.md") == []
    assert gitops.file_history(repo.work / "src", "app.py")[0].text == "print('hi')\n"
    (tmp_path / "plain").mkdir()
    assert gitops.file_history(tmp_path / "plain", "AGENTS.md") == []


def test_file_history_of_a_shallow_clone_marks_its_oldest_commit(tmp_path: Path) -> None:
    deep = make_repo(tmp_path / "deep", {"AGENTS.md": "one\n"})
    deep.push_files("main", {"AGENTS.md": "two\n"})
    git(deep.work, "pull", "--quiet", "origin", "main")
    assert [v.complete for v in gitops.file_history(deep.work, "AGENTS.md")] == [True, True]  # the root is complete
    shallow = make_repo(tmp_path / "shallow", {"AGENTS.md": "one\n"})
    shallow.push_files("main", {"AGENTS.md": "two\n"})
    git(tmp_path, "clone", "--quiet", "--depth", "1", f"file://{shallow.bare}", str(tmp_path / "clone"))
    assert [(v.text, v.complete) for v in gitops.file_history(tmp_path / "clone", "AGENTS.md")] == [("two\n", False)]


@pytest.mark.parametrize(("setup", "full"), [
    pytest.param("clone", True, id="a-clone"),
    pytest.param("subfolder", True, id="a-folder-in-a-clone"),
    pytest.param("sparse", False, id="a-sparse-checkout"),
    pytest.param("no-commit", False, id="git-init-only"),
    pytest.param("plain", False, id="no-git"),
])
def test_is_full_checkout(repo: GitFixture, tmp_path: Path, setup: str, full: bool) -> None:
    where = repo.work
    if setup == "subfolder":
        where = repo.work / "docs"
        where.mkdir()
    elif setup == "sparse":
        git(repo.work, "sparse-checkout", "set", "docs")
    elif setup == "no-commit":
        where = tmp_path / "new"
        git(tmp_path, "init", "--quiet", str(where))
    elif setup == "plain":
        where = tmp_path / "plain"
        where.mkdir()
    assert gitops.is_full_checkout(where) is full
