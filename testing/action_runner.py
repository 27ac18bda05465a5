"""Runs composite actions and workflow jobs here, the way a GitHub-hosted runner would.

What the project's action files use, done as the runner does it, and nothing more:

- `${{ }}` expressions: the `inputs`, `github`, `runner`, `env`, `steps`, `needs`, `secrets`,
  `vars` contexts, string/number/boolean/null literals, `!`, `==`, `!=`, `&&`, `||`, parentheses
  and the status functions `success()`, `failure()`, `always()`, `cancelled()`. Anything else
  (other functions, `<`, indexing, filters) is an error, so an action file cannot quietly rely on
  something this runner does not check. Unknown inputs, step ids and context keys are errors too.
- `run:` steps: the script in a file under RUNNER_TEMP, run as `bash --noprofile --norc -eo
  pipefail {0}` in the working directory with the step's evaluated `env:` over the job's
  environment; each step gets fresh GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH and GITHUB_STEP_SUMMARY
  files, read back afterwards (`name=value` and `name<<DELIMITER` heredocs, like the runner's
  file commands): outputs go to `steps.<id>.outputs`, env and path additions to the later steps,
  the summary to the job summary. `::add-mask::` lines are collected.
- `uses:` steps: the project's own actions (a folder with an action.yml) are run as composite
  actions, with GITHUB_ACTION_PATH set; any other action is stood in for by a Python callable
  the test supplies (actions/checkout, actions/upload-artifact…).
- A step whose script fails fails the job: later steps are skipped unless their `if:` says
  otherwise (a condition without a status function means `success() && (…)`).
- `Job.done` stands for steps that already ran on this runner (step id → its outputs), so that
  a slow step tested for real once (the action's install) is not repeated by every test.
"""
from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import yaml

STATUS_FUNCTIONS = ("success", "failure", "always", "cancelled")
STEP_TIMEOUT = 900.0   # the install step builds a virtual environment from PyPI


class ActionError(Exception):
    """The action or workflow file uses something this runner does not support, or is wrong."""


# -- expressions -------------------------------------------------------------------------------------
_TOKEN = re.compile(r"""\s*(?:
    (?P<str>'(?:[^']|'')*')
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<op>==|!=|&&|\|\||[()!])
  | (?P<name>[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*)
)""", re.X)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ActionError(f"expression {text!r}: unsupported syntax at {text[pos:]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def truthy(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value not in (None, False, 0, "")


def to_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        raise ActionError(f"cannot turn {type(value).__name__} into a string here")
    return str(value)


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value.strip()) if value.strip() else 0.0
    except ValueError:
        return math.nan


def _equal(a: Any, b: Any) -> bool:
    # GitHub compares strings case-insensitively and coerces mixed types to numbers.
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if type(a) is type(b):
        return bool(a == b)
    return _number(a) == _number(b)


class Scope:
    """The contexts an expression can read, plus the job's status for the status functions."""

    def __init__(self, contexts: Mapping[str, Any], *, failed: bool = False) -> None:
        self.contexts = contexts
        self.failed = failed

    def lookup(self, dotted: str) -> Any:
        head, *rest = dotted.split(".")
        if head not in self.contexts:
            raise ActionError(f"{dotted}: the {head!r} context is not available here")
        value: Any = self.contexts[head]
        walked = head
        for part in rest:
            if not isinstance(value, Mapping):
                raise ActionError(f"{dotted}: {walked} is not an object")
            match = next((k for k in value if k.lower() == part.lower()), None)
            if match is None:
                if head in ("inputs", "github", "runner", "needs") or (head == "steps" and walked == "steps"):
                    raise ActionError(f"{dotted}: no {part!r} in {walked} (known: {', '.join(sorted(value))})")
                return None   # an output or variable nobody set: null, as on GitHub
            value = value[match]
            walked += "." + part
        return value


class _Parser:
    def __init__(self, text: str, scope: Scope) -> None:
        self.text, self.scope = text, scope
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise ActionError(f"expression {self.text!r}: expected {value or 'more'}")
        self.pos += 1
        return tok

    def parse(self) -> Any:
        value = self.or_()
        if self.peek() is not None:
            raise ActionError(f"expression {self.text!r}: unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.and_()
            value = value if truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.eq()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.eq()
            value = right if truthy(value) else value
        return value

    def eq(self) -> Any:
        value = self.unary()
        tok = self.peek()
        if tok in (("op", "=="), ("op", "!=")):
            self.take()
            right = self.unary()
            same = _equal(value, right)
            return same if tok == ("op", "==") else not same
        return value

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.primary()

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text)
        if (kind, text) == ("op", "("):
            value = self.or_()
            self.take(")")
            return value
        if kind == "name":
            if text in ("true", "false"):
                return text == "true"
            if text == "null":
                return None
            if self.peek() == ("op", "("):
                self.take()
                self.take(")")
                if text == "success":
                    return not self.scope.failed
                if text == "failure":
                    return self.scope.failed
                if text == "always":
                    return True
                if text == "cancelled":
                    return False
                raise ActionError(f"expression {self.text!r}: function {text}() is not supported")
            return self.scope.lookup(text)
        raise ActionError(f"expression {self.text!r}: unexpected {text!r}")


def evaluate(expression: str, scope: Scope) -> Any:
    return _Parser(expression, scope).parse()


_EMBEDDED = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def interpolate(value: Any, scope: Scope) -> str:
    """A `with:`/`env:`/`run:` value with its `${{ }}` replaced by their values."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        return to_string(value)
    if not isinstance(value, str):
        raise ActionError(f"expected a string, got {value!r}")
    return _EMBEDDED.sub(lambda m: to_string(evaluate(m.group(1), scope)), value)


def condition(raw: Any, scope: Scope) -> bool:
    """An `if:`: a bare expression or one `${{ }}`; `success() &&` unless it names a status function."""
    if raw is None:
        return not scope.failed
    if isinstance(raw, bool):
        return raw and not scope.failed
    text = str(raw).strip()
    whole = _EMBEDDED.fullmatch(text)
    expr = whole.group(1) if whole else text
    if "${{" in expr:
        raise ActionError(f"if: {text!r}: mixes text and expressions")
    if not any((kind, name) == ("name", fn) for kind, name in _tokens(expr) for fn in STATUS_FUNCTIONS):
        expr = f"success() && ({expr})"
    return truthy(evaluate(expr, scope))


# -- file commands ----------------------------------------------------------------------------------
def parse_file_command(text: str, *, source: str) -> dict[str, str]:
    """`name=value` lines and `name<<DELIMITER` … `DELIMITER` blocks, as the runner reads them."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    i = 0
    while i < len(lines):
        line = lines[i].removesuffix("\r")
        i += 1
        if not line:
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if eq >= 0 and (heredoc < 0 or eq < heredoc):
            out[line[:eq]] = line[eq + 1:]
            continue
        if heredoc <= 0:
            raise ActionError(f"{source}: invalid line {line!r}")
        name, delimiter = line[:heredoc], line[heredoc + 2:]
        body: list[str] = []
        while True:
            if i >= len(lines):
                raise ActionError(f"{source}: {name}: no closing {delimiter!r}")
            current = lines[i].removesuffix("\r")
            i += 1
            if current == delimiter:
                break
            body.append(current)
        out[name] = "\n".join(body)
    return out


# -- running -------------------------------------------------------------------------------------------
@dataclass
class Call:
    """What a stand-in for another action receives."""
    uses: str                   # as written, with its @ref
    with_: dict[str, str]       # evaluated `with:`
    env: dict[str, str]         # the environment the action would run with
    job: Job


StandIn = Callable[[Call], Mapping[str, str]]


@dataclass
class StepResult:
    id: str | None
    name: str
    outcome: str                # success, failure, skipped
    outputs: dict[str, str] = field(default_factory=dict)
    stdout: str = ""
    stderr: str = ""


@dataclass
class ActionResult:
    outcome: str
    outputs: dict[str, str]
    steps: list[StepResult]                                   # every step run, nested ones too
    context: dict[str, Any] = field(default_factory=dict)     # the steps context: id → outputs, outcome


@dataclass
class Job:
    """One job on one runner: its workspace, temp folder, environment and what the steps leave."""
    workspace: Path
    temp: Path
    github: dict[str, Any]                        # the github context (token, repository, server_url…)
    env: dict[str, str]                           # the runner's own environment: PATH, HOME…
    stand_ins: Mapping[str, StandIn] = field(default_factory=dict)      # "actions/checkout" → callable
    actions: Mapping[str, Path] = field(default_factory=dict)           # "headroom/learn-action" → folder
    runner_context: dict[str, str] = field(default_factory=dict)
    summary: str = ""                             # the job summary: every step's, in order
    masks: list[str] = field(default_factory=list)
    added_env: dict[str, str] = field(default_factory=dict)    # through GITHUB_ENV
    added_path: list[str] = field(default_factory=list)        # through GITHUB_PATH
    log: list[StepResult] = field(default_factory=list)
    failed: bool = False
    done: Mapping[str, Mapping[str, str]] = field(default_factory=dict)   # step id → outputs, not run again

    def __post_init__(self) -> None:
        self.workspace.mkdir(parents=True, exist_ok=True)
        self.temp.mkdir(parents=True, exist_ok=True)
        self.github.setdefault("workspace", str(self.workspace))
        self.runner_context = {"temp": str(self.temp), "os": "Linux", "arch": "X64", "name": "local",
                               "tool_cache": str(self.temp / "tool-cache"), "debug": "", **self.runner_context}

    # The environment every step starts from, before its own `env:`.
    def base_env(self) -> dict[str, str]:
        g = self.github
        env = {**self.env, "CI": "true", "GITHUB_ACTIONS": "true", "RUNNER_TEMP": str(self.temp),
               "RUNNER_OS": self.runner_context["os"], "RUNNER_ARCH": self.runner_context["arch"],
               "GITHUB_WORKSPACE": str(self.workspace)}
        for key in ("repository", "api_url", "server_url", "run_id", "run_attempt", "sha", "ref", "event_name",
                    "workflow", "actor", "repository_owner"):
            if key in g:
                env[f"GITHUB_{key.upper()}"] = str(g[key])
        env.update(self.added_env)
        if self.added_path:
            env["PATH"] = os.pathsep.join([*reversed(self.added_path), env.get("PATH", "")])
        return env

    def scope(self, *, inputs: Mapping[str, str] | None, steps: Mapping[str, Any], env: Mapping[str, str],
              extra: Mapping[str, Any] | None = None) -> Scope:
        contexts: dict[str, Any] = {"github": self.github, "runner": self.runner_context, "steps": steps,
                                    "env": dict(env), **(extra or {})}
        if inputs is not None:
            contexts["inputs"] = dict(inputs)
        return Scope(contexts, failed=self.failed)

    # -- steps ------------------------------------------------------------------------------------
    def run_steps(self, steps: list[dict[str, Any]], *, inputs: Mapping[str, str] | None, env: Mapping[str, str],
                  extra: Mapping[str, Any] | None = None, action_path: Path | None = None,
                  where: str) -> dict[str, Any]:
        """Runs `steps` in order; returns the steps context they built (id → outputs, outcome)."""
        context: dict[str, Any] = {}
        for n, step in enumerate(steps, 1):
            if not isinstance(step, dict):
                raise ActionError(f"{where}: step {n} is not a mapping")
            unknown = set(step) - {"id", "name", "if", "run", "shell", "env", "working-directory", "uses", "with",
                                   "continue-on-error", "timeout-minutes"}
            if unknown:
                raise ActionError(f"{where}: step {n}: unsupported keys {sorted(unknown)}")
            sid = step.get("id")
            name = str(step.get("name") or sid or step.get("uses") or f"step {n}")
            layered = {**env, **self.added_env}
            scope = self.scope(inputs=inputs, steps=context, env=layered, extra=extra)
            if not condition(step.get("if"), scope):
                result = StepResult(sid, name, "skipped")
            elif sid is not None and str(sid) in self.done:
                result = StepResult(sid, name, "success", dict(self.done[str(sid)]))
            elif "run" in step:
                result = self._run(step, scope, env=layered, action_path=action_path, name=name, where=where)
            elif "uses" in step:
                result = self._uses(step, scope, env=layered, name=name, where=where)
            else:
                raise ActionError(f"{where}: step {n} has neither run nor uses")
            self.log.append(result)
            if result.outcome == "failure" and step.get("continue-on-error") is not True:
                self.failed = True
            if sid is not None:
                context[str(sid)] = {"outputs": result.outputs, "outcome": result.outcome,
                                     "conclusion": "success" if step.get("continue-on-error") is True
                                     and result.outcome == "failure" else result.outcome}
        return context

    def _env_of(self, step: dict[str, Any], scope: Scope, env: Mapping[str, str]) -> dict[str, str]:
        own = step.get("env") or {}
        if not isinstance(own, dict):
            raise ActionError(f"env of {step.get('name') or step.get('id')}: not a mapping")
        return {**self.base_env(), **env, **{str(k): interpolate(v, scope) for k, v in own.items()}}

    def _run(self, step: dict[str, Any], scope: Scope, *, env: Mapping[str, str], action_path: Path | None,
             name: str, where: str) -> StepResult:
        shell = step.get("shell", "bash" if action_path is None else None)
        if shell is None:
            raise ActionError(f"{where}: {name}: a composite action's run step needs a shell")
        if shell != "bash":
            raise ActionError(f"{where}: {name}: shell {shell!r} is not supported here (bash only)")
        script = interpolate(step["run"], scope)
        step_env = self._env_of(step, scope, env)
        files = {kind: self.temp / "_runner_file_commands" / f"{kind.lower()}_{uuid.uuid4().hex}"
                 for kind in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")}
        for kind, path in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("")
            step_env[kind] = str(path)
        if action_path is not None:
            step_env["GITHUB_ACTION_PATH"] = str(action_path)
        script_file = self.temp / f"{uuid.uuid4()}.sh"
        script_file.write_text(script)
        cwd = Path(interpolate(step["working-directory"], scope)) if "working-directory" in step else self.workspace
        if not cwd.is_absolute():
            cwd = self.workspace / cwd
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)],
                              cwd=cwd, env=step_env, capture_output=True, text=True, timeout=STEP_TIMEOUT,
                              check=False)
        for line in done.stdout.splitlines():
            if line.startswith("::add-mask::"):
                self.masks.append(line.removeprefix("::add-mask::"))
        outputs = parse_file_command(files["GITHUB_OUTPUT"].read_text(), source=f"{name}: GITHUB_OUTPUT")
        self.added_env.update(parse_file_command(files["GITHUB_ENV"].read_text(), source=f"{name}: GITHUB_ENV"))
        self.added_path += [p for p in files["GITHUB_PATH"].read_text().splitlines() if p.strip()]
        self.summary += files["GITHUB_STEP_SUMMARY"].read_text()
        return StepResult(step.get("id"), name, "success" if done.returncode == 0 else "failure", outputs,
                          done.stdout, done.stderr)

    def _uses(self, step: dict[str, Any], scope: Scope, *, env: Mapping[str, str], name: str,
              where: str) -> StepResult:
        uses = str(step["uses"])
        ref_less = uses.split("@", 1)[0]
        raw_with = step.get("with") or {}
        with_ = {str(k): interpolate(v, scope) for k, v in raw_with.items()}
        own_env = {str(k): interpolate(v, scope) for k, v in (step.get("env") or {}).items()}
        folder = self._local(uses, ref_less)
        if folder is not None:
            result = self.run_action(folder, inputs=with_, env={**env, **own_env})
            return StepResult(step.get("id"), name, result.outcome, result.outputs)
        stand_in = self.stand_ins.get(ref_less)
        if stand_in is None:
            raise ActionError(f"{where}: {name}: no stand-in for {uses}")
        try:
            outputs = dict(stand_in(Call(uses, with_, self._env_of(step, scope, env), self)))
        except AssertionError:
            raise
        except Exception as exc:  # a stand-in that fails is a failed step, as on GitHub
            return StepResult(step.get("id"), name, "failure", stderr=repr(exc))
        return StepResult(step.get("id"), name, "success", outputs)

    def _local(self, uses: str, ref_less: str) -> Path | None:
        if uses.startswith("./"):
            return self.workspace / uses
        return self.actions.get(ref_less)

    # -- a composite action ---------------------------------------------------------------------------
    def run_action(self, folder: Path, *, inputs: Mapping[str, str],
                   env: Mapping[str, str] | None = None) -> ActionResult:
        """Runs the composite action in `folder` with these `with:` values."""
        spec = load_yaml(folder / "action.yml")
        where = str(folder / "action.yml")
        runs = spec.get("runs") or {}
        if runs.get("using") != "composite":
            raise ActionError(f"{where}: only composite actions run here")
        declared = spec.get("inputs") or {}
        unknown = set(inputs) - set(declared)
        if unknown:
            raise ActionError(f"{where}: no such inputs: {sorted(unknown)}")
        values: dict[str, str] = {}
        for key, meta in declared.items():
            meta = meta or {}
            if key in inputs:
                values[key] = inputs[key]
            elif "default" in meta:
                values[key] = interpolate(meta["default"], self.scope(inputs=None, steps={}, env=env or {}))
            elif meta.get("required"):
                raise ActionError(f"{where}: input {key} is required")
            else:
                values[key] = ""
        before = len(self.log)
        failed_before, self.failed = self.failed, False
        self.github["action_path"] = str(folder)
        try:
            context = self.run_steps(list(runs.get("steps") or []), inputs=values, env=env or {},
                                     action_path=folder, where=where)
            scope = self.scope(inputs=values, steps=context, env=env or {})
            outputs = {str(k): interpolate((v or {}).get("value", ""), scope)
                       for k, v in (spec.get("outputs") or {}).items()}
        finally:
            self.github.pop("action_path", None)
        outcome = "failure" if self.failed else "success"
        self.failed = failed_before or self.failed
        return ActionResult(outcome, outputs, self.log[before:], context)

    # -- a workflow job ---------------------------------------------------------------------------------
    def run_job(self, workflow: Path, job_id: str, *, secrets: Mapping[str, str] | None = None,
                needs: Mapping[str, Any] | None = None, inputs: Mapping[str, str] | None = None,
                variables: Mapping[str, str] | None = None) -> ActionResult:
        """Runs one job of a workflow file (its steps; runs-on, permissions, concurrency are the
        platform's business and are left to static checks)."""
        spec = load_yaml(workflow)
        where = f"{workflow}: jobs.{job_id}"
        job = (spec.get("jobs") or {}).get(job_id)
        if not isinstance(job, dict):
            raise ActionError(f"{workflow}: no job {job_id!r}")
        extra = {"secrets": {"GITHUB_TOKEN": str(self.github.get("token", "")), **(secrets or {})},
                 "needs": dict(needs or {}), "vars": dict(variables or {}), "inputs": dict(inputs or {})}
        scope = self.scope(inputs=None, steps={}, env={}, extra=extra)
        env = {str(k): interpolate(v, scope) for k, v in (spec.get("env") or {}).items()}
        env.update({str(k): interpolate(v, self.scope(inputs=None, steps={}, env=env, extra=extra))
                    for k, v in (job.get("env") or {}).items()})
        if "if" in job and not condition(job["if"], scope):
            return ActionResult("skipped", {}, [])
        before = len(self.log)
        context = self.run_steps(list(job.get("steps") or []), inputs=None, env=env, extra=extra, where=where)
        scope = self.scope(inputs=None, steps=context, env=env, extra=extra)
        outputs = {str(k): interpolate(v, scope) for k, v in (job.get("outputs") or {}).items()}
        return ActionResult("failure" if self.failed else "success", outputs, self.log[before:], context)


def load_yaml(path: Path) -> dict[str, Any]:
    # PyYAML reads a bare `on:` key as True (YAML 1.1); the runner reads it as "on".
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict):
        raise ActionError(f"{path}: not a mapping")
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


# -- stand-ins for the other actions the examples use ---------------------------------------------------
def checkout_from(bare: Path) -> StandIn:
    """actions/checkout: a clone of `bare` in the workspace (origin = bare, like GitHub's)."""
    def checkout(call: Call) -> Mapping[str, str]:
        unknown = set(call.with_) - {"persist-credentials", "fetch-depth", "ref"}
        assert not unknown, f"checkout stand-in: unexpected inputs {unknown}"
        fetch_depth = call.with_.get("fetch-depth", "1")   # checkout's default: the one commit
        depth = ["--depth", fetch_depth] if fetch_depth != "0" else []
        # file:// because git ignores --depth for a plain path; a fresh runner's workspace is empty
        subprocess.run(["git", "clone", "--quiet", *depth, f"file://{bare}", str(call.job.workspace)],
                       env=call.env, check=True, capture_output=True)
        subprocess.run(["git", "remote", "set-url", "origin", str(bare)], cwd=call.job.workspace, env=call.env,
                       check=True)
        return {}
    return checkout


def setup_python(python: str = sys.executable) -> StandIn:
    """actions/setup-python with update-environment false: `python` as its python-path output."""
    def setup(call: Call) -> Mapping[str, str]:
        assert call.with_.get("update-environment") == "false", "setup-python would change the job's PATH"
        assert call.with_.get("python-version"), "setup-python needs a python-version"
        return {"python-path": python, "python-version": call.with_["python-version"]}
    return setup


@dataclass
class Artifacts:
    """actions/upload-artifact (v4.6) and actions/download-artifact of one workflow run: name → files.

    As v4 does: a name already uploaded in the run is refused (409 Conflict), and files or folders
    whose names start with a dot are left out unless include-hidden-files is true."""
    stored: dict[str, dict[str, bytes]] = field(default_factory=dict)
    on_upload: Callable[[str, dict[str, bytes]], None] | None = None

    def upload(self, call: Call) -> Mapping[str, str]:
        name, raw = call.with_["name"], call.with_["path"]
        if name in self.stored:
            raise RuntimeError(f"Failed to CreateArtifact: (409) Conflict: an artifact with this name already "
                               f"exists on the workflow run: {name}")
        hidden = call.with_.get("include-hidden-files", "false") == "true"
        files: dict[str, bytes] = {}
        for line in filter(None, (p.strip() for p in raw.splitlines())):
            path = Path(line) if os.path.isabs(line) else call.job.workspace / line
            if path.is_file():
                files[path.name] = path.read_bytes()   # one file: the artifact's root is its folder
            elif path.is_dir():
                files.update({p.relative_to(path).as_posix(): p.read_bytes()
                              for p in sorted(path.rglob("*")) if p.is_file()
                              and (hidden or not any(part.startswith(".") for part in p.relative_to(path).parts))})
        if not files and call.with_.get("if-no-files-found", "warn") == "error":
            raise RuntimeError(f"upload-artifact: no files found at {raw}")
        self.stored[name] = files
        if self.on_upload is not None:
            self.on_upload(name, files)
        return {"artifact-id": str(len(self.stored))}

    def download(self, call: Call) -> Mapping[str, str]:
        name = call.with_["name"]
        dest = Path(call.with_.get("path") or ".")
        dest = dest if dest.is_absolute() else call.job.workspace / dest
        for rel, data in self.stored[name].items():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            (dest / rel).write_bytes(data)
        return {"download-path": str(dest)}
