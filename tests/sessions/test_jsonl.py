from __future__ import annotations

import io
from typing import Any

import msgspec
import pytest

from headroom_ci.sessions.jsonl import decode_lines
from headroom_ci.sessions.jsonl import iter_lines
from headroom_ci.sessions.jsonl import why_undecodable


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


class _Typed(msgspec.Struct):
    type: Any = None


@pytest.mark.parametrize(("typed", "line", "expected"), [
    pytest.param(False, b'{"n": 1e400}\n', (None, "invalid JSON: a value out of range or of the wrong type"),
                 id="untyped-out-of-range-number"),
    pytest.param(False, b"1e400\n", (None, "expected a JSON object"), id="untyped-top-level-number"),
    pytest.param(False, b"[1]\n", (None, "expected a JSON object"), id="untyped-array"),
    pytest.param(True, b"[1]\n", (None, "expected a JSON object"), id="typed-array"),
    pytest.param(True, b'"text"\n', (None, "expected a JSON object"), id="typed-string"),
    pytest.param(True, b'{"type": 1e400}\n', (None, "invalid JSON: a value out of range or of the wrong type"),
                 id="typed-out-of-range-number-in-a-field-read"),
    pytest.param(True, b'{"other": 1e400, "type": "x"}\n', (_Typed("x"), None),
                 id="typed-out-of-range-number-in-a-skipped-field"),
])
def test_decode_errors_say_what_was_wrong(typed: bool, line: bytes, expected: tuple[Any, str | None]) -> None:
    skipped: list[str] = []
    decode = msgspec.json.Decoder(_Typed).decode if typed else msgspec.json.Decoder().decode
    out = list(decode_lines(iter([(1, line)]), skip=lambda n, r: skipped.append(r), decode=decode))
    obj, reason = expected
    assert (out, skipped) == (([(1, obj)], []) if reason is None else ([], [reason]))


@pytest.mark.parametrize(("data", "line", "expected"), [
    pytest.param(b'{"a": 1,}\n', True, "invalid JSON: malformed at column 9", id="line-malformed"),
    pytest.param(b'{"a": "unfinis', True, "invalid JSON: cut off (no end of line)", id="line-cut-off"),
    pytest.param(b'{"a": "\xff"}\n', True, "invalid JSON: invalid UTF-8", id="line-not-utf8"),
    pytest.param(b'{"a": 1e400}\n', True, "invalid JSON: a value out of range or of the wrong type", id="line-range"),
    pytest.param(b'{\n  "a": 1,\n}', False, "invalid JSON: malformed at line 3 column 1", id="document-malformed"),
    pytest.param(b'{"a": "unfinis', False, "invalid JSON: malformed at line 1 column 7", id="document-cut-off"),
    pytest.param(b"[" * 100_000, False, "invalid JSON: nested too deeply", id="document-deep"),
])
def test_why_undecodable_words_the_reason_itself(data: bytes, line: bool, expected: str) -> None:
    try:
        msgspec.json.decode(data)
    except Exception as exc:  # noqa: BLE001 - whatever the library raises, the words are ours
        assert why_undecodable(data, exc, line=line) == expected
    else:
        raise AssertionError("the sample must be undecodable")
