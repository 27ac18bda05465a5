"""The GitHub Actions runtime: outputs, job summary, annotations, log groups, masks.

The one module that writes to the runner. Outside Actions (GITHUB_ACTIONS unset) every
function is a no-op or plain text, so commands call them unconditionally.
"""
from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from collections.abc import Mapping
from typing import TextIO

from headroom_ci.errors import FatalError
from headroom_ci.safety import inert
from headroom_ci.safety.redact import redact

# GitHub caps a step summary at 1 MiB; past it the summary upload fails.
SUMMARY_LIMIT = 1024 * 1024 - 1024


def active(env: Mapping[str, str] = os.environ) -> bool:
    return env.get("GITHUB_ACTIONS") == "true"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **props: str) -> str:
    """A workflow command line; what follows `::` may contain anything, escaped."""
    args = ",".join(f"{k}={escape_property(v)}" for k, v in props.items() if v)
    return f"::{name}{' ' + args if args else ''}::{escape_data(redact(message))}"


def annotate(level: str, message: str, *, out: TextIO, title: str = "", file: str = "",
             env: Mapping[str, str] = os.environ) -> None:
    """`::error::`/`::warning::`/`::notice::` in Actions; `level: message` elsewhere."""
    if active(env):
        out.write(command(level, message, title=title, file=file) + "\n")
    else:
        out.write(f"{level}: {redact(message)}\n")


def untrusted(text: str, *, out: TextIO, env: Mapping[str, str] = os.environ) -> None:
    """Writes text that holds transcript or model words. In Actions it sits between
    `::stop-commands::<token>` and `::<token>::`, so no line of it runs as a workflow command
    (`::add-mask::`, `::set-output`, `::stop-commands::` of its own); the token is random per
    call, so the text cannot end the fence early."""
    text = redact(text)
    if not text:
        return
    if not active(env):
        out.write(text)
        return
    while True:
        token = secrets.token_hex(16)
        if token not in text:
            break
    end = "" if text.endswith("\n") else "\n"
    out.write(f"::stop-commands::{token}\n{inert.log(text)}{end}::{token}::\n")


def mask(value: str, *, out: TextIO, env: Mapping[str, str] = os.environ) -> None:
    if active(env) and value:
        for line in value.splitlines():
            out.write(f"::add-mask::{escape_data(line)}\n")


@contextlib.contextmanager
def group(title: str, *, out: TextIO, env: Mapping[str, str] = os.environ) -> Iterator[None]:
    if not active(env):
        yield
        return
    out.write(f"::group::{escape_data(title)}\n")
    try:
        yield
    finally:
        out.write("::endgroup::\n")


def _delimited(name: str, value: str) -> str:
    # A random delimiter that the value cannot contain, as the runner's own toolkit does.
    while True:
        delimiter = f"ghadelimiter_{secrets.token_hex(8)}"
        if delimiter not in value:
            return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def set_outputs(outputs: Mapping[str, str], *, env: Mapping[str, str] = os.environ) -> bool:
    """Appends the outputs to $GITHUB_OUTPUT; False when there is none (not in Actions)."""
    path = env.get("GITHUB_OUTPUT")
    if not path:
        return False
    _append(path, "".join(_delimited(name, redact(value)) for name, value in outputs.items()), "GITHUB_OUTPUT")
    return True


def _append(path: str, text: str, variable: str) -> None:
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise _unwritable(variable, path, str(exc.strerror or exc)) from None


def _unwritable(variable: str, path: str, problem: str) -> FatalError:
    return FatalError(f"{variable} {path}: cannot write there ({problem}): inside GitHub Actions the runner sets "
                      f"it; elsewhere unset {variable}")


def check_files(env: Mapping[str, str] = os.environ) -> None:
    """Before any work: the runner's files a command appends to at its end can be written, so a
    wrong GITHUB_OUTPUT or GITHUB_STEP_SUMMARY fails the step before any request, not after it."""
    for variable in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        path = env.get(variable)
        if not path:
            continue
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path):
            problem = "a folder, not a file"
        elif not os.path.isdir(folder):
            problem = f"no such folder {folder}"
        elif not os.access(path if os.path.exists(path) else folder, os.W_OK):
            problem = "permission denied"
        else:
            continue
        raise _unwritable(variable, path, problem)


def add_summary(markdown: str, *, env: Mapping[str, str] = os.environ) -> bool:
    path = env.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    text = redact(markdown)
    if len(text.encode()) > SUMMARY_LIMIT:
        text = text.encode()[:SUMMARY_LIMIT].decode(errors="ignore") + "\n\n*(summary truncated)*\n"
    _append(path, text if text.endswith("\n") else text + "\n", "GITHUB_STEP_SUMMARY")
    return True
