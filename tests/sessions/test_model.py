from __future__ import annotations

from typing import Any

import pytest

from headroom_ci.sessions.model import cap_input
from headroom_ci.sessions.model import cap_output
from headroom_ci.sessions.model import INPUT_CAP
from headroom_ci.sessions.model import OUTPUT_HEAD
from headroom_ci.sessions.model import OUTPUT_TAIL


@pytest.mark.parametrize("text, expected", [
    pytest.param("short", "short", id="short"),
    pytest.param("a" * (OUTPUT_HEAD + OUTPUT_TAIL), "a" * (OUTPUT_HEAD + OUTPUT_TAIL), id="at-limit"),
    pytest.param("h" * OUTPUT_HEAD + "m" * 10 + "t" * OUTPUT_TAIL,
                 "h" * OUTPUT_HEAD + "\n[… 10 characters omitted …]\n" + "t" * OUTPUT_TAIL, id="head-and-tail"),
])
def test_cap_output(text: str, expected: str) -> None:
    assert cap_output(text) == expected


@pytest.mark.parametrize("given, expected", [
    pytest.param({"command": "ls", "timeout": 5}, {"command": "ls", "timeout": 5}, id="untouched"),
    pytest.param({"file_path": "a.py", "content": "x" * (INPUT_CAP + 3)},
                 {"file_path": "a.py", "content": "x" * INPUT_CAP + "[… 3 characters omitted]"}, id="long-string"),
    pytest.param({"edits": ["y" * (INPUT_CAP + 1)]}, {"edits": ["y" * (INPUT_CAP + 1)]}, id="nested-kept"),
])
def test_cap_input(given: dict[str, Any], expected: dict[str, Any]) -> None:
    assert cap_input(given) == expected
