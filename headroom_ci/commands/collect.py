"""`headroom-ci collect`: this CI job's agent sessions → a bundle folder for upload-artifact.

The bundle: `manifest.json` (the run, the job, the agents and their versions, counts, one entry
per session file), `sessions/<agent>-<id>.jsonl` in the normalized form
(`sessions.normalized`), and with `--raw` the original files under `raw/`, line by line. Every
string is redacted and runner paths are made repo-relative before it is written. The bundle is
built beside `--out` and renamed into place, so a failed collect leaves nothing half written.

Exit status: 0, also when nothing was found (a notice: an agent that never started leaves no
transcript, and that is no reason to fail the job) and when a named path is missing (a warning);
1 when the bundle cannot be written where --out says.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import TextIO

from headroom_ci import __version__
from headroom_ci import actions
from headroom_ci.safety import inert
from headroom_ci.cli import add_renamed
from headroom_ci.commands.sessions import printable
from headroom_ci.errors import FatalError
from headroom_ci.mining.paths import relativize
from headroom_ci.mining.paths import repo_roots
from headroom_ci.safety.redact import DEFAULT as DEFAULT_REDACTOR
from headroom_ci.safety.redact import redact as redact_text
from headroom_ci.safety.redact import Redactor
from headroom_ci.sessions import normalized
from headroom_ci.sessions.bundle import is_bundle
from headroom_ci.sessions.bundle import manifest
from headroom_ci.sessions.bundle import MANIFEST
from headroom_ci.sessions.bundle import RAW_DIR
from headroom_ci.sessions.bundle import SESSIONS_DIR
from headroom_ci.sessions.collect_sources import find
from headroom_ci.sessions.collect_sources import Found
from headroom_ci.sessions.collect_sources import safe_name
from headroom_ci.sessions.collect_sources import Source
from headroom_ci.sessions.collect_sources import sources
from headroom_ci.sessions.jsonl import iter_lines
from headroom_ci.sessions.jsonl import MAX_LINE_BYTES
from headroom_ci.sessions.model import Run
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.model import Skip
from headroom_ci.sessions.versions import agent_version

DEFAULT_OUT = "headroom-ci-bundle"  # under $RUNNER_TEMP
MAX_SKIPS_LISTED = 100
_SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class CollectSettings:
    out: Path
    workspace: Path
    paths: tuple[str, ...] = ()
    runner_temp: Path | None = None
    raw: bool = False
    repository: str | None = None
    home: str | None = None   # written `~`
    # The built-in table; from_args adds the values of the job's secret-looking variables.
    redactor: Redactor = DEFAULT_REDACTOR
    artifact: str | None = None   # the name the bundle is uploaded as, for the job summary


@dataclass(frozen=True)
class JobInfo:
    """What the Actions environment says about the job collecting (all None elsewhere)."""
    run: Run | None = None
    job: str | None = None
    workflow: str | None = None       # the workflow's name
    workflow_ref: str | None = None   # owner/repo/.github/workflows/agent.yml@refs/heads/main
    ref: str | None = None
    collected_at: str | None = None


# -- the edge: environment and clock ----------------------------------------------------------------
def job_info(env: Mapping[str, str], *, repository: str | None, now: float | None = None) -> JobInfo:
    def get(name: str) -> str | None:
        return env.get(name) or None

    run = None
    run_id = get("GITHUB_RUN_ID")
    if run_id:
        attempt = get("GITHUB_RUN_ATTEMPT")
        server = (get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
        workflow_ref = get("GITHUB_WORKFLOW_REF")
        # The file name, as fetch records it from the API: ".github/workflows/agent.yml@ref" → "agent.yml".
        workflow_file = workflow_ref.split("@", 1)[0].rsplit("/", 1)[-1] if workflow_ref else None
        head_ref = get("GITHUB_HEAD_REF")  # a pull request's branch
        branch = head_ref or (get("GITHUB_REF_NAME") if env.get("GITHUB_REF_TYPE") == "branch" else None)
        run = Run(id=run_id, attempt=int(attempt) if attempt and attempt.isdigit() else None,
                  url=f"{server}/{repository}/actions/runs/{run_id}" if repository else None,
                  workflow=workflow_file or get("GITHUB_WORKFLOW"), branch=branch, sha=get("GITHUB_SHA"))
    return JobInfo(run=run, job=get("GITHUB_JOB"), workflow=get("GITHUB_WORKFLOW"),
                   workflow_ref=get("GITHUB_WORKFLOW_REF"), ref=get("GITHUB_REF"),
                   collected_at=collected_at(env, now=now))


def collected_at(env: Mapping[str, str], *, now: float | None = None) -> str:
    # SOURCE_DATE_EPOCH makes the manifest reproducible (tests, reproducible builds).
    epoch = env.get("SOURCE_DATE_EPOCH", "")
    seconds = int(epoch) if epoch.isdigit() else (time.time() if now is None else now)
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


# -- scrubbing -----------------------------------------------------------------------------------
def scrubber(workspace: Path, cwd: str | None, *, home: str | None = None,
             redact: Callable[[str], str] = redact_text) -> Callable[[str], str]:
    """Redaction, then the workspace (as given and resolved) and the session's cwd made relative,
    then the runner's home folder written `~` (relativize knows /home/<user>, not a self-hosted
    runner's /var/lib/runner)."""
    given = os.path.abspath(workspace)
    roots = list(repo_roots(cwd=cwd, repo_path=given))
    real = os.path.realpath(workspace)
    if real not in roots:
        roots.insert(1, real)
    home_dir = home.rstrip("/") if home and home.startswith("/") else ""
    in_home = re.compile(re.escape(home_dir) + r"(?=/|(?![\w.-]))") if home_dir else None

    def scrub(text: str) -> str:
        # Redaction first: it sees the text as the agent saw it. The workspace before the home
        # folder it usually lies in.
        text = relativize(redact(text), roots)
        return in_home.sub("~", text) if in_home is not None and home_dir in text else text
    return scrub


# -- the bundle ----------------------------------------------------------------------------------
class _Bundle:
    """The bundle being built in a staging folder, a session at a time."""

    def __init__(self, root: Path, *, workspace: Path, raw: bool, home: str | None, redactor: Redactor) -> None:
        self.root = root
        self.workspace = workspace
        self.home = home
        self.redactor = redactor
        self.redacted: Counter[str] = Counter()  # secrets replaced in sessions/, by kind
        self.raw = raw
        self.entries: list[dict[str, Any]] = []
        self.versions: dict[str, set[str]] = {}
        self.skipped: list[Skip] = []
        self.raw_files: list[str] = []
        self.raw_dropped: dict[str, int] = {}
        self.not_copied: list[dict[str, str]] = []
        self._names: set[str] = set()
        self._raw_seen: set[str] = set()
        self._keys: set[tuple[str, str, bool]] = set()

    def add(self, found: Found) -> None:
        session = found.session
        scrub = self.scrubber(session.cwd)
        counted = scrubber(self.workspace, session.cwd, home=self.home,
                           redact=lambda text: self.redactor.redact(text, self.redacted))
        # A session id is the transcript's to choose: redacted like every other string.
        stem = safe_name(self.redactor.redact(normalized.file_stem(session)))
        name, n = f"{stem}.jsonl", 1
        # The same session in two forms (execution file and transcript); ids differing only in
        # case would be one file on macOS.
        while name.casefold() in self._names:
            n += 1
            name = f"{stem}-{n}.jsonl"
        self._names.add(name.casefold())
        folder = self.root / SESSIONS_DIR
        folder.mkdir(exist_ok=True)
        (folder / name).write_bytes(normalized.dumps(session, scrub=counted))
        version = agent_version(session)
        self.versions.setdefault(session.agent, set())
        if version:
            self.versions[session.agent].add(version)
        self.entries.append({
            "file": f"{SESSIONS_DIR}/{name}", "agent": session.agent, "format": session.format,
            "session_id": scrub(session.session_id) if session.session_id else None, "subagent": session.subagent,
            "tool_calls": len(session.tool_calls), "errors": session.errors, "source": scrub(found.source.label),
            "agent_version": scrub(version) if version else None, "counted": self._first(session),
        })
        if self.raw:
            self._copy_raw(found, scrub)

    def scrubber(self, cwd: str | None) -> Callable[[str], str]:
        return scrubber(self.workspace, cwd, home=self.home, redact=self.redactor.redact)

    def _first(self, session: Session) -> bool:
        """Whether the session counts: the same session in two forms (a project transcript and
        claude-code-action's execution file) is kept in both, and counted once, as learn mines it."""
        if not session.session_id:
            return True
        key = (session.agent, session.session_id, session.subagent)
        if key in self._keys:
            return False
        self._keys.add(key)
        return True

    def _copy_raw(self, found: Found, scrub: Callable[[str], str]) -> None:
        src = Path(found.session.path)
        if found.session.path in self._raw_seen:
            return  # one file, several sessions (subagents of a stream, an OpenCode database)
        self._raw_seen.add(found.session.path)
        why = _not_copied(found.session, src)
        if why is not None:
            self.not_copied.append({"file": scrub(found.session.path), "reason": why})
            return
        rel = src.name if found.source.path == src else os.path.relpath(src, found.source.path)
        dest_rel = "/".join([RAW_DIR, *(safe_name(self.redactor.redact(part))
                                         for part in (*found.source.label.split("/"), *Path(rel).parts))])
        dest = self.root / dest_rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dropped = 0
        try:
            with open(src, "rb") as fin, open(dest, "wb") as fout:
                for _, line in iter_lines(fin, max_line=MAX_LINE_BYTES):
                    if line is None:
                        # Too long to redact in memory, and skipped by every reader: left out,
                        # an empty line in its place keeps the line numbers.
                        dropped += 1
                        fout.write(b"\n")
                        continue
                    # surrogateescape: bytes that are not UTF-8 pass through as they were.
                    fout.write(scrub(line.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape"))
        except OSError as exc:
            dest.unlink(missing_ok=True)
            self.not_copied.append({"file": scrub(found.session.path), "reason": f"cannot read: {exc.strerror or exc}"})
            return
        self.raw_files.append(dest_rel)
        if dropped:
            self.raw_dropped[dest_rel] = dropped

    def counted(self) -> list[dict[str, Any]]:
        return [e for e in self.entries if e["counted"]]


def _not_copied(session: Session, src: Path) -> str | None:
    """Why a session's file is not copied raw, or None when it is a line-based file of its own."""
    if session.format == "opencode-storage":
        return "OpenCode storage: one session spans many files"
    try:
        with open(src, "rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
    except OSError:
        return "inside an archive" if any(p.is_file() for p in src.parents) else "no longer there"
    if head == _SQLITE_MAGIC:
        return "a SQLite database, not line-based"
    return None


def _totals(entries: Sequence[dict[str, Any]]) -> dict[str, int]:
    return {"sessions": len(entries), "tool_calls": sum(e["tool_calls"] for e in entries),
            "errors": sum(e["errors"] for e in entries)}


def manifest_doc(bundle: _Bundle, *, repository: str | None, job: JobInfo) -> dict[str, Any]:
    scrub = bundle.scrubber(None)
    extra: dict[str, Any] = {
        "job": job.job, "workflow": job.workflow, "workflow_ref": job.workflow_ref, "ref": job.ref,
        "collected_at": job.collected_at, "collector": {"name": "headroom-ci", "version": __version__},
        "agents": {agent: sorted(v) for agent, v in sorted(bundle.versions.items())},
        "counts": {**_totals(bundle.counted()), "files": len(bundle.entries), "skipped": len(bundle.skipped)},
        "sessions": [{k: v for k, v in e.items() if k != "counted"} | {"duplicate": not e["counted"]}
                     for e in bundle.entries],
        "skipped": [{"path": scrub(s.path), "line": s.line, "reason": scrub(s.reason)}
                    for s in bundle.skipped[:MAX_SKIPS_LISTED]],
        "redacted": dict(sorted(bundle.redacted.items())),
    }
    if bundle.raw:
        extra["raw"] = {"files": bundle.raw_files, "not_copied": bundle.not_copied}
        if bundle.raw_dropped:
            extra["raw"]["lines_dropped"] = bundle.raw_dropped
    return manifest(repository=repository, run=job.run, extra=extra)


# -- the command ---------------------------------------------------------------------------------
def collect(settings: CollectSettings, *, job: JobInfo, out: TextIO,
            env: Mapping[str, str] = os.environ) -> int:
    workspace = settings.workspace
    if not workspace.is_dir():
        raise FatalError(f"--workspace {workspace}: no such folder")
    where = sources(workspace, runner_temp=settings.runner_temp, paths=settings.paths)
    _check_out(settings.out, where)
    try:
        settings.out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=settings.out.parent, prefix=f".{settings.out.name}."))
    except OSError as exc:
        raise FatalError(f"--out {settings.out}: cannot write there: {exc.strerror or exc}") from None
    try:
        bundle = _Bundle(staging, workspace=workspace, raw=settings.raw, home=settings.home,
                         redactor=settings.redactor)
        for item in find(where, workspace):
            if isinstance(item, Skip):
                bundle.skipped.append(item)
            else:
                bundle.add(item)
        if bundle.entries:
            doc = manifest_doc(bundle, repository=settings.repository, job=job)
            (staging / MANIFEST).write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            _replace(settings.out, staging)
    except OSError as exc:  # a full disk, a folder taken away: nothing half written is left
        raise FatalError(f"--out {settings.out}: cannot write the bundle: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _report(bundle, settings=settings, sources=where, out=out, env=env)
    return 0


def _check_out(dest: Path, where: Sequence[Source]) -> None:
    real = Path(os.path.realpath(dest))
    for source in where:
        root = Path(os.path.realpath(source.path))
        if real == root or root in real.parents:
            # Its files would be read while they are written.
            raise FatalError(f"--out {dest}: inside {source.path}, which is read: choose a folder outside it")
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise FatalError(f"--out {dest}: not a folder")
    if dest.is_dir() and any(dest.iterdir()) and not _is_bundle_folder(dest):
        raise FatalError(f"--out {dest}: not empty, and not a bundle of an earlier collect: choose a new folder")


def _is_bundle_folder(folder: Path) -> bool:
    try:
        return is_bundle(json.loads((folder / MANIFEST).read_bytes()[: 1 << 20]))
    except (OSError, ValueError):
        return False


def _replace(dest: Path, staging: Path) -> None:
    """`staging` becomes `dest`; an empty folder or an earlier bundle there is replaced."""
    if dest.is_dir():
        shutil.rmtree(dest)
    staging.chmod(0o755)  # mkdtemp's 0700 would keep the bundle from the job's other users
    os.rename(staging, dest)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _line(label: str, totals: Mapping[str, int]) -> str:
    return (f"{label}: {_plural(totals['sessions'], 'session')}, {_plural(totals['tool_calls'], 'tool call')}, "
            f"{totals['errors']} failed")


def summary_line(bundle: _Bundle, totals: Mapping[str, int], *, settings: CollectSettings) -> str:
    """The job summary's one line: sessions per agent, secrets redacted, where they went."""
    if not bundle.entries:
        return "**headroom-ci collect**: no agent sessions found: nothing uploaded"
    counted = bundle.counted()
    agents = ", ".join(f"{agent} {_totals([e for e in counted if e['agent'] == agent])['sessions']}"
                       for agent in sorted({e["agent"] for e in bundle.entries}))
    secrets = sum(bundle.redacted.values())
    where = (f"artifact {inert.code_span(settings.artifact)}" if settings.artifact
             else inert.code_span(str(settings.out)))
    return (f"**headroom-ci collect**: {_plural(totals['sessions'], 'session')} ({agents}), "
            f"{_plural(secrets, 'secret')} redacted → {where}")


def _report(bundle: _Bundle, *, settings: CollectSettings, sources: Sequence[Source], out: TextIO,
            env: Mapping[str, str]) -> None:
    counted = bundle.counted()
    for agent in sorted({e["agent"] for e in bundle.entries}):
        versions = sorted(bundle.versions.get(agent, ()))
        out.write(_line(agent, _totals([e for e in counted if e["agent"] == agent]))
                  + (f" (version {', '.join(versions)})" if versions else "") + "\n")
    totals = _totals(counted)
    if bundle.entries:
        out.write(_line("total", totals) + f"; {_plural(len(bundle.entries), 'file')} in {printable(str(settings.out))}\n")
    named = {str(Path(p)) for p in settings.paths}
    missing = [k for k in bundle.skipped if k.line is None and k.path in named and k.reason == "no such file or folder"]
    for skip in missing:
        # A path the workflow names is not there: a warning, not a failure, as the agent may have
        # stopped before writing it.
        actions.annotate("warning", f"{skip.path}: no such file or folder", title="headroom-ci collect",
                         out=out, env=env)
    others = [k for k in bundle.skipped if k not in missing]
    for skip in others[:10]:
        where = printable(skip.path) + (f":{skip.line}" if skip.line is not None else "")
        out.write(f"skipped {where}: {printable(skip.reason)}\n")
    if len(others) > 10:
        out.write(f"… and {len(others) - 10} more skipped (listed in {MANIFEST})\n")
    if not bundle.entries:
        looked = (f"looked in {', '.join(printable(str(s.path)) for s in sources)}" if sources
                  else "no agent's session folder exists on this machine")
        actions.annotate("notice", f"no agent sessions found for {settings.workspace}: nothing to upload ({looked})",
                         title="headroom-ci collect", out=out, env=env)
    actions.add_summary(summary_line(bundle, totals, settings=settings) + "\n", env=env)
    actions.set_outputs({
        "sessions": str(totals["sessions"]), "tool-calls": str(totals["tool_calls"]),
        "errors": str(totals["errors"]), "bundle-path": str(settings.out) if bundle.entries else "",
    }, env=env)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("collect", help="bundle this CI job's agent sessions, redacted, for upload",
                       description="Find the agent sessions this job produced (Claude Code, claude-code-action's "
                                   "execution file, Codex, Gemini CLI, OpenCode, plus PATHs) and write them, "
                                   "redacted and repo-relative, as a bundle folder with a manifest.json. Run it "
                                   "at the end of the agent's job with `if: always()`.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="more transcript files, folders or .zip to include whole")
    p.add_argument("--workspace", metavar="DIR",
                   help="the checkout the agent worked in (default: $GITHUB_WORKSPACE, else the current folder)")
    p.add_argument("--out", metavar="DIR",
                   help=f"the bundle folder to write (default: $RUNNER_TEMP/{DEFAULT_OUT}); it must be new, "
                        "empty, or an earlier bundle")
    p.add_argument("--raw", action="store_true",
                   help="also keep the original files under raw/, redacted line by line (not SQLite databases)")
    add_renamed(p, "--github-repo", "--repository", dest="repository", metavar="OWNER/NAME",
                help="the repository (default: $GITHUB_REPOSITORY)")
    p.add_argument("--artifact-name", metavar="NAME",
                   help="the artifact the bundle will be uploaded as, named in the job summary")


def settings_from(args: argparse.Namespace, env: Mapping[str, str]) -> CollectSettings:
    runner_temp = env.get("RUNNER_TEMP") or None
    out = args.out or (os.path.join(runner_temp, DEFAULT_OUT) if runner_temp else None)
    if not out:
        raise FatalError("--out DIR is required outside GitHub Actions (the default is under $RUNNER_TEMP)")
    workspace = args.workspace or env.get("GITHUB_WORKSPACE") or os.getcwd()
    return CollectSettings(out=Path(out), workspace=Path(workspace), paths=tuple(args.paths),
                           runner_temp=Path(runner_temp) if runner_temp else None, raw=args.raw,
                           repository=args.repository or env.get("GITHUB_REPOSITORY") or None,
                           home=env.get("HOME") or str(Path.home()),
                           # A secret the job holds in a variable is redacted wherever it shows up.
                           redactor=Redactor.from_config(env=env), artifact=args.artifact_name or None)


def from_args(args: argparse.Namespace) -> int:
    settings = settings_from(args, os.environ)
    actions.check_files()   # before the bundle is written: a collect that cannot report writes nothing
    return collect(settings, job=job_info(os.environ, repository=settings.repository), out=sys.stdout)
