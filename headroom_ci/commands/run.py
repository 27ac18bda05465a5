"""`headroom-ci run`: fetch → learn → pr with one set of options (what the GitHub Action runs)."""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from collections.abc import Mapping
from datetime import datetime
from datetime import timezone
from pathlib import Path
from typing import TextIO

from headroom_ci import actions
from headroom_ci import config
from headroom_ci import gitops
from headroom_ci.cli import add_renamed
from headroom_ci.learning import render
from headroom_ci.cli import csv
from headroom_ci.cli import positive
from headroom_ci.commands import learn as learn_cmd
from headroom_ci.commands import pr as pr_cmd
from headroom_ci.commands.fetch import DEFAULT_JOBS
from headroom_ci.commands.fetch import DEFAULT_MAX_RUNS
from headroom_ci.commands.fetch import FetchSettings
from headroom_ci.commands.fetch import run_fetch
from headroom_ci.commands.fetch import STATUSES
from headroom_ci.errors import FatalError
from headroom_ci.safety import inert
from headroom_ci.github.body import Footer
from headroom_ci.github.artifacts import DEFAULT_GLOB
from headroom_ci.github.artifacts import parse_since
from headroom_ci.github.artifacts import Query
from headroom_ci.github.client import resolve


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "run", help="fetch sessions, learn, and open or update the pull request",
        description="fetch → learn → pr in one step. --sessions-path DIR reads a local folder instead of fetching; "
                    "--dry-run stops after the plan (no pull request, no write permission needed).")
    g = p.add_argument_group("sessions")
    add_renamed(g, "--sessions-path", "--sessions", dest="sessions", metavar="DIR",
                help="read sessions from this folder instead of fetching")
    g.add_argument("--out", metavar="DIR",
                   help="where fetched bundles go (default: $RUNNER_TEMP/headroom-sessions in Actions, else "
                        "~/.cache/headroom-ci/OWNER/NAME/sessions)")
    add_renamed(g, "--workflows", "--workflow", dest="workflow", action="append", type=csv, default=[],
                metavar="FILE|ID",
                   help="only runs of this workflow; repeatable")
    add_renamed(g, "--artifact-pattern", "--artifact", dest="artifact", default=DEFAULT_GLOB, metavar="GLOB",
                help="artifact names (default: %(default)s)")
    g.add_argument("--since", metavar="14d|DATE", help="only runs created since (default: 14d)", default="14d")
    g.add_argument("--branch-filter", metavar="BRANCH", help="only runs on this branch")
    g.add_argument("--include-fork-runs", action="store_true",
                   help="also runs of fork pull requests and of events outsiders can set off (see fetch --help)")
    g.add_argument("--status", choices=STATUSES, metavar="success|failure|completed|…", help="only runs with this status")
    g.add_argument("--max-runs", type=positive, default=DEFAULT_MAX_RUNS, metavar="N",
                   help="the N most recent runs that uploaded sessions (default: %(default)s)")
    g.add_argument("--jobs", type=positive, default=DEFAULT_JOBS, metavar="N", help="downloads at a time (default: %(default)s)")
    learn_cmd.add_learn_arguments(p)
    p.add_argument("--plan-out", metavar="FILE", help="where the plan goes (default: beside the sessions)")
    pr_cmd.add_pr_arguments(p)
    config.add_argument(p)


def sessions_dir(*, out: str | None, repository: str, env: Mapping[str, str]) -> Path:
    """--out, else the job's temp folder in Actions, else a cache folder per repository: a second
    run on this machine downloads only the artifacts it has not seen."""
    if out:
        return Path(out)
    if env.get("RUNNER_TEMP"):
        return Path(env["RUNNER_TEMP"]) / "headroom-sessions"
    cache = env.get("XDG_CACHE_HOME") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".cache")
    owner, _, name = repository.partition("/")
    return Path(cache) / "headroom-ci" / owner / name / "sessions"


def run(args: argparse.Namespace, *, out: TextIO, env: Mapping[str, str] = os.environ) -> int:
    # Every setting first, before any request to GitHub or a model and before learning: the
    # runner's files, the remote, the branches, the repository and the token, learn's settings.
    actions.check_files(env)
    plan_out = args.plan_out
    if not args.dry_run:
        pr_settings = pr_cmd.settings_from_args(args, plan=plan_out or "headroom-plan.json")
        pr_cmd.where_to_propose(pr_settings, env=env)
    checked = learn_cmd.check(learn_cmd.settings_from(args, paths=None), env=env)
    if args.sessions:
        sessions = Path(args.sessions)
        if not sessions.is_dir():
            raise FatalError(f"--sessions-path {args.sessions}: no such folder")
        bundles = [sessions]
    else:
        since = parse_since(args.since, now=datetime.now(timezone.utc)) if args.since else None
        origin = None if args.github_repo or env.get("GITHUB_REPOSITORY") else gitops.origin_url(args.repo_path)
        github = resolve(repo=args.github_repo, token=args.token, api_url=args.api_url, origin_url=origin, env=env)
        sessions = sessions_dir(out=args.out, repository=github.repo, env=env)
        query = Query(workflows=tuple(w for group in args.workflow for w in group), glob=args.artifact,
                      since=since, branch=args.branch_filter, status=args.status, max_runs=args.max_runs,
                      forks=args.include_fork_runs)
        report = run_fetch(settings=FetchSettings(github=github, out=sessions, query=query, jobs=args.jobs,
                                                  max_wait=float(args.max_rate_limit_wait)), out=out, env=env)
        if report.results and all(r.status == "failed" for r in report.results):
            raise FatalError("every artifact download failed: see the lines above")
        # Only this window's bundles: the folder may keep older ones from an earlier run.
        bundles = [sessions / r.artifact.folder for r in report.results if (sessions / r.artifact.folder).is_dir()]

    plan_out = plan_out or str(sessions.parent / "headroom-plan.json")
    with actions.group("learn", out=out, env=env):
        # None of them (nothing matched) is no sessions, never the folder's older ones or this machine's own.
        learned = learn_cmd.make_plan(learn_cmd.settings_from(args, paths=tuple(str(p) for p in bundles)), env=env,
                                      checked=checked)
        learn_cmd.write_plan(learned.plan, plan_out)
        actions.untrusted(render.text(learned.plan, olds=learned.olds, applied=False, closing=False), out=out, env=env)
    learn_cmd.report_to_actions(learned.plan, learned.olds, plan_path=plan_out, llm_report=learned.report, env=env)

    if args.dry_run:
        out.write(f"dry run: no pull request was opened or changed; the plan is {plan_out} "
                  f"(`headroom-ci pr --plan {plan_out}` proposes it)\n")
        actions.add_summary(f"**Dry run**: no pull request was opened or changed. The plan is "
                            f"{inert.code_span(plan_out)}: the propose job (headroom/learn-action/pr with this "
                            "plan) applies it.\n", env=env)
        actions.set_outputs({"pull-request-operation": "skipped"}, env=env)
        return 0
    with actions.group("pull request", out=out, env=env):
        settings = pr_cmd.settings_from_args(args, plan=plan_out)
        read = Footer(since=None if args.sessions else args.since,
                      workflows=tuple(w for group in args.workflow for w in group))
        result = pr_cmd.open_pull_request(learned.plan, settings=replace(settings, footer=read), out=out, env=env)
    out.write(result.line() + "\n")
    pr_cmd.report_to_actions(result, env=env)
    return 0


def from_args(args: argparse.Namespace) -> int:
    return run(args, out=sys.stdout)

