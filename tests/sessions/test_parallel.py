"""Reading in worker processes gives what reading here gives: the same sessions and skips, in
the same order, whatever the formats, archives, bundles and broken files on the way."""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from headroom_ci.sessions.jsonl import MAX_LINE_BYTES
from headroom_ci.sessions import load
from headroom_ci.sessions.load import iter_paths
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.model import Skip
from testing import hostile
from testing.claude_fixtures import assistant_lines
from testing.claude_fixtures import tool_result
from testing.claude_fixtures import tool_use
from testing.claude_fixtures import user_line
from testing.claude_fixtures import write_jsonl
from testing.examples import example_files


def _claude(path: Path, sid: str, calls: int, *, fail_every: int = 3) -> Path:
    records = []
    for i in range(calls):
        ts = f"2026-03-01T10:{i // 60:02d}:{i % 60:02d}Z"
        records += assistant_lines(f"msg_{sid}_{i}", [tool_use(f"toolu_{sid}_{i}", "Bash", command=f"make t{i}")], ts=ts)
        failed = i % fail_every == 0
        records.append(user_line([tool_result(f"toolu_{sid}_{i}", f"Exit code 2\nout {i}" if failed else "ok",
                                              is_error=failed)], ts=ts))
    return write_jsonl(path, records)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    for name, data in example_files().items():  # bundles of three CI runs: Claude, Codex, Gemini
        (root / "examples" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "examples" / name).write_bytes(data)
    for i in range(6):
        _claude(root / "claude" / f"s{i}.jsonl", f"s{i}", calls=5 + 7 * i)
    broken = root / "claude" / "broken.jsonl"
    broken.write_bytes(hostile.broken_transcript("b1", 3) + b"{oops\n" * 150)  # skips past the first 100 summarized
    (root / "claude" / "wrong.jsonl").write_bytes(b"".join(hostile.wrong_type_lines("w1")))
    os.link(root / "claude" / "s2.jsonl", root / "claude" / "s2-again.jsonl")  # read once
    (root / "claude" / "notes.json").write_text(json.dumps({"name": "not a transcript"}))
    (root / "claude" / "empty.jsonl").write_bytes(b"")
    with zipfile.ZipFile(root / "artifact.zip", "w") as zf:
        for i in range(3):
            zf.write(_claude(tmp_path / "zipped" / f"z{i}.jsonl", f"z{i}", calls=4 + i), f"claude/z{i}.jsonl")
        zf.writestr("claude/bad.jsonl", b"{nope\n")
    return root


def _read(paths: list[Path], *, jobs: int, batch_bytes: int = 0) -> list[Session | Skip]:
    return list(iter_paths(paths, jobs=jobs, batch_bytes=batch_bytes))


def test_parallel_read_equals_serial_read(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started = []
    real = load._executor

    def executor(workers: int):  # type: ignore[no-untyped-def]
        started.append(workers)
        return real(workers)
    monkeypatch.setattr(load, "_executor", executor)
    serial = _read([corpus], jobs=1)
    assert started == []
    parallel = _read([corpus], jobs=3)
    assert started == [2]  # two workers beside this process, and they did read
    assert parallel == serial
    # The corpus holds what the comparison is about.
    sessions = [i for i in serial if isinstance(i, Session)]
    assert {s.agent for s in sessions} == {"claude", "codex", "gemini"}
    assert any(s.run is not None for s in sessions) and any(s.run is None for s in sessions)
    assert any("artifact.zip" in s.path for s in sessions)
    assert any("more lines skipped" in i.reason for i in serial if isinstance(i, Skip))


@pytest.mark.parametrize("jobs, batch_bytes", [
    pytest.param(3, 0, id="a-file-a-task"),
    pytest.param(2, 5_000, id="batches-of-a-few-files"),
    pytest.param(2, 10**9, id="batch-never-full-read-here"),
])
def test_any_split_gives_the_same_result(corpus: Path, jobs: int, batch_bytes: int) -> None:
    paths = [corpus / "claude", corpus, corpus / "artifact.zip", corpus / "missing"]
    assert _read(paths, jobs=jobs, batch_bytes=batch_bytes) == _read(paths, jobs=1)


def test_a_batch_never_full_starts_no_worker(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_executor(workers: int) -> None:
        raise AssertionError("a worker was started")
    monkeypatch.setattr(load, "_executor", no_executor)
    assert _read([corpus], jobs=2, batch_bytes=10**9) == _read([corpus], jobs=1)


def test_a_file_replaced_after_the_walk_opened_it_is_not_mixed_up(tmp_path: Path) -> None:
    path = _claude(tmp_path / "t.jsonl", "t", calls=3)
    st = path.stat()
    other = _claude(tmp_path / "other.jsonl", "o", calls=1)
    os.replace(other, path)
    sessions, skips = load._decode_file(str(path), str(path), MAX_LINE_BYTES, True, (st.st_dev, st.st_ino))
    assert (sessions, skips) == (load._pack([]), [Skip(str(path), None, "cannot read: replaced while it was being read")])


def test_what_msgpack_cannot_carry_comes_back_as_objects(tmp_path: Path) -> None:
    # JSON numbers have no size limit; msgpack's integers stop at 64 bits.
    path = write_jsonl(tmp_path / "t.jsonl", [
        *assistant_lines("m1", [tool_use("toolu_1", "Bash", command="sleep 1", timeout=10**30)],
                         ts="2026-03-01T10:00:00Z"),
        user_line([tool_result("toolu_1", "ok")], ts="2026-03-01T10:00:01Z"),
    ])
    st = path.stat()
    sessions, skips = load._decode_file(str(path), str(path), MAX_LINE_BYTES, False, (st.st_dev, st.st_ino))
    assert isinstance(sessions, list) and skips == []
    assert [c.input for s in sessions for c in s.tool_calls] == [{"command": "sleep 1", "timeout": 10**30}]
    assert _read([path], jobs=2) == _read([path], jobs=1)


def test_batches_in_flight_are_bounded(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # However many files there are, _AHEAD_PER_JOB batches per worker are out at once, and this
    # process reads the rest: memory does not grow with the corpus.
    most = [0]
    sent = [0]
    submit = load._Pool._submit

    def counted_submit(self: load._Pool, batch: load._Batch) -> None:
        submit(self, batch)
        sent[0] += 1
        most[0] = max(most[0], self.out)
    monkeypatch.setattr(load._Pool, "_submit", counted_submit)
    for i in range(40):
        _claude(corpus / "many" / f"m{i:02d}.jsonl", f"m{i}", calls=2)
    items = _read([corpus / "many"], jobs=3, batch_bytes=1_000)
    assert [Path(i.path).name for i in items] == [f"m{i:02d}.jsonl" for i in range(40)]
    assert 0 < sent[0] <= 40
    assert 1 <= most[0] <= load._AHEAD_PER_JOB * 2
