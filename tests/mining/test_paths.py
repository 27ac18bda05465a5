from __future__ import annotations

import pytest

from headroom_ci.mining.paths import relativize
from headroom_ci.mining.paths import repo_roots

ROOTS = repo_roots(cwd="/home/runner/work/shop/shop/web")


@pytest.mark.parametrize("cwd, repo_path, expected", [
    pytest.param("/home/runner/work/shop/shop/web", None, ("/home/runner/work/shop/shop",), id="runner-subfolder"),
    pytest.param("/github/workspace", None, ("/github/workspace",), id="container"),
    pytest.param("/srv/repo/", "/tmp/checkout", ("/tmp/checkout", "/srv/repo"), id="repo-path-first"),
    pytest.param(None, None, (), id="unknown"),
    pytest.param("/srv/repo", "/srv/repo", ("/srv/repo",), id="the-same-root-once"),
])
def test_repo_roots(cwd: str | None, repo_path: str | None, expected: tuple[str, ...]) -> None:
    assert repo_roots(cwd=cwd, repo_path=repo_path) == expected


@pytest.mark.parametrize("text, expected", [
    pytest.param("/home/runner/work/shop/shop/services/api/models/user.py", "services/api/models/user.py", id="file"),
    pytest.param("cd /home/runner/work/shop/shop && ls", "cd . && ls", id="root-itself"),
    pytest.param("/home/runner/work/shop/shop-2/x", "~/work/shop/shop-2/x", id="sibling-is-not-the-root"),
    pytest.param("/home/runner/work/other/other/y", "y", id="other-runner-workspace"),
    pytest.param("/Users/alice/.cache/x", "~/.cache/x", id="home"),
    pytest.param("/var/home/alice/.cache/x", "~/.cache/x", id="fedora-atomic-home"),
    pytest.param("cat '/home/alice/a' x=/root/b", "cat '~/a' x=~/b", id="homes-after-quote-and-equals"),
    pytest.param("file:///home/alice/a", "file://~/a", id="file-url"),
    pytest.param("/tmp/x/home/.npm/_logs/a.log", "/tmp/x/home/.npm/_logs/a.log", id="home-inside-a-path-kept"),
    pytest.param("cd /home/bob && ls", "cd ~ && ls", id="a-home-without-a-slash-after"),
    pytest.param("PATH=/home/bob/.local/bin:/root", "PATH=~/.local/bin:~", id="homes-in-a-path-list"),
    pytest.param("ls /rootfs/etc /home/ci-runner)", "ls /rootfs/etc ~)", id="only-whole-names"),
    pytest.param("/data/home/ci/build.log", "/data/home/ci/build.log", id="data-home-kept"),
    pytest.param("/var/lib/home/u/x", "/var/lib/home/u/x", id="var-lib-home-kept"),
    pytest.param("ls ./src ../x", "ls ./src ../x", id="relative-untouched"),
    pytest.param("/usr/bin/env python3", "/usr/bin/env python3", id="system-path-kept"),
])
def test_relativize(text: str, expected: str) -> None:
    assert relativize(text, ROOTS) == expected
