from __future__ import annotations

import pytest

from headroom_ci.since import Age
from headroom_ci.since import age


@pytest.mark.parametrize(("text", "expected", "words"), [
    pytest.param("14d", Age(14, "days"), "14 days", id="days"),
    pytest.param(" 1w ", Age(1, "weeks"), "1 week", id="one-week-spaces"),
    pytest.param("36h", Age(36, "hours"), "36 hours", id="hours"),
    pytest.param("2026-11-01", None, None, id="a-date"),
    pytest.param("14", None, None, id="no-unit"),
    pytest.param("d", None, None, id="no-number"),
])
def test_age(text: str, expected: Age | None, words: str | None) -> None:
    found = age(text)
    assert found == expected and (found.words() if found else None) == words
