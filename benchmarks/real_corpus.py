"""A corpus of transcripts someone else wrote, given by path (a folder or a .zip), for benchmarks.

Nothing of it is copied into the project: a zip is extracted into a scratch folder the
benchmark removes, and a "half" corpus is made of hard links to half of its files (copies
when the scratch folder is on another file system).
"""
from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    sys.path.append(str(_REPO))

from headroom_ci.archive import extract_zip  # noqa: E402
from headroom_ci.archive import Limits  # noqa: E402

# What the readers compared here open: headroom-ai reads *.jsonl only.
SUFFIXES = (".jsonl", ".json")


@dataclass(frozen=True)
class RealCorpus:
    name: str      # the zip's or folder's name
    root: Path     # the folder the readers are pointed at
    files: tuple[Path, ...]

    @property
    def bytes(self) -> int:
        return sum(f.stat().st_size for f in self.files)


def transcripts(root: Path) -> tuple[Path, ...]:
    return tuple(sorted(p for p in root.rglob("*") if p.suffix in SUFFIXES and p.is_file() and not p.is_symlink()))


def open_corpus(path: Path, scratch: Path) -> RealCorpus:
    """`path` as a folder of transcripts: itself, or the zip extracted under `scratch`."""
    if path.is_dir():
        return RealCorpus(path.name, path, transcripts(path))
    if path.suffix.lower() != ".zip":
        raise SystemExit(f"{path}: expected a folder or a .zip of transcripts")
    dest = scratch / path.stem
    if not dest.is_dir():
        extract_zip(path, dest, limits=Limits(max_total_bytes=64 * 1024 ** 3, max_files=1_000_000))
    return RealCorpus(path.stem, dest, transcripts(dest))


def half_of(corpus: RealCorpus, scratch: Path) -> RealCorpus:
    """Every other file by size (so about half the bytes), under `scratch`, same relative paths."""
    dest = scratch / f"{corpus.name}-half"
    if dest.exists():
        shutil.rmtree(dest)
    chosen = sorted(corpus.files, key=lambda p: (p.stat().st_size, str(p)))[::2]
    for src in chosen:
        target = dest / src.relative_to(corpus.root)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, target)
        except OSError:
            shutil.copyfile(src, target)
    return RealCorpus(f"{corpus.name}-half", dest, transcripts(dest))
