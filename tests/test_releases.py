"""The examples pin headroom-ci to one release's commit, as docs/pin_release.py writes them."""
from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
SHA = "0123456789abcdef0123456789abcdef01234567"


def _pin_release() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pin_release", REPO / "docs" / "pin_release.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("before", "after"), [
    pytest.param("      - uses: headroom/learn-action@v1\n",
                 f"      - uses: headroom/learn-action@{SHA} # v1.2.0\n", id="a-tag"),
    pytest.param("        uses: headroom/learn-action/collect@v1   # pin a release's commit\n",
                 f"        uses: headroom/learn-action/collect@{SHA} # v1.2.0\n", id="a-comment-replaced"),
    pytest.param(f"  uses: headroom/learn-action/pr@{'f' * 40} # v1.1.0\r\n",
                 f"  uses: headroom/learn-action/pr@{SHA} # v1.2.0\r\n", id="an-older-pin-crlf"),
    pytest.param("  - repo: https://github.com/headroom/learn-action\n    rev: v1.0.0\n",
                 f"  - repo: https://github.com/headroom/learn-action\n    rev: {SHA}  # frozen: v1.2.0\n",
                 id="pre-commit-rev"),
    pytest.param("#   - repo: https://github.com/headroom/learn-action\n#     rev: v1\n",
                 f"#   - repo: https://github.com/headroom/learn-action\n#     rev: {SHA}  # frozen: v1.2.0\n",
                 id="a-commented-example"),
    pytest.param("  - repo: https://github.com/pre-commit/pre-commit-hooks\n    rev: v5.0.0\n"
                 "      - uses: actions/checkout@v4\n      - uses: headroom/learn-action-fork@v1\n",
                 "  - repo: https://github.com/pre-commit/pre-commit-hooks\n    rev: v5.0.0\n"
                 "      - uses: actions/checkout@v4\n      - uses: headroom/learn-action-fork@v1\n",
                 id="others-left-alone"),
    pytest.param("`headroom/learn-action@v1` in prose\n", "`headroom/learn-action@v1` in prose\n", id="prose"),
])
def test_repin(before: str, after: str) -> None:
    assert _pin_release().repin(before, sha=SHA, version="v1.2.0") == after


def test_repin_refuses_what_is_not_a_commit_and_a_tag() -> None:
    with pytest.raises(ValueError, match="expected a 40-hex commit and a vX.Y.Z tag"):
        _pin_release().repin("", sha="v1", version="v1.2.0")


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)


def test_every_example_pins_the_same_release_commit() -> None:
    pin_release = _pin_release()
    uses: set[tuple[str, str]] = set()
    revs: set[tuple[str, str]] = set()
    for path in pin_release.pinned_files():
        text = path.read_text(encoding="utf-8")
        for line in re.findall(r"(?m)^[ \t]*(?:-[ \t]+)?uses:[ \t]+headroom/learn-action\S*.*$", text):
            m = re.fullmatch(r"\s*(?:-\s+)?uses:\s+headroom/learn-action(?:/collect|/pr)?@([0-9a-f]{40}) # "
                             r"(v\d+\.\d+\.\d+)", line)
            assert m, f"{path.name}: {line.strip()!r} is not pinned to a release's commit"
            uses.add((m[1], m[2]))
        for m in re.finditer(r"(?m)^.*repo: https://github\.com/headroom/learn-action\n(.*)$", text):
            rev = re.fullmatch(r"[ \t]*#?[ \t]*rev: ([0-9a-f]{40})  # frozen: (v\d+\.\d+\.\d+)", m[1])
            assert rev, f"{path.name}: {m[1].strip()!r} is not a frozen pin"
            revs.add((rev[1], rev[2]))
    assert len(uses) == 1 and revs == uses, f"the examples pin different releases: {sorted(uses | revs)}"
    ((sha, version),) = uses
    # The pinned commit is this repository's release: the package there has the tag's version.
    if _git("rev-parse", "--is-shallow-repository").stdout.strip() != "false":
        pytest.skip("a shallow or non-git checkout cannot show the pinned commit")
    released = _git("show", f"{sha}:headroom_ci/__init__.py")
    assert released.returncode == 0, f"the pinned commit {sha} is not in this repository's history"
    assert f'__version__ = "{version[1:]}"' in released.stdout
