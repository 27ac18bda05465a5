from __future__ import annotations

import pytest

from headroom_ci.mining.repos import NOT_A_REPOSITORY
from headroom_ci.mining.repos import repository_of
from headroom_ci.mining.repos import THIS


@pytest.mark.parametrize("cwd, expected", [
    pytest.param("/home/runner/work/shop/shop", "shop", id="ci-checkout"),
    pytest.param("/home/runner/work/shop/shop/web", "shop", id="ci-subfolder"),
    pytest.param("/Users/ann/src/shop", "shop", id="local-checkout"),
    pytest.param("/Users/ann/src/shop/.worktrees/fix-cart", "shop", id="worktree-inside"),
    pytest.param("C:\\Users\\ann\\.claude-worktrees\\shop\\brave-turing", "shop", id="claude-worktree-windows"),
    pytest.param("/Users/ann", NOT_A_REPOSITORY, id="home-folder"),
    pytest.param("C:\\Users\\ann", NOT_A_REPOSITORY, id="windows-home"),
    pytest.param("/", NOT_A_REPOSITORY, id="root"),
    pytest.param("/tmp/tmpab12cd", "tmpab12cd", id="a-temp-project-is-its-own"),
    pytest.param(None, THIS, id="unknown"),
    pytest.param(".", THIS, id="bundle-relative"),
])
def test_repository_of(cwd: str | None, expected: str) -> None:
    assert repository_of(cwd) == expected
