"""Properties that must hold for any input, checked with hypothesis."""
from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st

from headroom_ci.mining.paths import repo_roots
from headroom_ci.mining.signature import signature_of
from headroom_ci.sessions.load import read_paths
from headroom_ci.sessions.model import Session
from testing.builders import bash
from testing.builders import fail
from testing.builders import session

# Lines that look like the start of each format, so arbitrary bytes after them reach the readers.
_HEADS = [
    b'{"type":"user","sessionId":"s","uuid":"u","parentUuid":null,"message":{"content":[]}}\n',
    b'{"timestamp":"t","type":"session_meta","payload":{"id":"x","cwd":"/w"}}\n',
    b'{"type":"thread.started","thread_id":"t"}\n',
    b'{"sessionId":"s","projectHash":"h","startTime":"t"}\n',
    b'{"type":"init","timestamp":"t","session_id":"s","model":"m"}\n',
    b'{"type":"system","subtype":"init","session_id":"s","cwd":"/w"}\n',
    b'{"type":"tool_use","timestamp":1,"sessionID":"ses_1","part":{}}\n',
    b"[", b"{", b"",
]
_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["type", "message", "content", "payload", "id", "call_id", "tool_use_id", "is_error",
                         "usage", "timestamp", "cwd", "name", "input", "arguments", "output", "status", "toolCalls",
                         "messages", "part", "state", "item", "exit_code", "info", "sessionId", "session_id"]),
        inner, max_size=6),
    max_leaves=25)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(head=st.sampled_from(_HEADS), tail=st.binary(max_size=400))
def test_readers_never_raise_on_arbitrary_bytes(tmp_path: Path, head: bytes, tail: bytes) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(head + tail)
    result = read_paths([path])
    assert all(isinstance(s, Session) for s in result.sessions)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(head=st.sampled_from(_HEADS), records=st.lists(_JSONISH, max_size=6))
def test_readers_never_raise_on_wrong_types(tmp_path: Path, head: bytes, records: list[object]) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(head + b"".join(json.dumps(r).encode() + b"\n" for r in records))
    read_paths([path])
    doc = tmp_path / "d.json"
    doc.write_text(json.dumps(records, indent=1))
    read_paths([doc])


_SEGMENT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)


@settings(max_examples=200, deadline=None)
@given(repo=_SEGMENT, home=_SEGMENT, rel=st.lists(_SEGMENT, min_size=1, max_size=4), n1=st.integers(0, 10**6),
       n2=st.integers(0, 10**6))
def test_signatures_are_stable_under_path_and_number_changes(repo: str, home: str, rel: list[str], n1: int,
                                                             n2: int) -> None:
    """The same mistake in two checkouts, with other numbers in it, has the same signature."""
    path = "/".join(rel) + ".py"
    sigs = set()
    for root, n in ((f"/home/runner/work/{repo}/{repo}", n1), (f"/Users/{home}/src/{repo}", n2)):
        s = session(bash(f"python3 -m pytest {root}/{path} --count {n}", "Exit code 1\nNo module named 'x'", code=1),
                    fail("Read", "File does not exist.", file_path=f"{root}/{path}"), cwd=root)
        sigs.add(tuple(signature_of(c, repo_roots(cwd=root)).signature for c in s.tool_calls))
    assert len(sigs) == 1
