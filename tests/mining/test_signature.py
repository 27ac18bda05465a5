from __future__ import annotations

import pytest

from headroom_ci.mining.signature import CallSig
from headroom_ci.mining.signature import signature_of
from headroom_ci.sessions.model import ToolCall

ROOT = "/home/runner/work/shop/shop"


def _call(name: str, kind: str, **input: object) -> ToolCall:
    return ToolCall(index=0, name=name, kind=kind, input=input, output="", output_size=0,  # type: ignore[arg-type]
                    is_error=False)


@pytest.mark.parametrize("call, expected", [
    pytest.param(_call("apply_patch", "edit", input="*** Begin Patch\n*** Update File: src/a.py\n@@\n-x\n+y\n"),
                 CallSig("edit", "src/a.py", path="src/a.py"), id="codex-patch-names-its-file"),
    pytest.param(_call("apply_patch", "edit", input="no header"), CallSig("edit", "apply_patch"), id="patch-without-file"),
    pytest.param(_call("Read", "read", file_path=f"{ROOT}/src/a.py"), CallSig("read", "src/a.py", path="src/a.py"),
                 id="read"),
    pytest.param(_call("Grep", "search", pattern="def x"), CallSig("search", "def x in .", path=".", pattern="def x"),
                 id="search-without-a-path-is-the-root"),
])
def test_signature_of(call: ToolCall, expected: CallSig) -> None:
    assert signature_of(call, (ROOT,)) == expected
