from __future__ import annotations

import tracemalloc

import pytest

from headroom_ci.sessions.build import as_exit
from headroom_ci.sessions.build import Calls
from headroom_ci.sessions.build import duration_ms
from headroom_ci.sessions.build import iso_ms
from headroom_ci.sessions.build import usage_cached_inside
from headroom_ci.sessions.model import cap_output
from headroom_ci.sessions.model import Clip
from headroom_ci.sessions.model import OUTPUT_HEAD
from headroom_ci.sessions.model import OUTPUT_TAIL
from headroom_ci.sessions.model import Usage

KEEP = OUTPUT_HEAD + OUTPUT_TAIL


@pytest.mark.parametrize("pieces", [
    pytest.param([], id="nothing"),
    pytest.param(["short"], id="one-short"),
    pytest.param(["a" * KEEP], id="exactly-the-cap"),
    pytest.param(["a" * KEEP, "b"], id="one-past-the-cap"),
    pytest.param(["h" * 10, "m" * 9000, "t" * 10], id="long-middle"),
    pytest.param([chr(97 + i % 26) * 37 for i in range(500)], id="many-small"),
    pytest.param(["x" * 5000, "", "y" * 3, "z" * 5000], id="large-small-large"),
    pytest.param(["p" * 100, Clip("q" * 10_000), "r" * 50], id="a-clip-appended"),
])
def test_clip_keeps_what_cap_output_keeps(pieces: list[str | Clip]) -> None:
    clip = Clip()
    for piece in pieces:
        clip.add(piece)
    full = "".join(p if isinstance(p, str) else "q" * 10_000 for p in pieces)
    assert clip.render() == (cap_output(full), len(full))


def test_clip_of_a_file_read_at_both_ends() -> None:
    clip = Clip.of_parts("H" * 5000, "T" * 5000, 1_000_000)
    assert clip.render() == ("H" * OUTPUT_HEAD + "\n[… 995904 characters omitted …]\n" + "T" * OUTPUT_TAIL, 1_000_000)


def test_outputs_are_capped_when_a_call_finishes() -> None:
    calls = Calls()
    tracemalloc.start()
    try:
        for i in range(100):
            calls.start(call_id=f"c{i}", name="Bash", input={})
            calls.finish(f"c{i}", output=str(i % 10) * 1_000_000)  # 100 MB of output in all
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    built = calls.build()
    assert [(c.output, c.output_size) for c in built][:2] == [(cap_output("0" * 1_000_000), 1_000_000),
                                                              (cap_output("1" * 1_000_000), 1_000_000)]
    assert peak < 3_000_000


def test_a_key_links_calls_whose_ids_cannot() -> None:
    calls = Calls()
    calls.start(call_id="toolu_1", key=("part", "p1"), name="bash", input={})
    calls.start(call_id="toolu_1", key=("part", "p2"), name="read", input={})  # the same call id reused
    calls.start(call_id=None, key=("#", 2), name="glob", input={})
    calls.start(call_id=None, name="grep", input={})  # no key at all: a call that cannot be finished
    assert calls.finish(("part", "p2"), output="b", is_error=True)
    assert calls.finish(("#", 2), output="c")
    assert not calls.finish("toolu_1", output="x")
    assert not calls.finish(None, output="x")
    assert [(c.call_id, c.name, c.output, c.is_error) for c in calls.build()] == [
        ("toolu_1", "bash", "", False), ("toolu_1", "read", "b", True), (None, "glob", "c", False),
        (None, "grep", "", False)]


@pytest.mark.parametrize(("ts", "expected"), [
    pytest.param("2026-03-01T10:00:00Z", 1772359200000.0, id="utc-z"),
    pytest.param("2026-03-01T10:00:00+00:00", 1772359200000.0, id="utc-offset"),
    pytest.param("2026-03-01T11:00:00+01:00", 1772359200000.0, id="other-offset"),
    pytest.param("2026-03-01T10:00:00", 1772359200000.0, id="no-zone-is-utc"),
    pytest.param("0001-01-01T00:00:00", -62135596800000.0, id="year-1-no-zone"),
    pytest.param("0001-01-01T00:00:00+14:00", -62135647200000.0, id="year-1-with-offset"),
    pytest.param("9999-12-31T23:59:59Z", 253402300799000.0, id="year-9999"),
    pytest.param("not a time", None, id="text"),
    pytest.param("", None, id="empty"),
    pytest.param(None, None, id="none"),
])
def test_iso_ms(ts: str | None, expected: float | None) -> None:
    assert iso_ms(ts) == expected


@pytest.mark.parametrize(("start", "end", "expected"), [
    pytest.param("0001-01-01T00:00:00", "0001-01-01T00:00:01", 1000, id="year-1"),
    pytest.param("2026-03-01T10:00:01Z", "2026-03-01T10:00:00Z", None, id="backwards"),
    pytest.param("2026-03-01T10:00:00Z", "2026-03-01T10:00:00.250", 250, id="zone-and-no-zone"),
])
def test_duration_ms(start: str, end: str, expected: int | None) -> None:
    assert duration_ms(start, end) == expected


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param(0, 0, id="zero"), pytest.param(-1, -1, id="killed"), pytest.param(127, 127, id="positive"),
    pytest.param(True, None, id="bool"), pytest.param(1.0, None, id="float"), pytest.param("1", None, id="text"),
])
def test_as_exit(value: object, expected: int | None) -> None:
    assert as_exit(value) == expected


@pytest.mark.parametrize(("inp", "cached", "out", "expected"), [
    pytest.param(1000, 800, 50, Usage(input=200, output=50, cache_read=800), id="cached-inside"),
    pytest.param(10, 40, 5, Usage(input=0, output=5, cache_read=40), id="cached-above-input"),
])
def test_usage_cached_inside(inp: int, cached: int, out: int, expected: Usage) -> None:
    assert usage_cached_inside(input=inp, cached=cached, output=out) == expected
