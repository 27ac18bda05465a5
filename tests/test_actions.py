from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from headroom_ci import actions

ON = {"GITHUB_ACTIONS": "true"}


@pytest.mark.parametrize("level, message, props, expected", [
    pytest.param("error", "plain", {}, "::error::plain", id="plain"),
    pytest.param("warning", "50%\nnext\r", {}, "::warning::50%25%0Anext%0D", id="data-escaped"),
    pytest.param("error", "x", {"title": "a: b, c", "file": "AGENTS.md"}, "::error title=a%3A b%2C c,file=AGENTS.md::x",
                 id="properties-escaped"),
    pytest.param("error", "::set-output name=x::y", {}, "::error::::set-output name=x::y", id="no-injection-of-commands"),
    pytest.param("notice", "token ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", {},
                 "::notice::token [REDACTED:github-token]", id="redacted"),
])
def test_command(level: str, message: str, props: dict[str, str], expected: str) -> None:
    assert actions.command(level, message, **props) == expected


@pytest.mark.parametrize("env, expected", [
    pytest.param(ON, "::error title=fetch::it broke%0Ahere\n", id="in-actions"),
    pytest.param({}, "error: it broke\nhere\n", id="elsewhere"),
])
def test_annotate(env: dict[str, str], expected: str) -> None:
    out = io.StringIO()
    actions.annotate("error", "it broke\nhere", title="fetch", out=out, env=env)
    assert out.getvalue() == expected


def test_group_and_mask() -> None:
    out = io.StringIO()
    with actions.group("fetch artifacts", out=out, env=ON):
        out.write("line\n")
    actions.mask("s3cr3t\nsecond", out=out, env=ON)
    assert out.getvalue() == "::group::fetch artifacts\nline\n::endgroup::\n::add-mask::s3cr3t\n::add-mask::second\n"
    quiet = io.StringIO()
    with actions.group("x", out=quiet, env={}):
        pass
    actions.mask("s3cr3t", out=quiet, env={})
    assert quiet.getvalue() == ""


def test_outputs_use_delimiters_the_value_cannot_close(tmp_path: Path) -> None:
    path = tmp_path / "out"
    env = {**ON, "GITHUB_OUTPUT": str(path)}
    assert actions.set_outputs({"pull-request-number": "7", "body": "a\nghadelimiter_x\nb"}, env=env)
    text = path.read_text()
    blocks = re.findall(r"^(\S+)<<(ghadelimiter_[0-9a-f]{16})\n(.*?)\n\2\n", text, re.S | re.M)
    assert [(name, value) for name, _, value in blocks] == [("pull-request-number", "7"),
                                                            ("body", "a\nghadelimiter_x\nb")]
    assert not actions.set_outputs({"x": "1"}, env={})


def test_summary_is_appended_and_capped(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    env = {**ON, "GITHUB_STEP_SUMMARY": str(path)}
    assert actions.add_summary("# one", env=env)
    assert actions.add_summary("two\n", env=env)
    assert path.read_text() == "# one\ntwo\n"
    actions.add_summary("x" * (2 * 1024 * 1024), env=env)
    assert path.stat().st_size < 1024 * 1024
    assert path.read_text().endswith("*(summary truncated)*\n")


@pytest.mark.parametrize("text", [
    pytest.param("::add-mask::x\n::stop-commands::abc\n::abc::\n##[set-output name=a]b\nrule\n", id="commands"),
    pytest.param("no newline at the end", id="no-final-newline"),
])
def test_untrusted_text_sits_between_stop_commands_and_its_random_end(text: str) -> None:
    out = io.StringIO()
    actions.untrusted(text, out=out, env=ON)
    lines = out.getvalue().splitlines()
    token = lines[0].removeprefix("::stop-commands::")
    assert re.fullmatch(r"[0-9a-f]{32}", token) and lines[-1] == f"::{token}::"
    assert "\n".join(lines[1:-1]) == text.rstrip("\n").replace("##[", "#\u200b#[")
    elsewhere = io.StringIO()
    actions.untrusted(text, out=elsewhere, env={})
    assert elsewhere.getvalue() == text


def test_untrusted_text_gets_a_new_token_each_time() -> None:
    outs = [io.StringIO(), io.StringIO()]
    for out in outs:
        actions.untrusted("x\n", out=out, env=ON)
    assert outs[0].getvalue() != outs[1].getvalue()
