"""``headroom-ci pr``: apply a plan as one pull request whose diff is only the marker block.

The plan is re-checked against the base as it is now: rules are merged into the base's current
file (never a stale copy over a newer one), rules a reviewer rejected before are left out, and a
branch someone else pushed to is left alone. Then: build one commit on the tip of base, push it
with a lease, and create, update or close the pull request.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace
from pathlib import Path
from pathlib import PurePosixPath
from typing import Literal
from typing import TextIO

from headroom_ci import __version__
from headroom_ci import actions
from headroom_ci.safety import inert
from headroom_ci import config
from headroom_ci import gitops
from headroom_ci.learning import merge
from headroom_ci.learning.block import BANNER_DATE
from headroom_ci.cli import add_renamed
from headroom_ci.cli import csv
from headroom_ci.cli import positive
from headroom_ci.commands.learn import today
from headroom_ci.errors import FatalError
from headroom_ci.errors import UsageError
from headroom_ci.fsio import decode
from headroom_ci.fsio import NotText
from headroom_ci.fsio import read_bytes
from headroom_ci.github import body as text
from headroom_ci.github.body import Proposal
from headroom_ci.github.body import Suppressed
from headroom_ci.github.client import connect
from headroom_ci.github.client import MAX_RATE_LIMIT_WAIT
from headroom_ci.github.client import GitHubSettings
from headroom_ci.github.client import resolve
from headroom_ci.github.pulls import Pull
from headroom_ci.github.pulls import missing_labels
from headroom_ci.github.pulls import Pulls
from headroom_ci.learning.plan import from_dict
from headroom_ci.learning.plan import Plan
from headroom_ci.learning.plan import PlanError
from headroom_ci.learning.plan import sha256
from headroom_ci.learning.plan import RuleChange
from headroom_ci.learning.propose import rules_of

DEFAULT_BRANCH = "headroom/learn"
# The Actions bot's own identity: GitHub shows its avatar and links no person to the commits.
BOT = gitops.Identity("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com")
# The identity headroom-ci committed as before: a branch it made then is still its own.
FORMER_BOT_EMAILS = frozenset({"headroom-ci@users.noreply.github.com"})
Operation = Literal["created", "updated", "closed", "unchanged", "skipped"]


@dataclass(frozen=True)
class PrSettings:
    plan: str | None = None      # the plan file (the `pr` command); `run` passes a Plan instead
    repo_path: str = "."
    base: str | None = None      # None: the repository's default branch
    branch: str = DEFAULT_BRANCH
    remote: str = "origin"
    labels: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    team_reviewers: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    draft: bool = False
    title: str | None = None
    dry_run: bool = False
    include_rejected: bool = False
    author: gitops.Identity = BOT
    github_repo: str | None = None
    token: str | None = None
    api_url: str | None = None
    max_wait: float = MAX_RATE_LIMIT_WAIT
    footer: text.Footer = text.Footer()   # what run read; the version and the run are filled in here
    config: str | None = None


@dataclass(frozen=True)
class PrResult:
    operation: Operation
    branch: str
    base: str
    number: int | None = None
    url: str | None = None
    suppressed: tuple[Suppressed, ...] = ()
    notes: tuple[str, ...] = ()   # what the reader should know: warnings, what was left out and why
    dry_run: bool = False

    def line(self) -> str:
        where = f" #{self.number} {self.url}" if self.number else ""
        dry = " (dry run: nothing pushed, nothing changed on GitHub)" if self.dry_run else ""
        return f"pull-request-operation: {self.operation}{where} ({self.branch} → {self.base}){dry}"


@dataclass(frozen=True)
class _State:
    """What the remote looks like right now."""
    base: str
    base_sha: str
    branch_sha: str | None
    ours_only: bool       # every commit of the branch beyond base is the bot's (or already merged)
    commits: int          # commits of the branch beyond base


def pr(*, settings: PrSettings, out: TextIO, env: Mapping[str, str] = os.environ) -> int:
    if not settings.plan:
        raise UsageError("--plan is required: the plan.json written by headroom-ci learn --plan-out")
    actions.check_files(env)
    result = open_pull_request(load_plan(settings.plan), settings=settings, out=out, env=env)
    out.write(result.line() + "\n")
    report_to_actions(result, env=env)
    return 0


def report_to_actions(result: PrResult, *, env: Mapping[str, str] = os.environ) -> None:
    """In GitHub Actions: the step's outputs, and the job summary with what was left out and why."""
    actions.set_outputs({"pull-request-operation": result.operation,
                         "pull-request-number": str(result.number or ""), "pull-request-url": result.url or "",
                         "pull-request-branch": result.branch}, env=env)
    actions.add_summary(summary(result), env=env)


def summary(result: PrResult) -> str:
    """The job summary: a heading, the pull request as a link, and what was left out and why."""
    branches = f"{inert.code_span(result.branch)} → {inert.code_span(result.base)}"
    if result.number and result.url and re.fullmatch(r"https://[\w.:-]+/[\w./%-]+", result.url):
        what = f"[#{result.number}]({result.url}) {result.operation} ({branches})"
    else:
        what = f"{result.operation} ({branches})"
    if result.dry_run:
        what += ": dry run, nothing pushed, nothing changed on GitHub"
    lines = ["## headroom-ci pull request", "", f"Pull request {what}", ""]
    lines += [f"- not proposed again (closed without merging in #{x.pull_number}): "
              f"{text.rule_cell(x.recommendation.content)}" for x in result.suppressed]
    return "\n".join(lines + [f"- {inert.markdown(note)}" for note in result.notes]) + "\n"


_NO_BASE = "the base branch {base} does not exist on {remote}: pass --base"


def where_to_propose(s: PrSettings, *, env: Mapping[str, str] = os.environ) -> GitHubSettings:
    """The repository, token and API the pull request goes to, every setting checked: `run`
    calls it before it learns, so a wrong remote or branch costs no fetch or model call."""
    if not os.path.isdir(s.repo_path):
        raise UsageError(f"--repo-path {s.repo_path}: no such folder")
    origin = gitops.origin_url(s.repo_path, s.remote)
    if origin is None:
        raise UsageError(f"{s.repo_path}: no git remote {s.remote!r}: run inside a clone of the repository")
    if not gitops.is_branch_name(s.repo_path, s.branch):
        raise UsageError(f"--branch {s.branch!r}: not a valid branch name")
    if s.base is not None and not gitops.is_branch_name(s.repo_path, s.base):
        raise UsageError(f"--base {s.base!r}: not a valid branch name")
    if s.base == s.branch:
        raise UsageError(f"--branch {s.branch} is the base branch: headroom-ci never pushes to the base")
    check_names(s)
    if s.base is not None and not gitops.remote_heads(s.repo_path, s.remote, [s.base]):
        raise UsageError(_NO_BASE.format(base=s.base, remote=s.remote))
    return resolve(repo=s.github_repo, token=s.token, api_url=s.api_url, origin_url=origin, env=env)


# GitHub's rules for a user name (legacy names may hold a double or a trailing hyphen) and a
# team's slug; a label's name is at most 50 characters.
_USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}")
_TEAM = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
MAX_LABEL = 50


def _bad_name(name: str, pattern: re.Pattern[str], *, team: bool) -> str | None:
    """Why `name` cannot be a user name (a team's slug), or None."""
    if pattern.fullmatch(name):
        return None
    if name.startswith("@") and pattern.fullmatch(name[1:]):
        return f"write it without the @: {name[1:]}"
    if "/" in name:
        return ("give its slug without the organization: " + name.rsplit("/", 1)[-1] if team
                else "a team goes in --team-reviewers, as its slug")
    return "letters, digits and hyphens only" if not team else "letters, digits, -, _ and . only"


def check_names(s: PrSettings) -> None:
    """Reviewers, assignees and labels GitHub would refuse, refused here, before any request:
    once the pull request is open they could only be warnings."""
    for flag, names, pattern, team in (("--reviewers", s.reviewers, _USER, False),
                                       ("--team-reviewers", s.team_reviewers, _TEAM, True),
                                       ("--assignees", s.assignees, _USER, False)):
        for name in names:
            why = _bad_name(name, pattern, team=team)
            if why is not None:
                raise UsageError(f"{flag} {name!r}: not a GitHub {'team' if team else 'user'} name ({why})")
    for label in s.labels:
        if len(label) > MAX_LABEL:
            raise UsageError(f"--labels {label!r}: longer than the {MAX_LABEL} characters GitHub allows a label")


def open_pull_request(plan: Plan, *, settings: PrSettings, out: TextIO,
                      env: Mapping[str, str] = os.environ) -> PrResult:
    """Everything `pr` does with a plan already in memory (what `run` calls)."""
    s = settings
    github = where_to_propose(s, env=env)
    pulls = Pulls(connect(github, max_wait=s.max_wait), github.repo)
    base = s.base or pulls.default_branch()
    if base == s.branch:
        raise UsageError(f"--branch {s.branch} is the base branch: headroom-ci never pushes to the base")
    state = _remote_state(s, base)
    result = PrResult("unchanged", s.branch, base, dry_run=s.dry_run)
    ledger = pulls.ledger(s.branch)
    current = pulls.open_pull(s.branch)
    if current is not None:
        result = replace(result, number=current.number, url=current.url)
        _announce(current, env)

    if state.branch_sha is not None and not state.ours_only and state.branch_sha not in ledger.merged_heads:
        # Human edits win: their commits are never pushed over, and they hear about it once.
        if current is not None and not s.dry_run and not pulls.has_comment(current, text.HUMAN_EDITS):
            pulls.comment(current, text.human_edits_comment(s.branch))
        note = (f"{s.branch} has commits not made by {s.author.name}: left alone; delete the branch "
                "to get a fresh proposal")
        out.write(note + "\n")
        return replace(result, operation="skipped", notes=(note,))

    rejected = {} if s.include_rejected else ledger.rejected
    files, remerged, notes, changes, suppressed = _contents(plan, s, state, rejected)
    for x in suppressed:
        out.write(f"not proposed again (closed without merging in #{x.pull_number}): {x.recommendation.content}\n")
    for note in notes:
        out.write(f"note: {note}\n")
    result = replace(result, suppressed=suppressed, notes=notes)

    if not files:
        if current is None:
            return result
        if not s.dry_run:
            pulls.close(current, comment=text.closed_comment(base), body=text.withdrawn(current.body))
            if state.branch_sha is not None:
                gitops.delete_branch(s.repo_path, remote=s.remote, branch=s.branch, expected=state.branch_sha)
        return replace(result, operation="closed")

    prefix = gitops.repo_prefix(s.repo_path)
    roles = {t.role for t in plan.targets if prefix + t.path in files}
    proposal = Proposal(plan, tuple(r for r in plan.recommendations if r.target in roles and r not in
                                    {x.recommendation for x in suppressed}),
                        suppressed, tuple(sorted(p.removeprefix(prefix) for p in files)), s.branch, base, remerged,
                        changes=tuple(c for c in changes if prefix + c.path in files),
                        footer=footer(s, env))
    pushed = _push(s, state, files, proposal)
    return _publish(pulls, s, current, proposal, pushed=pushed, result=result, out=out, env=env)


def footer(s: PrSettings, env: Mapping[str, str]) -> text.Footer:
    """The description's footer: this version, the workflow run doing this (in Actions), what was read."""
    server, repository, run_id = (env.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    run = f"{server.rstrip('/')}/{repository}/actions/runs/{run_id}" if server and repository and run_id else None
    config = s.config or env.get("HEADROOM_CI_CONFIG") or None
    if config and not os.path.isfile(os.path.join(s.repo_path, config)) and not os.path.isfile(config):
        config = None   # the default file, absent: nothing was read
    return replace(s.footer, version=__version__, learn_run=run, config=config)


def _announce(pull: Pull, env: Mapping[str, str]) -> None:
    # The step's outputs name the pull request as soon as there is one, so a failure later in
    # the run still leaves them for the steps after it.
    actions.set_outputs({"pull-request-number": str(pull.number), "pull-request-url": pull.url}, env=env)


def _publish(pulls: Pulls, s: PrSettings, current: Pull | None, proposal: Proposal, *, pushed: bool,
             result: PrResult, out: TextIO, env: Mapping[str, str]) -> PrResult:
    """Creates the pull request, or brings the open one up to date."""
    title, description = s.title or text.title(proposal), text.render(proposal)
    if s.dry_run:
        actions.untrusted(f"title: {title}\n\n{description}\n", out=out)
    if current is None:
        if s.dry_run:
            return replace(result, operation="created")
        current, created = pulls.create(branch=s.branch, base=proposal.base, title=title, body=description,
                                        draft=s.draft)
        result = replace(result, number=current.number, url=current.url)
        _announce(current, env)
        if created:  # (else a concurrent run opened it a moment ago: update that one)
            warnings = tuple(filter(None, [*pulls.request_reviews(current, s.reviewers, s.team_reviewers),
                                           pulls.assign(current, s.assignees), pulls.add_labels(current, s.labels)]))
            for w in warnings:
                out.write(f"warning: {w}\n")
            return replace(result, operation="created", notes=result.notes + warnings)
    edit = (current.title, current.body, current.base) != (title, description, proposal.base)
    labels = bool(missing_labels(current, s.labels))
    if not s.dry_run:
        if edit:
            current = pulls.edit(current, title=title, body=description, base=proposal.base)
        warning = pulls.add_labels(current, s.labels)
        if warning is not None:
            out.write(f"warning: {warning}\n")
            result = replace(result, notes=result.notes + (warning,))
    return replace(result, operation="updated" if pushed or edit or labels else "unchanged")


def _remote_state(s: PrSettings, base: str) -> _State:
    heads = gitops.remote_heads(s.repo_path, s.remote, [base, s.branch])
    if base not in heads:
        raise UsageError(_NO_BASE.format(base=base, remote=s.remote))
    gitops.fetch(s.repo_path, s.remote, base, s.branch if s.branch in heads else None)
    base_sha = gitops.rev(s.repo_path, f"refs/remotes/{s.remote}/{base}")
    if s.branch not in heads:
        return _State(base, base_sha, None, True, 0)
    branch_sha = gitops.rev(s.repo_path, f"refs/remotes/{s.remote}/{s.branch}")
    commits = gitops.commits_between(s.repo_path, base_sha, branch_sha)
    gitops.deepen(s.repo_path, s.remote, s.branch)  # only now: see its docstring
    bots = {s.author.email.lower()} | FORMER_BOT_EMAILS
    ours = all(c.author.email.lower() in bots and c.committer.email.lower() in bots for c in commits)
    return _State(base, base_sha, branch_sha, ours, len(commits))


def _contents(plan: Plan, s: PrSettings, state: _State, rejected: Mapping[str, int]) -> tuple[
        dict[str, str], tuple[str, ...], tuple[str, ...], tuple[RuleChange, ...], tuple[Suppressed, ...]]:
    """tree path → new text for the files that change; the files re-merged onto a newer base; notes;
    what the change does to each rule; the rules left out as rejected before.

    Always a merge of the plan's rules into the base's file as it is now, so a base that moved
    keeps its newer content; when the base has not moved, that merge must be the plan's own
    new content, which proves the plan was not edited into touching more than the block.
    A closed pull request rejects only the rules it would have added: a rule on the base stays.
    """
    files: dict[str, str] = {}
    remerged: list[str] = []
    notes: list[str] = []
    changes: list[RuleChange] = []
    suppressed: list[Suppressed] = []
    for target in plan.targets:
        p = PurePosixPath(target.path)
        if p.is_absolute() or ".." in p.parts or p.suffix.lower() != ".md" or "\\" in target.path:
            notes.append(f"{target.path}: not a markdown file inside the repository, left out of the pull request")
            continue
        path = gitops.repo_prefix(s.repo_path) + target.path  # plan paths are relative to --repo-path
        where = f"{target.path} on {state.base}"
        old = gitops.read_file(s.repo_path, state.base_sha, path)
        current = merge.read(old, source=where)
        in_effect = {r.fingerprint for r in current.in_effect}
        mine = [r for r in plan.recommendations if r.target == target.role]
        left = [Suppressed(r, rejected[r.fingerprint]) for r in mine
                if r.fingerprint in rejected and r.fingerprint not in in_effect]
        suppressed += left
        recs = [r for r in mine if r.fingerprint not in {x.recommendation.fingerprint for x in left}]
        planned_changes = [c for c in plan.changes if c.path == target.path]
        stamp = BANNER_DATE.search(target.new_content or "")
        merged = merge.merge(current, rules_of(recs, plan.findings),
                             date=stamp.group(1) if stamp else today(), source=where,
                             retire={c.fingerprint: c.reason or "" for c in planned_changes if c.status == "retired"},
                             reword={c.fingerprint for c in planned_changes if c.status == "reworded"},
                             revive={c.fingerprint for c in planned_changes if c.status == "added"})
        new = merged.text if merged.text is not None else old
        if sha256(old) != target.base_sha256:
            if new != old:  # (a base that already holds the rules is no news)
                remerged.append(target.path)
                notes.append(f"{where} changed since the plan was made: its rules were merged into the current file")
        elif not left:
            planned = target.new_content if target.new_content is not None else old
            if new != planned:
                raise FatalError(f"{s.plan or 'the plan'}: the new content of {target.path} is not the merge of the "
                                 "plan's rules into it (was the plan edited?): make it again with headroom-ci learn "
                                 "--plan-out")
        if new is not None and new != old:
            files[path] = new
        changes += [RuleChange(target.path, c.status, c.fingerprint, c.section, c.content, c.before, c.reason)
                    for c in merged.changes]
    return files, tuple(remerged), tuple(notes), tuple(changes), tuple(suppressed)


def _push(s: PrSettings, state: _State, files: dict[str, str], proposal: Proposal) -> bool:
    """Puts the proposal on the branch; False when the branch already holds exactly it."""
    if state.branch_sha is not None and state.commits == 1 and gitops.holds_change(
            s.repo_path, tip=state.branch_sha, base=state.base_sha, files=files):
        return False
    tree = gitops.build_tree(s.repo_path, parent=state.base_sha, files=files)
    commit = gitops.commit_tree(s.repo_path, tree=tree, parent=state.base_sha, message=text.commit_message(proposal),
                                author=s.author)
    if s.dry_run:
        return True
    return gitops.push_branch(s.repo_path, remote=s.remote, branch=s.branch, sha=commit,
                              expected=state.branch_sha).action != "unchanged"


# -- the plan file ---------------------------------------------------------------------------------
# (Reading belongs beside plan.to_dict; it lives here until plan.py grows a from_dict.)
def load_plan(path: str) -> Plan:
    again = "write the plan again with headroom-ci learn --plan-out"
    try:
        data = read_bytes(Path(path))
        text = None if data is None else decode(data)
    except FatalError as exc:  # a FIFO, a folder
        raise PlanError(f"{exc}: {again}") from None
    except NotText as exc:
        raise PlanError(f"{path}{exc.where}: {exc.problem}: {again}") from None
    if text is None:
        raise PlanError(f"{path}: no such plan file: write one with headroom-ci learn --plan-out {path}")
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise PlanError(f"{path}: not a readable plan ({exc}): write it again with headroom-ci learn --plan-out") from None
    return from_dict(doc, source=path)


# -- command line ----------------------------------------------------------------------------------
def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "pr", help="open or update the pull request that applies a plan",
        description="Apply a plan (learn --plan-out) as one pull request whose diff is only the marker block: create, "
                    "update, or close it when nothing is left; leave a branch with others' commits alone; never "
                    "propose again a rule closed without merging. Prints pull-request-operation: created|updated|"
                    "closed|unchanged|skipped.")
    p.add_argument("--plan", required=True, metavar="FILE", help="the plan.json to apply")
    p.add_argument("--repo-path", default=".", metavar="DIR", help="the clone to build the branch in (default: .)")
    add_pr_arguments(p)
    config.add_argument(p)


def add_pr_arguments(p: argparse._ActionsContainer) -> None:
    """The options pr shares with run (all but --plan and --repo-path)."""
    p.add_argument("--base", metavar="BRANCH", help="branch to propose into (default: the repository's default)")
    p.add_argument("--branch", default=DEFAULT_BRANCH, metavar="BRANCH", help="the proposal branch (default: %(default)s)")
    p.add_argument("--remote", default="origin", metavar="NAME", help="git remote to push to (default: %(default)s)")
    p.add_argument("--labels", type=csv, default=(), metavar="L,...", help="labels to add")
    p.add_argument("--reviewers", type=csv, default=(), metavar="USER,...", help="reviewers, requested once")
    p.add_argument("--team-reviewers", type=csv, default=(), metavar="TEAM,...", help="team reviewers (slugs)")
    p.add_argument("--assignees", type=csv, default=(), metavar="USER,...", help="assignees")
    p.add_argument("--draft", action="store_true", help="open the pull request as a draft")
    p.add_argument("--title", metavar="TEXT", help="pull request title (default: one naming the rules and files)")
    p.add_argument("--dry-run", action="store_true", help="print what would happen; push nothing, change nothing")
    p.add_argument("--include-rejected", action="store_true",
                   help="propose rules again even if a pull request holding them was closed without merging")
    p.add_argument("--author-name", default=BOT.name, metavar="NAME",
                   help="commit author and committer (default: %(default)s)")
    p.add_argument("--author-email", default=BOT.email, metavar="EMAIL", help="their email (default: %(default)s)")
    p.add_argument("--github-repo", metavar="OWNER/NAME",
                   help="the repository (default: $GITHUB_REPOSITORY, else the remote's URL)")
    add_renamed(p, "--github-token", "--token", dest="token", metavar="TOKEN",
                help="token with contents: write and pull-requests: write (default: $GITHUB_TOKEN, else $GH_TOKEN, "
                     "else `gh auth token`)")
    p.add_argument("--api-url", metavar="URL", help="GitHub API URL (default: $GITHUB_API_URL, else api.github.com)")
    p.add_argument("--max-rate-limit-wait", type=positive, default=int(MAX_RATE_LIMIT_WAIT), metavar="SECONDS",
                   help="stop rather than wait longer than this in all for rate limits (default: %(default)s)")


def settings_from_args(args: argparse.Namespace, *, plan: str | None = None) -> PrSettings:
    return PrSettings(
        plan=plan or args.plan, repo_path=args.repo_path, base=args.base, branch=args.branch, remote=args.remote,
        labels=args.labels, reviewers=args.reviewers, team_reviewers=args.team_reviewers, assignees=args.assignees,
        draft=args.draft, title=args.title, dry_run=args.dry_run, include_rejected=args.include_rejected,
        author=gitops.Identity(args.author_name, args.author_email), github_repo=args.github_repo,
        token=args.token, api_url=args.api_url, max_wait=float(args.max_rate_limit_wait),
        config=getattr(args, "config", None))


def from_args(args: argparse.Namespace, *, out: TextIO | None = None, env: Mapping[str, str] = os.environ) -> int:
    return pr(settings=settings_from_args(args), out=out or sys.stdout, env=env)
