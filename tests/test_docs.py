"""The README's picture of a pull request is made from the code as it is (docs/pr_picture.py)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_pictured_description_is_what_the_code_makes_now() -> None:
    spec = importlib.util.spec_from_file_location("pr_picture", REPO / "docs" / "pr_picture.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    made = module.description()
    assert made.startswith("<!-- headroom-ci:fingerprints ") and "### Rules" in made
    assert (REPO / "docs" / "pr-description.md").read_text(encoding="utf-8") == made, \
        "the description changed: run python docs/pr_picture.py --png and commit docs/"
    assert (REPO / "docs" / "pr-description.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    # The README opens with the quick start, and the picture comes before any reference.
    assert readme.split("\n## ")[1].startswith("Quick start\n")
    assert "](docs/pr-description.png)" in readme.split("\n## ")[1]
