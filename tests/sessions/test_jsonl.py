from __future__ import annotations

import io

import pytest

from headroom_ci.sessions.jsonl import decode_lines
from headroom_ci.sessions.jsonl import iter_lines


@pytest.mark.parametrize("data, expected", [
    pytest.param(b'{"a":1}\n{"b":2}\n', [(1, b'{"a":1}\n'), (2, b'{"b":2}\n')], id="plain"),
    pytest.param(b'{"a":1}', [(1, b'{"a":1}')], id="no-final-newline"),
    pytest.param(b'\xef\xbb\xbf{"a":1}\n', [(1, b'{"a":1}\n')], id="bom"),
    pytest.param(b'{"a":"' + b"x" * 40 + b'"}\n{"b":2}\n', [(1, None), (2, b'{"b":2}\n')], id="long-line-drained"),
    pytest.param(b"x" * 100, [(1, None)], id="long-last-line"),
    pytest.param(b"", [], id="empty"),
])
def test_iter_lines(data: bytes, expected: list[tuple[int, bytes | None]]) -> None:
    assert list(iter_lines(io.BytesIO(data), max_line=32)) == expected


def test_long_line_is_read_in_bounded_chunks() -> None:
    class Spy(io.BytesIO):
        biggest = 0

        def readline(self, size: int | None = -1) -> bytes:
            line = super().readline(size)
            Spy.biggest = max(Spy.biggest, len(line))
            return line

    data = b"[" + b"1," * 3_000_000 + b"1]\n{}\n"
    assert list(iter_lines(Spy(data), max_line=1024)) == [(1, None), (2, b"{}\n")]
    assert Spy.biggest <= 1 << 20


def test_decode_lines_reports_each_bad_line() -> None:
    skipped: list[tuple[int | None, str]] = []
    lines = [(1, b'{"ok": 1}\n'), (2, b"\n"), (3, b"{oops\n"), (4, b'"str"\n'), (5, None),
             (6, b'{"a": "\x00"}\n'), (7, b"[" * 5000 + b"]" * 5000 + b"\n"), (8, b'{"ok": 2}')]
    out = list(decode_lines(iter(lines), skip=lambda n, r: skipped.append((n, r)), max_line=99))
    assert out == [(1, {"ok": 1}), (8, {"ok": 2})]
    assert [n for n, _ in skipped] == [3, 4, 5, 6, 7]
    assert skipped[2] == (5, "line longer than 99 bytes")
    assert skipped[1] == (4, "expected a JSON object")
