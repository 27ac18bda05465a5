"""Pins the README's and examples/' references to headroom-ci to one release's commit.

A workflow step becomes `uses: headroom/learn-action@<sha> # v1.2.0` and a pre-commit entry
`rev: <sha>  # frozen: v1.2.0`: the forms Dependabot, Renovate and `pre-commit autoupdate
--freeze` read and keep current. Run after tagging a release (see the README's "Releases"):

    python docs/pin_release.py v1.2.0      # the commit the tag names in this clone
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OWN = "headroom/learn-action"
VERSION = re.compile(r"v\d+\.\d+\.\d+")
SHA = re.compile(r"[0-9a-f]{40}")
_USES = re.compile(rf"(?m)^(?P<lead>[ \t]*(?:-[ \t]+)?uses:[ \t]+{re.escape(OWN)}(?:/collect|/pr)?)@[^\s#]+[^\r\n]*")
# A `rev:` line (or a commented example's) right after the line that names this repository.
_REV = re.compile(rf"(?m)^(?P<repo>[ \t]*#?[ \t]*-[ \t]+repo:[ \t]+https://github\.com/{re.escape(OWN)}[ \t]*\r?\n)"
                  r"(?P<lead>[ \t]*#?[ \t]*rev:[ \t]+)[^\s#]+[^\r\n]*")


def pinned_files() -> list[Path]:
    return [REPO / "README.md", REPO / ".pre-commit-hooks.yaml", *sorted((REPO / "examples").glob("*.y*ml"))]


def repin(text: str, *, sha: str, version: str) -> str:
    if not SHA.fullmatch(sha) or not VERSION.fullmatch(version):
        raise ValueError(f"expected a 40-hex commit and a vX.Y.Z tag, got {sha!r} and {version!r}")
    text = _USES.sub(lambda m: f"{m['lead']}@{sha} # {version}", text)
    return _REV.sub(lambda m: f"{m['repo']}{m['lead']}{sha}  # frozen: {version}", text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("version", help="the release tag, such as v1.2.0")
    args = parser.parse_args(argv)
    if not VERSION.fullmatch(args.version):
        print(f"pin_release: {args.version!r} is not a release tag vX.Y.Z", file=sys.stderr)
        return 1
    found = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"refs/tags/{args.version}^{{commit}}"],
                           cwd=REPO, capture_output=True, text=True)
    if found.returncode != 0:
        print(f"pin_release: no tag {args.version} in {REPO}: tag the release first", file=sys.stderr)
        return 1
    sha = found.stdout.strip()
    for path in pinned_files():
        with open(path, encoding="utf-8", newline="") as fh:
            old = fh.read()
        new = repin(old, sha=sha, version=args.version)
        if new != old:
            with open(path, "w", encoding="utf-8", newline="") as fh:
                fh.write(new)
            print(f"pinned {path.relative_to(REPO)} to {args.version} ({sha})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
