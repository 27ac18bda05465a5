"""The config file and HEADROOM_CI_* variables: under the flags, over the defaults, checked like flags."""
from __future__ import annotations

import argparse
import io
import os
from collections.abc import Mapping
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import yaml

from headroom_ci import config
from headroom_ci.config import ConfigError
from headroom_ci.main import _parser
from headroom_ci.main import main

REPO = Path(__file__).resolve().parents[1]


def parsed(argv: list[str], *, env: Mapping[str, str] | None = None) -> argparse.Namespace:
    parser = _parser()
    return config.reparse(parser, parser.parse_args(argv), argv, env=env or {})


def write(repo: Path, text: str, name: str = config.DEFAULT_PATH) -> Path:
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_default_file_in_the_repository_fills_the_defaults(tmp_path: Path) -> None:
    write(tmp_path, "labels: [agents, docs]\nworkflows: agent.yml, nightly.yml\nsince: 2026-11-01\n"
                    "dry-run: true\nmax-block-tokens: 900\nanalyzer: rules\nteam-reviewers: platform\n")
    args = parsed(["run", "--repo-path", str(tmp_path)])
    assert args.labels == ("agents", "docs")
    assert args.workflow == [("agent.yml", "nightly.yml")]
    assert args.since == "2026-11-01"          # YAML's date, back to what the flag takes
    assert args.dry_run is True
    assert args.max_block_tokens == 900
    assert args.team_reviewers == ("platform",)
    assert args.branch == "headroom/learn"     # not in the file: the flag's default


def test_flags_win_over_the_environment_which_wins_over_the_file(tmp_path: Path) -> None:
    write(tmp_path, "labels: [from-file]\nbranch: from-file\nbase: from-file\nmax-block-tokens: 900\n"
                    "workflows: [file.yml]\n")
    env = {"HEADROOM_CI_BRANCH": "from-env", "HEADROOM_CI_BASE": "from-env", "HEADROOM_CI_MAX_BLOCK_TOKENS": ""}
    args = parsed(["run", "--repo-path", str(tmp_path), "--base", "from-flag", "--workflow", "flag.yml"], env=env)
    assert args.base == "from-flag"
    assert args.branch == "from-env"
    assert args.labels == ("from-file",)
    assert args.max_block_tokens == 900        # an empty variable (an input left blank) is not given
    assert args.workflow == [("flag.yml",)]    # a flag replaces the file's list, it does not add to it


def test_the_environment_speaks_like_action_inputs(tmp_path: Path) -> None:
    env = {"HEADROOM_CI_DRY_RUN": "true", "HEADROOM_CI_DRAFT": "False", "HEADROOM_CI_LABELS": "a, b",
           "HEADROOM_CI_WORKFLOWS": "agent.yml\nnightly.yml", "HEADROOM_CI_SESSIONS_PATH": "sessions",
           "HEADROOM_CI_ARTIFACT_PATTERN": "bundle-*", "HEADROOM_CI_LLM_API_KEY": "sk-test"}
    args = parsed(["run", "--repo-path", str(tmp_path)], env=env)
    assert (args.dry_run, args.draft, args.labels) == (True, False, ("a", "b"))
    assert args.workflow == [("agent.yml", "nightly.yml")]
    assert (args.sessions, args.artifact, args.llm_api_key) == ("sessions", "bundle-*", "sk-test")


@pytest.mark.parametrize(("make", "problem"), [
    pytest.param(lambda p: p.write_bytes(b"labels: [caf\xe9]\n"), ":1:13: byte 0xe9 is not valid UTF-8: save the file "
                 "as UTF-8", id="latin-1"),
    pytest.param(lambda p: os.mkfifo(p), ": cannot read: not a regular file", id="a-fifo"),
])
def test_a_config_file_that_is_no_text_is_named(tmp_path: Path, make: Any, problem: str) -> None:
    path = tmp_path / "headroom.yml"
    make(path)
    with pytest.raises(ConfigError) as exc:
        config.read_file(path, required=True)
    assert str(exc.value) == f"{path}{problem} (the config file)"


def test_an_explicit_file_must_exist_and_the_default_need_not(tmp_path: Path) -> None:
    assert parsed(["run", "--repo-path", str(tmp_path)]).labels == ()
    with pytest.raises(ConfigError, match=r"^nowhere\.yml: no such config file$"):
        parsed(["run", "--config", "nowhere.yml"])
    with pytest.raises(ConfigError, match=r"^elsewhere\.yml: no such config file$"):
        parsed(["run"], env={"HEADROOM_CI_CONFIG": "elsewhere.yml"})
    # The action passes the default's name as its input's default: still optional.
    parsed(["run", "--repo-path", str(tmp_path)], env={"HEADROOM_CI_CONFIG": config.DEFAULT_PATH})


def test_an_explicit_file_is_read_from_where_it_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "labels: [x]\n", "ci/headroom.yml")
    assert parsed(["pr", "--plan", "p.json", "--config", str(path)]).labels == ("x",)
    monkeypatch.chdir(tmp_path)
    assert parsed(["pr", "--plan", "p.json"], env={"HEADROOM_CI_CONFIG": "ci/headroom.yml"}).labels == ("x",)


def test_one_file_serves_every_command(tmp_path: Path) -> None:
    write(tmp_path, "target: CLAUDE.md\nlabels: [agents]\nsince: 7d\n")
    learn = parsed(["learn", "--repo-path", str(tmp_path)])
    assert learn.target == "CLAUDE.md" and not hasattr(learn, "labels")
    pr = parsed(["pr", "--plan", "p.json", "--repo-path", str(tmp_path)])
    assert pr.labels == ("agents",) and not hasattr(pr, "since")
    # fetch takes no config file: the proposal branch is no filter of its.
    assert parsed(["fetch", "--out", str(tmp_path / "o")], env={"HEADROOM_CI_BRANCH": "x"}).branch_filter is None


@pytest.mark.parametrize(("text", "message"), [
    ("lables: [a]\n", r"x\.yml: lables: unknown setting \(did you mean labels\?\)"),
    ("frobnicate: 1\n", r"x\.yml: frobnicate: unknown setting; known keys: analyzer, api-url, "),
    ("github-token: ghp_x\n", r"x\.yml: github-token: not allowed in the config file \(a secret"),
    ("llm-api-key: sk-x\n", r"x\.yml: llm-api-key: not allowed in the config file \(a secret"),
    ("draft: yes please\n", r"x\.yml: draft: expected true or false, got 'yes please'"),
    ("labels: {a: 1}\n", r"x\.yml: labels: expected a list of names or a comma-separated string, got a mapping"),
    ("target: [a, b]\n", r"x\.yml: target: expected a single value, got a list"),
    ("max-block-tokens: 0\n", r"x\.yml: max-block-tokens: expected a whole number ≥ 1, got '0'"),
    ("max-block-tokens: true\n", r"x\.yml: max-block-tokens: expected a single value, got true/false"),
    ("analyzer: gpt\n", r"x\.yml: analyzer: 'gpt' is not one of rules, llm"),
    ("since: [1]\n", r"x\.yml: since: expected a single value, got a list"),
    ("- labels\n", r"x\.yml: expected a mapping of settings \(key: value\), got a list"),
    ("labels: [a\n", r"x\.yml:2: not valid YAML"),
])
def test_mistakes_name_the_file_and_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str,
                                            message: str) -> None:
    write(tmp_path, text, "x.yml")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="^" + message):
        parsed(["run", "--config", "x.yml"])


def test_wrong_values_from_the_environment_name_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^HEADROOM_CI_DRY_RUN: dry-run: expected true or false, got 'yes'$"):
        parsed(["run", "--repo-path", str(tmp_path)], env={"HEADROOM_CI_DRY_RUN": "yes"})
    with pytest.raises(ConfigError, match=r"^HEADROOM_CI_MAX_BLOCK_TOKENS: max-block-tokens: expected a whole"):
        parsed(["run", "--repo-path", str(tmp_path)], env={"HEADROOM_CI_MAX_BLOCK_TOKENS": "lots"})


def test_an_empty_file_or_comments_only_is_no_settings(tmp_path: Path) -> None:
    write(tmp_path, "# nothing yet\n")
    cfg = config.load(_subparser("run"), config=None, repo_path=str(tmp_path), env={})
    assert cfg.settings == () and cfg.path == str(tmp_path / config.DEFAULT_PATH)


def test_main_reports_a_config_error_and_masks_a_key_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    write(tmp_path, "lables: x\n")
    assert main(["run", "--repo-path", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "::error title=headroom-ci run::" in captured.out and "lables: unknown setting" in captured.err

    (tmp_path / config.DEFAULT_PATH).unlink()
    monkeypatch.setenv("HEADROOM_CI_LLM_API_KEY", "sk-secret-from-the-input")
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["run", "--repo-path", str(tmp_path), "--sessions-path", str(tmp_path / "none")]) == 1
    assert out.getvalue().startswith("::add-mask::sk-secret-from-the-input\n")


def test_the_readmes_example_file_is_valid(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text()
    start = readme.index("# .github/headroom-learn.yml\n")
    write(tmp_path, readme[start:readme.index("```", start)])
    args = parsed(["run", "--repo-path", str(tmp_path)])
    assert args.target == "CLAUDE.md" and args.min_sessions == 3


# -- the tables agree with the parsers and the action files --------------------------------------------
def _subparser(command: str) -> argparse.ArgumentParser:
    sub = config._subparser(_parser(), command)
    assert sub is not None
    return sub


def test_every_key_is_an_option_of_run() -> None:
    dests = {a.dest for a in _subparser("run")._actions}
    assert set(config.KEYS.values()) | set(config.SECRETS.values()) <= dests


@pytest.mark.parametrize("action", ["action.yml", "pr/action.yml"])
def test_every_input_reaches_the_program_by_a_variable_it_reads(action: str) -> None:
    spec = yaml.safe_load((REPO / action).read_text())
    readable = {config.env_name(k) for k in [*config.KEYS, *config.SECRETS, "config"]}
    passed: dict[str, str] = {}
    for step in spec["runs"]["steps"]:
        passed.update({k: v for k, v in (step.get("env") or {}).items() if "inputs." in str(v)})
    for name, value in passed.items():
        assert name in readable or name in ("GITHUB_TOKEN", "HEADROOM_PLAN"), f"{action}: {name} is read by nothing"
        if name.startswith(config.ENV_PREFIX):
            key = name.removeprefix(config.ENV_PREFIX).lower().replace("_", "-")
            assert value == f"${{{{ inputs.{key} }}}}", f"{action}: {name} carries {value}"
    inputs = set(spec["inputs"])
    carried = {v.removeprefix("${{ inputs.").removesuffix(" }}") for v in passed.values()}
    assert inputs == carried, f"{action}: inputs passed to no step: {inputs - carried}"


def test_one_name_per_setting_in_flags_config_keys_and_inputs() -> None:
    """A setting's flag is `--KEY`, KEY its config key and its input's name, in every command."""
    from headroom_ci.main import COMMANDS
    for command in COMMANDS:
        shown: dict[str, set[str]] = {}
        for action in _subparser(command)._actions:
            if action.help != argparse.SUPPRESS:
                shown.setdefault(action.dest, set()).update(action.option_strings)
        for key, dest in {**config.KEYS, **config.SECRETS}.items():
            if dest in shown:
                assert f"--{key}" in shown[dest], f"{command}: the config key {key} is {sorted(shown[dest])} there"
    for action_file, command in (("action.yml", "run"), ("pr/action.yml", "pr")):
        options = {o for a in _subparser(command)._actions if a.help != argparse.SUPPRESS for o in a.option_strings}
        inputs = set(yaml.safe_load((REPO / action_file).read_text())["inputs"])
        assert {f"--{name}" for name in inputs} <= options, f"{action_file}: {inputs - {o[2:] for o in options}}"
