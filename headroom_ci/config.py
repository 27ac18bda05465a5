"""Settings from the config file and the action's inputs, under the command line's flags.

One source for the GitHub Action and the CLI: `headroom-ci run|pr|learn` read

1. the flags given on the command line,
2. else `HEADROOM_CI_<KEY>` environment variables (what the action's inputs become: an input is
   passed through `env:`, never pasted into a script; an empty one counts as not given),
3. else the YAML config file (`--config FILE`, default `.github/headroom-learn.yml` in the
   repository: a missing default file is fine, a missing file that was asked for is an error),
4. else the flags' own defaults.

The file's keys are the action's input names (`artifact-pattern`, `team-reviewers`, `dry-run`…)
and, for the options that have no input, the flag's name (`min-sessions`, `fallback`…). Values
go through the very same argparse type and choices checks as flags do, so the file accepts
exactly what the command line accepts; an unknown key or a wrong type names the file and key.
Secrets never come from the file: it is committed.
"""
from __future__ import annotations

import argparse
import datetime
import difflib
import os
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from headroom_ci.cli import add_config_argument
from headroom_ci.cli import CONFIG_PATH
from headroom_ci.cli import csv
from headroom_ci.cli import ENV_PREFIX as ENV_PREFIX
from headroom_ci.cli import repo_root
from headroom_ci.errors import FatalError
from headroom_ci.fsio import read_text

DEFAULT_PATH = CONFIG_PATH

# key → argparse dest. Keys follow the action's inputs; the rest are the flags' names.
KEYS: dict[str, str] = {
    # which sessions (fetch)
    "sessions-path": "sessions", "workflows": "workflow", "artifact-pattern": "artifact", "since": "since",
    "branch-filter": "branch_filter", "status": "status", "max-runs": "max_runs", "jobs": "jobs",
    "include-fork-runs": "include_fork_runs",
    # learn
    "target": "target", "memory-target": "memory_target", "max-block-tokens": "max_block_tokens",
    "min-sessions": "min_sessions", "min-fixes": "min_fixes", "retire-after": "retire_after",
    "analyzer": "analyzer", "model": "model", "llm-base-url": "llm_base_url", "llm-api-version": "llm_api_version",
    "llm-timeout": "llm_timeout", "llm-max-retries": "llm_max_retries", "llm-price-in": "llm_price_in",
    "llm-price-out": "llm_price_out", "llm-digest-tokens": "llm_digest_tokens", "fallback": "fallback",
    # the pull request
    "base": "base", "branch": "branch", "remote": "remote", "labels": "labels", "reviewers": "reviewers",
    "team-reviewers": "team_reviewers", "assignees": "assignees", "draft": "draft", "title": "title",
    "dry-run": "dry_run", "include-rejected": "include_rejected", "author-name": "author_name",
    "author-email": "author_email", "github-repo": "github_repo", "api-url": "api_url",
    "max-rate-limit-wait": "max_rate_limit_wait",
}
# Only ever from the environment (the action's inputs or the caller's variables), never the file.
SECRETS: dict[str, str] = {"llm-api-key": "llm_api_key"}
_NOT_IN_FILE = {
    "github-token": "a secret: pass it as the action's github-token input or GITHUB_TOKEN",
    "token": "a secret: pass it as the action's github-token input or GITHUB_TOKEN",
    "llm-api-key": "a secret: pass it as the action's llm-api-key input or OPENAI_API_KEY",
    "config": "the config file cannot name another config file",
}


class ConfigError(FatalError):
    pass


@dataclass(frozen=True)
class Setting:
    key: str
    dest: str
    value: Any          # converted as argparse would: int, tuple of names, bool…
    source: str         # the file, or the variable, it came from


@dataclass(frozen=True)
class Config:
    """What the file and the environment say, before the command line has its say."""
    path: str | None                  # the file read; None when there was none
    settings: tuple[Setting, ...]     # the environment's first: it wins over the file

    def defaults(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for s in self.settings:
            out.setdefault(s.dest, s.value)
        return out


add_argument = add_config_argument


def env_name(key: str) -> str:
    return ENV_PREFIX + key.upper().replace("-", "_")


# -- reading the file (pure but for the read) --------------------------------------------------------
def read_file(path: Path, *, required: bool) -> dict[str, Any] | None:
    """The file's mapping of known keys, or None when it does not exist and was not asked for."""
    try:
        text = read_text(path)
    except FatalError as exc:  # a FIFO, a folder, not UTF-8: named with line and column
        raise ConfigError(f"{exc} (the config file)") from None
    if text is None:
        if required:
            raise ConfigError(f"{path}: no such config file")
        return None
    return parse(text, source=str(path))


def parse(text: str, *, source: str) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc
        raise ConfigError(f"{source}{where}: not valid YAML: {problem}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"{source}: expected a mapping of settings (key: value), got {_kind(doc)}")
    for key in doc:
        if not isinstance(key, str):
            raise ConfigError(f"{source}: {key!r}: keys are setting names such as labels or dry-run")
        if key in _NOT_IN_FILE:
            raise ConfigError(f"{source}: {key}: not allowed in the config file ({_NOT_IN_FILE[key]})")
        if key not in KEYS:
            close = difflib.get_close_matches(key, list(KEYS), n=1)
            hint = f" (did you mean {close[0]}?)" if close else f"; known keys: {', '.join(sorted(KEYS))}"
            raise ConfigError(f"{source}: {key}: unknown setting{hint}")
    return dict(doc)


# -- converting values the way argparse would ----------------------------------------------------------
def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _names(value: object, *, key: str, source: str) -> list[str]:
    """A YAML list of names, or one string of comma- (or newline-) separated names."""
    if isinstance(value, str):
        return [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
        return [str(v).strip() for v in value if str(v).strip()]
    raise ConfigError(f"{source}: {key}: expected a list of names or a comma-separated string, got {_kind(value)}")


def _scalar(value: object, *, key: str, source: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, datetime.date):   # YAML reads `since: 2026-11-01` as a date
        return value.isoformat()
    raise ConfigError(f"{source}: {key}: expected a single value, got {_kind(value)}")


def _flag(value: object, *, key: str, source: str) -> bool:
    if isinstance(value, bool):
        return value
    # From the environment every value is a string: an action input `dry-run: true` arrives as "true".
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ConfigError(f"{source}: {key}: expected true or false, got {value!r}")


def convert(action: argparse.Action, value: object, *, key: str, source: str) -> Any:
    """The value as the flag would have produced it, through the flag's own type and choices."""
    if isinstance(action, argparse._StoreTrueAction):
        return _flag(value, key=key, source=source)
    parse_one = action.type if callable(action.type) else None
    if isinstance(action, argparse._AppendAction):
        # `--workflow a --workflow b,c` gives [("a",), ("b", "c")]: the file's list is one such group.
        return [tuple(_names(value, key=key, source=source))]
    if parse_one is csv:
        return tuple(_names(value, key=key, source=source))
    text = _scalar(value, key=key, source=source)
    try:
        result = parse_one(text) if parse_one is not None else text
    except (argparse.ArgumentTypeError, TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {key}: {exc}") from None
    if action.choices is not None and result not in action.choices:
        raise ConfigError(f"{source}: {key}: {text!r} is not one of {', '.join(map(str, action.choices))}")
    return result


# -- putting it together -------------------------------------------------------------------------------
def _actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {a.dest: a for a in parser._actions}


def load(parser: argparse.ArgumentParser, *, config: str | None, repo_path: str,
         env: Mapping[str, str] = os.environ) -> Config:
    """The settings the environment and the config file give the command `parser` parses.

    Keys that belong to other commands (`labels` for `learn`) are read and left unused, so one
    file serves every command.
    """
    actions = _actions(parser)
    settings: list[Setting] = []
    for key, dest in {**KEYS, **SECRETS}.items():
        raw = env.get(env_name(key), "")
        if raw.strip() and dest in actions:
            settings.append(Setting(key, dest, convert(actions[dest], raw, key=key, source=env_name(key)), env_name(key)))
    asked = config or env.get(env_name("config"), "").strip() or None
    name = asked or DEFAULT_PATH
    # The default file is optional wherever the name came from (the action passes it explicitly).
    path = Path(name) if asked else Path(repo_path) / name
    doc = read_file(path, required=name != DEFAULT_PATH)
    for key, value in (doc or {}).items():
        dest = KEYS[key]
        if dest in actions:
            settings.append(Setting(key, dest, convert(actions[dest], value, key=key, source=str(path)), str(path)))
    return Config(str(path) if doc is not None else None, tuple(settings))


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(command)
            return chosen if isinstance(chosen, argparse.ArgumentParser) else None
    return None


def reparse(parser: argparse.ArgumentParser, args: argparse.Namespace, argv: Sequence[str] | None,
            *, env: Mapping[str, str] = os.environ) -> argparse.Namespace:
    """`args` again, with the config file and the environment under the flags given.

    They become the subcommand's defaults and the command line is parsed once more, so a flag
    given wins and argparse does every conversion and check.
    """
    command = getattr(args, "command", None)
    sub = _subparser(parser, command) if isinstance(command, str) else None
    if sub is None or "config" not in _actions(sub):
        return args
    cfg = load(sub, config=args.config, repo_path=getattr(args, "repo_path", None) or repo_root(), env=env)
    defaults = cfg.defaults()
    appended = {dest: value for dest, value in defaults.items()
                if isinstance(_actions(sub)[dest], argparse._AppendAction)}
    # An append flag adds to its default: set after parsing, and only when no flag gave one.
    sub.set_defaults(**{dest: value for dest, value in defaults.items() if dest not in appended})
    again = parser.parse_args(argv)
    for dest, value in appended.items():
        if not getattr(again, dest):
            setattr(again, dest, value)
    return again
