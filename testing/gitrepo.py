"""Git fixtures: a bare repository standing in for GitHub's, and clones of it.

Everything is real git run through subprocess, isolated from the machine's git configuration
(`isolated_env`), so a test sees exactly what a CI runner would.
"""
from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

HUMAN = ("Dana Reviewer", "dana@example.com")
SEED = ("Repo Owner", "owner@example.com")


def isolated_env(home: Path) -> dict[str, str]:
    """Environment variables that keep the user's and the system's git config out of a test."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "gitconfig"
    config.write_text("[init]\n\tdefaultBranch = main\n[protocol \"file\"]\n\tallow = always\n")
    return {"GIT_CONFIG_GLOBAL": str(config), "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(home),
            "GIT_TERMINAL_PROMPT": "0"}


def git(cwd: Path, *args: str, who: tuple[str, str] = SEED, input: bytes | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": who[0], "GIT_AUTHOR_EMAIL": who[1],
           "GIT_COMMITTER_NAME": who[0], "GIT_COMMITTER_EMAIL": who[1]}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, input=input, capture_output=True, check=False)
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed in {cwd}: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode("utf-8")


@dataclass
class GitFixture:
    root: Path
    bare: Path     # the "GitHub" side: what the fake server reads
    work: Path     # the user's clone, origin = bare

    def sha(self, ref: str) -> str | None:
        """The sha of `ref` in the bare repository, or None when it does not exist."""
        done = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=self.bare,
                              capture_output=True, check=False)
        return done.stdout.decode().strip() or None

    def show(self, ref: str, path: str) -> str | None:
        done = subprocess.run(["git", "cat-file", "blob", f"{ref}:{path}"], cwd=self.bare, capture_output=True,
                              check=False)
        return done.stdout.decode("utf-8") if done.returncode == 0 else None

    def changed(self, a: str, b: str) -> list[str]:
        """Paths that differ between two refs of the bare repository."""
        return git(self.bare, "diff", "--name-only", a, b, "--").split()

    def diff(self, a: str, b: str, path: str = "") -> str:
        return git(self.bare, "diff", a, b, "--", *([path] if path else []))

    def authors(self, base: str, tip: str) -> list[str]:
        return git(self.bare, "log", "--format=%ae", f"{base}..{tip}", "--").split()

    def branches(self) -> list[str]:
        return git(self.bare, "for-each-ref", "--format=%(refname:short)", "refs/heads/").split()

    def push_files(self, branch: str, files: Mapping[str, str], *, message: str = "edit",
                   who: tuple[str, str] = HUMAN, start: str | None = None) -> str:
        """Someone else commits `files` on top of `branch` (or `start`) and pushes it; its new sha."""
        clone = self.root / f"other-{len(list(self.root.glob('other-*')))}"
        git(self.root, "clone", "--quiet", str(self.bare), str(clone))
        git(clone, "checkout", "--quiet", "-B", branch, f"origin/{start or branch}")
        for path, text in files.items():
            target = clone / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text.encode("utf-8"))
            git(clone, "add", "--", path)
        git(clone, "commit", "--quiet", "-m", message, who=who)
        git(clone, "push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
        return git(clone, "rev-parse", "HEAD").strip()

    def reject_pushes(self, message: str) -> None:
        """A pre-receive hook in the bare repository that refuses every push with `message`,
        the way GitHub's branch protection answers (its lines reach git as "remote: …")."""
        hook = self.bare / "hooks" / "pre-receive"
        hook.write_text(f"#!/bin/sh\necho {_sh_quote(message)} >&2\nexit 1\n")
        hook.chmod(0o755)


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def make_repo(root: Path, files: Mapping[str, str], *, shallow: bool = False) -> GitFixture:
    """A bare repository whose main holds `files` in one commit, and a clone of it (`shallow`:
    depth 1, like actions/checkout)."""
    root.mkdir(parents=True, exist_ok=True)
    bare, seed, work = root / "remote.git", root / "seed", root / "work"
    git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    git(root, "init", "--quiet", "--initial-branch=main", str(seed))
    for path, text in files.items():
        (seed / path).parent.mkdir(parents=True, exist_ok=True)
        (seed / path).write_bytes(text.encode("utf-8"))
    git(seed, "add", "--all")
    git(seed, "commit", "--quiet", "-m", "initial")
    git(seed, "push", "--quiet", str(bare), "main")
    if shallow:
        # file:// because git ignores --depth for a plain local path
        git(root, "clone", "--quiet", "--depth", "1", f"file://{bare}", str(work))
    else:
        git(root, "clone", "--quiet", str(bare), str(work))
    return GitFixture(root, bare, work)
