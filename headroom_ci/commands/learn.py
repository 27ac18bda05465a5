from __future__ import annotations

import argparse
import dataclasses
import errno
import json
import os
import sys
import time
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone
from pathlib import Path
from typing import TYPE_CHECKING
from typing import TextIO

from headroom_ci import actions
from headroom_ci import config
from headroom_ci import gitops
from headroom_ci import llm
from headroom_ci.learning import render
from headroom_ci.cli import positive
from headroom_ci.cli import repo_root
from headroom_ci.errors import FatalError
from headroom_ci.fsio import read_manifests
from headroom_ci.fsio import read_text
from headroom_ci.fsio import write_text
from headroom_ci.llm import LLMFlags
from headroom_ci.llm import LLMSettings
from headroom_ci.mining.findings import Miner
from headroom_ci.mining.findings import Thresholds
from headroom_ci.learning import efficacy
from headroom_ci.learning import merge
from headroom_ci.learning import retire
from headroom_ci.learning import tombstones
from headroom_ci.learning.efficacy import RunLog
from headroom_ci.learning.plan import Plan
from headroom_ci.learning.plan import to_dict
from headroom_ci.learning.propose import Lifecycle
from headroom_ci.learning.propose import propose
from headroom_ci.learning.propose import TargetFile
from headroom_ci.safety.commands import facts_from
from headroom_ci.sessions.discover import local_sessions
from headroom_ci.sessions.load import iter_paths
from headroom_ci.sessions.model import Session

if TYPE_CHECKING:
    from headroom_ci.llm.analyze import Report

CONTEXT_FILES = ("AGENTS.md", "CLAUDE.md", "CLAUDE.local.md", "GEMINI.md")
FORMATS = ("text", "json", "markdown")


@dataclass(frozen=True)
class LearnSettings:
    paths: tuple[str, ...] | None     # None: this machine's own sessions of the repository
    repo_path: str = "."
    target: str | None = None
    memory_target: str | None = None
    apply: bool = False
    plan_out: str | None = None
    format: str = "text"
    max_block_tokens: int = 1500
    thresholds: Thresholds = Thresholds()
    llm: LLMFlags = LLMFlags()
    include_rejected: bool = False
    retire_after: int | None = None   # days


def target_path(repo: Path, target: str | None) -> Path:
    """--target, else AGENTS.md when it exists, else CLAUDE.md when it exists, else a new AGENTS.md."""
    if target:
        return Path(target) if os.path.isabs(target) else repo / target
    for name in ("AGENTS.md", "CLAUDE.md"):
        if (repo / name).is_file():
            return repo / name
    return repo / "AGENTS.md"


def contained(repo: Path, path: Path, *, flag: str, given: str) -> Path:
    """`path` with its symlinks followed (a write goes to the file the link names, the link stays
    a link), refused unless it is a file (or a new one) inside the repository."""
    name = f"{flag} {given}" if flag else given
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a link to itself, or a loop of links (a dangling link is a new file)
            raise FatalError(f"{name}: a link in a loop of links: point it at a file") from None
    real = Path(os.path.realpath(path))
    top = Path(os.path.realpath(repo))
    if real != top and top not in real.parents:
        where = f" (a link to {real})" if os.path.islink(path) else ""
        raise FatalError(f"{name}: outside the repository {top}{where}: name a file inside it")
    if real.is_dir():
        raise FatalError(f"{name}: is a folder: name a markdown file such as {given.rstrip('/')}/AGENTS.md")
    return real


def today() -> str:
    # SOURCE_DATE_EPOCH makes the date reproducible (tests, reproducible builds).
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    return time.strftime("%Y-%m-%d", time.gmtime(int(epoch) if epoch and epoch.isdigit() else None))


def mine(items: Iterable[Session | object], *, repo_path: str | None,
         runs: RunLog | None = None) -> tuple[Miner, int]:
    """Findings of every session read once: the Miner merges a session read twice or split in two
    (a project transcript and claude-code-action's execution file, a resumed session) by call id."""
    miner = Miner(repo_path=repo_path)
    skipped = 0
    for item in items:
        if not isinstance(item, Session):
            skipped += 1
            continue
        miner.add(item)
        if runs is not None:
            runs.add(item)
    return miner, skipped


def _relative(path: Path, repo: Path) -> str:
    try:
        return path.resolve().relative_to(repo.resolve()).as_posix()
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class Learned:
    plan: Plan
    olds: list[str | None]          # the target files as they were, in plan.targets order
    files: list[Path]               # where they are on disk
    report: Report | None = None    # the LLM analyzer's, when it ran


@dataclass(frozen=True)
class Checked:
    """learn's settings, every one checked that can be without reading a session or asking a model."""
    repo: Path
    llm: LLMSettings | None
    files: dict[str, Path]          # role → the file its rules go to
    targets: dict[str, TargetFile]  # role → that file as it is now


def check(settings: LearnSettings, *, env: Mapping[str, str] = os.environ) -> Checked:
    """Run first, by learn and by `run` before it fetches: a wrong setting costs no download and
    no model call."""
    repo = Path(settings.repo_path)
    if not repo.is_dir():
        raise FatalError(f"--repo-path {settings.repo_path}: no such folder")
    if settings.format not in FORMATS:
        raise FatalError(f"--format {settings.format}: choose one of {', '.join(FORMATS)}")
    llm_settings = llm.resolve(settings.llm, env)
    files = {"context": contained(repo, target_path(repo, settings.target), flag="--target" if settings.target else "",
                                  given=settings.target or target_path(repo, None).name)}
    if settings.memory_target:
        files["memory"] = contained(repo, target_path(repo, settings.memory_target), flag="--memory-target",
                                    given=settings.memory_target)
    if settings.plan_out:
        writable(settings.plan_out, flag="--plan-out")
    # Read now, and their blocks parsed: a file that is not UTF-8 or a broken block is named before
    # any session is fetched or read.
    targets = {role: TargetFile(_relative(p, repo), read_text(p)) for role, p in files.items()}
    for t in targets.values():
        merge.read(t.text, source=t.path)
    return Checked(repo, llm_settings, files, targets)


def writable(path: str, *, flag: str) -> None:
    """A file that can be written at `path` (its missing folders made): not a folder, and the
    nearest folder that exists can be written in."""
    target = Path(path)
    if target.is_dir():
        raise FatalError(f"{flag} {path}: is a folder: name a file such as {path.rstrip('/')}/headroom-plan.json")
    parent = target.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise FatalError(f"{flag} {path}: {parent} is a file, not a folder")
    if not os.access(target if target.exists() else parent, os.W_OK):
        raise FatalError(f"{flag} {path}: cannot write there (permission denied)")


def make_plan(settings: LearnSettings, *, notes: TextIO = sys.stderr, env: Mapping[str, str] = os.environ,
              checked: Checked | None = None) -> Learned:
    """Read, mine and propose: everything learn does short of writing and printing; what was
    set aside is said on `notes`. `checked`: what check() gave for these settings, when the caller
    ran it already (run does, before it fetches)."""
    checked = checked or check(settings, env=env)
    repo, llm_settings, files, targets = checked.repo, checked.llm, checked.files, checked.targets
    missing = [p for p in settings.paths or () if not os.path.exists(p)]
    if missing:
        raise FatalError(f"{missing[0]}: no such file or folder")
    # Efficacy counts only the failures of rules already in effect: none, no second look at the sessions.
    wanted = {r.failure for t in targets.values() for r in merge.read(t.text, source=t.path).in_effect if r.failure}

    items = iter_paths(settings.paths) if settings.paths is not None else local_sessions(repo.resolve())
    runs = RunLog(repo_path=str(repo.resolve()), failures=frozenset(wanted))
    miner, skipped = mine(items, repo_path=str(repo.resolve()), runs=runs)
    if miner.stats().sessions == 0 and settings.paths is None:
        raise FatalError(f"no agent sessions found for {repo.resolve()} (looked in {where_looked()}): "
                         "pass transcript files or folders")
    aside = miner.set_aside()
    if aside:
        # Repository names come from the sessions' folders: transcript text, fenced in a job log.
        actions.untrusted("set aside, sessions of other repositories or of none: "
                          + ", ".join(f"{name} ({n})" for name, n in aside) + "\n", out=notes)
    findings = miner.findings(settings.thresholds)
    facts = facts_from(read_manifests(repo))  # what the repository names, for both screens
    analysis = None
    if llm_settings is not None:
        from headroom_ci.llm.analyze import analyze  # the openai SDK is loaded only when asked for
        analysis = analyze(findings, miner.stats(), settings=llm_settings, targets=targets, repo=repo, facts=facts)
    plan = propose(findings, miner.stats(), repo=str(repo), targets=targets,
                   date=today(), max_tokens=settings.max_block_tokens, skipped=skipped,
                   candidates=analysis.candidates if analysis else None,
                   rejected=analysis.rejected if analysis else (),
                   lifecycles={role: lifecycle(repo, t, runs, retire_after=settings.retire_after)
                               for role, t in targets.items()},
                   include_removed=settings.include_rejected, facts=facts)
    report = analysis.report if analysis else None
    if report is not None:
        plan = dataclasses.replace(plan, llm=report.to_dict())
    return Learned(plan, [t.text for t in targets.values()], list(files.values()), report)


def where_looked() -> str:
    """The agents' folders local discovery reads, for a message."""
    from headroom_ci.sessions.discover import agent_homes
    return ", ".join(f"{agent} {path}" for agent, path in agent_homes().items())


def lifecycle(repo: Path, target: TargetFile, runs: RunLog, *, retire_after: int | None) -> Lifecycle:
    """What the repository and its history say about the rules already in the target's block."""
    current = merge.read(target.text, source=target.path)
    inside = not os.path.isabs(target.path) and ".." not in Path(target.path).parts
    history = gitops.file_history(repo, target.path) if inside else []
    since = efficacy.since_dates((v.committed_at if v.complete else None, v.text) for v in history)
    effects = efficacy.measure(current.in_effect, since, runs.runs)
    facts = retire.Facts(exists=lambda p: _exists(repo, p), defined=lambda m: _names(repo, m))
    # Only a full checkout says what the repository lacks: not a folder outside git, a clone with no
    # commit yet, or a sparse checkout whose other folders are simply not there.
    checked_out = gitops.is_full_checkout(repo)
    retiring = retire.contradicted(current.in_effect, facts) if checked_out else {}
    if retire_after:
        now = datetime.strptime(today(), "%Y-%m-%d").replace(tzinfo=timezone.utc)
        retiring = {**retire.unseen(current.in_effect, since=since, last_seen=efficacy.last_seen(runs.runs), now=now,
                                    days=retire_after), **retiring}
    return Lifecycle(retire=retiring, reword=frozenset(e.fingerprint for e in effects if e.status == "recurring"),
                     tombstones=tombstones.from_history(history, current.record), effects=tuple(effects),
                     contradicts=lambda content: retire.contradiction(content, facts) if checked_out else None)



def _names(repo: Path, manifest: str) -> frozenset[str] | None:
    text = read_text(repo / manifest) if _exists(repo, manifest) else None
    return None if text is None else retire.manifest_names(manifest, text)


def _exists(repo: Path, path: str) -> bool:
    # Only inside the repository: a rule's text is not a licence to look elsewhere.
    p = Path(path.rstrip("/"))
    return not p.is_absolute() and ".." not in p.parts and (repo / p).exists()


def write_plan(plan: Plan, path: str) -> None:
    write_text(Path(path), json.dumps(to_dict(plan), indent=2, ensure_ascii=False) + "\n")


def learn(*, settings: LearnSettings, out: TextIO) -> int:
    actions.check_files()
    learned = make_plan(settings)
    plan = learned.plan
    if settings.apply:
        for change, path in zip(plan.targets, learned.files, strict=True):
            if change.new_content is not None:
                write_text(path, change.new_content)
    if settings.plan_out:
        write_plan(plan, settings.plan_out)
    _print(plan, learned.olds, settings=settings, out=out, llm_report=learned.report)
    report_to_actions(plan, learned.olds, plan_path=settings.plan_out, llm_report=learned.report)
    return 0


def report_to_actions(plan: Plan, olds: list[str | None], *, plan_path: str | None,
                      llm_report: Report | None = None, env: Mapping[str, str] = os.environ) -> None:
    """In GitHub Actions: the step's outputs and the job summary; elsewhere nothing."""
    actions.set_outputs({
        "sessions": str(plan.stats.sessions), "failures": str(plan.stats.failures),
        "recommendations": str(len(plan.recommendations)), "plan-path": plan_path or "",
    }, env=env)
    actions.add_summary(render.markdown(plan, olds=olds) + (f"\n{llm_report.line()}\n" if llm_report else ""),
                        env=env)


def _print(plan: Plan, olds: list[str | None], *, settings: LearnSettings, out: TextIO,
           llm_report: Report | None = None) -> None:
    tail = f"\n{llm_report.line()}\n" if llm_report else ""
    if settings.format == "json":
        # Every line of indented JSON starts with a space or a bracket: it holds no workflow
        # command, and a redirected plan must stay plain JSON.
        doc = to_dict(plan)
        doc["diffs"] = [render.diff(c, old) for c, old in zip(plan.targets, olds, strict=True)]
        out.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    elif settings.format == "markdown":
        actions.untrusted(render.markdown(plan, olds=olds) + tail, out=out)
    else:
        actions.untrusted(render.text(plan, olds=olds, applied=settings.apply, plan_out=settings.plan_out) + tail, out=out)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("learn", help="mine recurring failures and propose rules (dry run by default)",
                       description="Mine agent sessions for recurring, preventable failures and their fixes, "
                                   "and merge rules into the context file's headroom:learn block. "
                                   "Writes nothing unless --apply.")
    p.add_argument("paths", nargs="*", metavar="SESSIONS",
                   help="transcript files, folders or .zip (default: this repo's local agent sessions)")
    add_learn_arguments(p)
    p.add_argument("--apply", action="store_true", help="write the change")
    p.add_argument("--plan-out", metavar="FILE", help="write the plan as JSON for `headroom-ci pr`")
    p.add_argument("--format", choices=FORMATS, default="text", metavar="|".join(FORMATS),
                   help="how the plan is printed (default: %(default)s)")
    p.add_argument("--include-rejected", action="store_true",
                   help="propose again rules a person deleted from the block on the base branch")
    config.add_argument(p)


def add_learn_arguments(p: argparse._ActionsContainer) -> None:
    """The options learn shares with run."""
    p.add_argument("--repo-path", metavar="DIR", default=repo_root(), help="the repository (default: the git repository of the current folder, else .)")
    p.add_argument("--target", metavar="FILE", help="context file: AGENTS.md, CLAUDE.md, CLAUDE.local.md, GEMINI.md or a path "
                                    "(default: AGENTS.md if it exists, else CLAUDE.md if it exists, else AGENTS.md)")
    p.add_argument("--memory-target", metavar="FILE", help="memory file for session-level preferences (default: none)")
    p.add_argument("--max-block-tokens", type=positive, default=1500, metavar="N",
                   help="token budget of the block (default: %(default)s)")
    p.add_argument("--min-sessions", type=positive, default=2, metavar="N",
                   help="sessions a failure must recur in (distinct CI runs when runs are known; "
                        "a subagent counts with its parent; default: %(default)s)")
    p.add_argument("--min-fixes", type=positive, default=2, metavar="N",
                   help="sessions (or CI runs) its fix must be seen in (default: %(default)s)")
    p.add_argument("--retire-after", type=positive, metavar="DAYS",
                   help="also propose removing rules whose failure no run of the last DAYS days had (default: never)")
    llm.add_arguments(p)


def settings_from(args: argparse.Namespace, *, paths: tuple[str, ...] | None) -> LearnSettings:
    return LearnSettings(
        paths=paths, repo_path=args.repo_path, target=args.target, memory_target=args.memory_target,
        apply=getattr(args, "apply", False), plan_out=getattr(args, "plan_out", None),
        format=getattr(args, "format", "text"), max_block_tokens=args.max_block_tokens,
        thresholds=Thresholds(min_sessions=args.min_sessions, min_fixes=args.min_fixes),
        llm=llm.flags_from(args), include_rejected=getattr(args, "include_rejected", False),
        retire_after=getattr(args, "retire_after", None))


def from_args(args: argparse.Namespace) -> int:
    return learn(settings=settings_from(args, paths=tuple(args.paths) or None), out=sys.stdout)
