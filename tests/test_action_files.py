"""The action files and the example workflows, checked the way GitHub and its users check them.

- `check-jsonschema` with its built-in SchemaStore schemas: `vendor.github-actions` for the
  action files, `vendor.github-workflows` for the examples;
- `zizmor`, static security analysis for GitHub Actions, offline, at its default persona, with the
  repository's .github/zizmor.yml (which lets the examples name headroom/learn-action by its tag);
- `pre-commit validate-config` for the pre-commit example;
- and what those cannot know: every input and output described, inputs reaching scripts only
  through `env:`, third-party actions pinned to a commit with its version beside it, and the
  permissions each example job holds.

Both tools are PyPI packages pinned in the `test` extra.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
ACTIONS = ["action.yml", "pr/action.yml", "collect/action.yml"]
WORKFLOWS = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "examples").glob("*.yml"))
ZIZMOR_CONFIG = REPO / ".github" / "zizmor.yml"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")


def _tool(name: str) -> str:
    """The tool installed beside this interpreter (the test extra's venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return found


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)


def _load(rel: str) -> dict[Any, Any]:
    doc = yaml.safe_load((REPO / rel).read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def test_the_files_exist() -> None:
    for rel in ACTIONS:
        assert (REPO / rel).is_file(), rel
    assert set(WORKFLOWS) >= {"examples/agent-with-collect.yml", "examples/learn-weekly.yml",
                              "examples/learn-least-privilege.yml"}


# -- the validators -----------------------------------------------------------------------------------------
def test_the_action_files_match_the_github_actions_schema() -> None:
    done = _run(sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-actions", *ACTIONS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_examples_match_the_github_workflows_schema() -> None:
    done = _run(sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", *WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


def _zizmor(*inputs: str) -> list[dict[str, Any]]:
    done = _run(_tool("zizmor"), "--offline", "--no-progress", "--format", "json", "--config", str(ZIZMOR_CONFIG),
                *inputs)
    findings = json.loads(done.stdout or "[]")
    assert isinstance(findings, list), done.stdout
    assert done.returncode == 0 and findings == [], json.dumps(findings, indent=1)[:4000] + done.stderr
    return findings


def test_zizmor_finds_nothing_in_the_actions_and_the_examples() -> None:
    _zizmor(*ACTIONS, *WORKFLOWS)


def test_zizmor_finds_nothing_in_the_pre_commit_example(tmp_path: Path) -> None:
    # zizmor knows a pre-commit configuration by its real name.
    shutil.copy(REPO / "examples" / "pre-commit-config.yaml", tmp_path / ".pre-commit-config.yaml")
    _zizmor(str(tmp_path / ".pre-commit-config.yaml"))


def test_zizmor_does_report_what_it_should(tmp_path: Path) -> None:
    """The check above can fail: an input pasted into a script and an unpinned action are findings."""
    bad = tmp_path / "bad.yml"
    bad.write_text("name: bad\non: workflow_dispatch\npermissions: {}\njobs:\n  bad:\n    name: bad\n"
                   "    runs-on: ubuntu-latest\n    steps:\n      - uses: some/action@v1\n"
                   "      - run: echo '${{ github.event.pull_request.title }}'\n")
    done = _run(_tool("zizmor"), "--offline", "--no-progress", "--format", "json", "--config", str(ZIZMOR_CONFIG),
                str(bad))
    found = {f["ident"] for f in json.loads(done.stdout)}
    assert done.returncode != 0 and {"unpinned-uses", "template-injection"} <= found, done.stdout


def test_the_pre_commit_example_is_a_valid_config_of_our_hooks() -> None:
    done = _run(sys.executable, "-m", "pre_commit", "validate-config", "examples/pre-commit-config.yaml")
    assert done.returncode == 0 and "WARNING" not in done.stdout + done.stderr, done.stdout + done.stderr
    ours = {h["id"] for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    (repo,) = _load("examples/pre-commit-config.yaml")["repos"]
    assert repo["repo"] == "https://github.com/headroom/learn-action"
    assert {h["id"] for h in repo["hooks"]} == ours


# -- what the schemas cannot say ------------------------------------------------------------------------------
@pytest.mark.parametrize("rel", ACTIONS)
def test_every_input_and_output_is_described_and_branded(rel: str) -> None:
    spec = _load(rel)
    assert spec.get("name") and spec.get("description") and spec.get("branding", {}).get("icon")
    for kind in ("inputs", "outputs"):
        for name, meta in (spec.get(kind) or {}).items():
            assert (meta or {}).get("description", "").strip(), f"{rel}: {kind[:-1]} {name} has no description"


def _steps(rel: str) -> list[dict[str, Any]]:
    doc = _load(rel)
    if "runs" in doc:
        return list(doc["runs"]["steps"])
    return [step for job in doc["jobs"].values() for step in job.get("steps", [])]


@pytest.mark.parametrize("rel", ACTIONS + WORKFLOWS)
def test_no_expression_is_pasted_into_a_script(rel: str) -> None:
    # Inputs reach scripts through env: only; an expression in `run:` would be shell code.
    for step in _steps(rel):
        assert "${{" not in str(step.get("run", "")), f"{rel}: {step.get('name')} interpolates into its script"


@pytest.mark.parametrize("rel", ACTIONS + WORKFLOWS)
def test_other_actions_are_pinned_to_a_commit_with_its_version(rel: str) -> None:
    lines = (REPO / rel).read_text(encoding="utf-8").splitlines()
    for line in lines:
        m = re.match(r"^\s*(?:- )?uses:\s*(.+?)\s*$", line)
        if m is None or m.group(1).startswith(("headroom/learn-action", "./")):
            continue
        assert PINNED.match(m.group(1)), f"{rel}: {m.group(1)!r} is not pinned as OWNER/REPO@SHA # vX.Y.Z"


def _permissions(rel: str) -> dict[str, dict[str, str]]:
    doc = _load(rel)
    assert doc.get("permissions") == {}, f"{rel}: the workflow grants nothing by default"
    return {name: job.get("permissions") for name, job in doc["jobs"].items()}


def _action(uses: str) -> str:
    """`owner/repo[/path]` of a step's `uses:`, without the ref (a release's commit; tests/test_releases.py)."""
    return uses.split("@", 1)[0]


def test_the_weekly_example_schedules_one_run_at_a_time_with_what_it_needs() -> None:
    doc = _load("examples/learn-weekly.yml")
    assert set(doc[True]) == {"schedule", "workflow_dispatch"}   # PyYAML reads `on` as True
    assert doc["concurrency"]["group"] and doc["concurrency"]["cancel-in-progress"] is False
    assert _permissions("examples/learn-weekly.yml") == {
        "learn": {"actions": "read", "contents": "write", "pull-requests": "write"}}
    uses = [_action(s["uses"]) for s in _steps("examples/learn-weekly.yml") if "uses" in s]
    assert "headroom/learn-action" in uses


def test_the_least_privilege_example_writes_only_in_the_job_that_reads_no_transcript() -> None:
    rel = "examples/learn-least-privilege.yml"
    assert _permissions(rel) == {"learn": {"actions": "read", "contents": "read"},
                                 "propose": {"contents": "write", "pull-requests": "write"}}
    doc = _load(rel)
    learn = [s for s in doc["jobs"]["learn"]["steps"] if _action(s.get("uses", "")) == "headroom/learn-action"]
    assert len(learn) == 1 and learn[0]["with"]["dry-run"] is True
    assert doc["jobs"]["propose"]["needs"] == "learn"
    propose = [_action(s.get("uses", "")) for s in doc["jobs"]["propose"]["steps"]]
    assert "headroom/learn-action/pr" in propose and "headroom/learn-action" not in propose
    assert set(doc[True]) == {"schedule", "workflow_dispatch"} and doc["concurrency"]["group"]


def test_the_agent_example_collects_even_after_a_failed_agent() -> None:
    steps = _load("examples/agent-with-collect.yml")["jobs"]["agent"]["steps"]
    collect = steps[-1]
    assert _action(collect["uses"]) == "headroom/learn-action/collect" and collect["if"] == "always()"
    assert any(s.get("uses", "").startswith("anthropics/claude-code-action@") for s in steps)
    assert _permissions("examples/agent-with-collect.yml") == {"agent": {"contents": "read"}}


def test_the_readme_documents_the_action() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## GitHub Action"):readme.index("## Development")]
    for needed in ("contents: write", "pull-requests: write", "actions: read",
                   "Allow GitHub Actions to create and approve pull requests", "`headroom/learn-action`",
                   "`headroom/learn-action/collect`", "`headroom/learn-action/pr`", "dry-run",
                   ".github/headroom-learn.yml", "examples/learn-weekly.yml", "examples/agent-with-collect.yml",
                   "examples/learn-least-privilege.yml", "create-github-app-token"):
        assert needed in section, needed
    spec = _load("action.yml")
    for name in [*spec["inputs"], *spec["outputs"]]:
        assert f"`{name}`" in section, f"the README does not list {name}"


# -- the actions' dependency lock ------------------------------------------------------------------------------
LOCK = REPO / "action-requirements.txt"
LOCK_COMMAND = ("uv pip compile pyproject.toml --extra full --universal --python-version 3.12 --generate-hashes "
                "--output-file action-requirements.txt")


def _locked() -> dict[str, tuple[str, list[str], set[str]]]:
    """name → (version, hashes, what needs it), as uv writes the lock."""
    entries: dict[str, tuple[str, list[str], set[str]]] = {}
    text = LOCK.read_text(encoding="utf-8")
    for block in re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2]):
        m = re.match(r"([A-Za-z0-9_.-]+)==([^\s;]+)", block)
        assert m, f"{LOCK.name}: not a pinned requirement: {block[:80]!r}"
        via = re.findall(r"#\s+(?:via\s+)?([A-Za-z0-9_.-]+)(?: \(pyproject\.toml\))?\s*$", block, re.M)
        entries[m[1].lower()] = (m[2], re.findall(r"--hash=sha256:([0-9a-f]{64})", block), set(via) - {"via"})
    return entries


def test_the_lock_is_uv_s_output_of_the_documented_command() -> None:
    lines = LOCK.read_text(encoding="utf-8").splitlines()
    assert lines[:2] == ["# This file was autogenerated by uv via the following command:", f"#    {LOCK_COMMAND}"]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert LOCK_COMMAND in readme


def test_the_lock_matches_pyproject() -> None:
    """Every dependency of pyproject.toml is locked at a version it allows, every locked package is
    needed by it or by another locked one, and every one carries its hashes."""
    from importlib.metadata import requires

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    # pyproject.toml's dependencies, as the installed package declares them (tomllib is 3.11+).
    # The actions run every command: the base dependencies and the `full` extra's.
    project = {"dependencies": [r for r in requires("headroom-ci") or []
                                if "extra ==" not in r or re.search(r"extra == ['\"]full['\"]", r)]}
    locked = {canonicalize_name(k): v for k, v in _locked().items()}
    for spec in project["dependencies"]:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        assert name in locked, f"{spec}: not in {LOCK.name}: regenerate it ({LOCK_COMMAND})"
        version, _, via = locked[name]
        assert req.specifier.contains(version, prereleases=True), f"{spec}: locked at {version}: regenerate it"
        assert "headroom-ci" in via, f"{name}: locked, but not as a dependency of pyproject.toml"
    direct = {canonicalize_name(Requirement(s).name) for s in project["dependencies"]}
    for name, (version, hashes, via) in locked.items():
        assert hashes, f"{name}=={version}: no hash"
        needed = {canonicalize_name(v) for v in via} - {"headroom-ci"}
        assert (name in direct) == ("headroom-ci" in via), f"{name}: the lock and pyproject.toml disagree"
        assert needed <= set(locked), f"{name}: needed by {needed - set(locked)}, which is not locked"


def test_the_collect_lock_is_the_action_locks_msgspec_entry() -> None:
    from testing.locks import collect_lock
    from testing.locks import COLLECT_LOCK
    assert COLLECT_LOCK.read_text(encoding="utf-8") == collect_lock(LOCK.read_text(encoding="utf-8")), \
        "regenerate it: python -m testing.locks"
    assert re.search(r"^msgspec==\S+ \\\n(    --hash=sha256:[0-9a-f]{64}( \\)?\n)+\Z",
                     COLLECT_LOCK.read_text(encoding="utf-8").split("\n", 2)[2], re.M)
