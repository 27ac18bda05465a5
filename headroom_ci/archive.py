"""Safe extraction of untrusted zip archives (artifacts, session bundles)."""
from __future__ import annotations

import lzma
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from pathlib import PurePosixPath

from headroom_ci.errors import FatalError


class ArchiveError(FatalError):
    pass


@dataclass(frozen=True)
class Limits:
    max_total_bytes: int = 2 * 1024 * 1024 * 1024
    max_files: int = 20_000
    max_ratio: int = 200  # uncompressed / compressed, per member


class Budget:
    """Bytes that may still be extracted, shared by every archive of one read."""

    __slots__ = ("left",)

    def __init__(self, left: int) -> None:
        self.left = left


# What a damaged or unusual member raises while it is decompressed.
_MEMBER_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError,
                  ValueError, RuntimeError, zlib.error, lzma.LZMAError)


def _member_target(dest: Path, name: str) -> Path | None:
    """Where a member may be written, or None when its name would leave `dest`."""
    if "\x00" in name or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return None
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if any(part == ".." for part in parts):
        return None
    target = dest.joinpath(*parts) if parts else dest
    root = dest.resolve()
    if not str(target.resolve()).startswith(str(root) + os.sep):
        return None
    return target


def extract_zip(archive: Path, dest: Path, *, limits: Limits = Limits(), budget: Budget | None = None) -> int:
    """Extracts `archive` into `dest`; returns the number of files written.

    Refuses the whole archive (ArchiveError) when a member would leave `dest`,
    is a link, is encrypted, or when the size, count or compression ratio caps
    are crossed. `budget`, when given, is the size cap shared with other
    archives, and is charged with what this one wrote.

    Members are extracted into a fresh folder beside `dest` and moved into
    place only when all of them were written: on any ArchiveError nothing is
    left behind, and what `dest` already held is never touched or replaced.
    """
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise ArchiveError(f"{archive}: not a readable zip archive ({exc})") from None
    with zf:
        members = zf.infolist()
        files = [m for m in members if not m.is_dir()]
        if len(files) > limits.max_files:
            raise ArchiveError(f"{archive}: {len(files)} files, more than the limit of {limits.max_files}")
        for m in members:
            if _member_target(dest, m.filename) is None:
                raise ArchiveError(f"{archive}: member {m.filename!r} would be written outside the target folder")
            if stat.S_ISLNK(m.external_attr >> 16):
                raise ArchiveError(f"{archive}: member {m.filename!r} is a symbolic link")
            if m.flag_bits & 0x1:
                raise ArchiveError(f"{archive}: member {m.filename!r} is encrypted")
        cap = limits.max_total_bytes if budget is None else min(limits.max_total_bytes, budget.left)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            work = Path(tempfile.mkdtemp(prefix=".extracting-", dir=dest.parent))
        except OSError as exc:
            raise ArchiveError(f"{archive}: cannot create a folder beside {dest} ({exc.strerror or exc})") from None
        try:
            written, total = _extract(zf, files, work, archive=archive, limits=limits, cap=cap)
            _move_into_place(work, dest, archive=archive)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if budget is not None:
            budget.left -= total
        return written


def _extract(zf: zipfile.ZipFile, files: list[zipfile.ZipInfo], work: Path, *, archive: Path,
             limits: Limits, cap: int) -> tuple[int, int]:
    written = total = 0
    for m in files:
        target = _member_target(work, m.filename)
        assert target is not None
        # Declared sizes can lie: count what actually comes out of the stream.
        budget = min(cap - total, max(m.compress_size * limits.max_ratio, 1 << 20))
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(m) as src, open(target, "wb") as dst:
                size = 0
                while chunk := src.read(1 << 20):
                    size += len(chunk)
                    if size > budget:
                        raise ArchiveError(
                            f"{archive}: member {m.filename!r} expands past the size or "
                            f"compression-ratio limit (a zip bomb?)")
                    dst.write(chunk)
        except _MEMBER_ERRORS as exc:
            # e.g. a file `a` and a member `a/b.jsonl`: the folder cannot be made.
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise ArchiveError(f"{archive}: member {m.filename!r} cannot be extracted ({why})") from None
        total += size
        written += 1
    return written, total


def _move_into_place(work: Path, dest: Path, *, archive: Path) -> None:
    try:
        if not os.path.lexists(dest):
            os.rename(work, dest)
            return
        if not dest.is_dir() or dest.is_symlink():
            raise ArchiveError(f"{archive}: {dest} exists and is not a folder")
        entries = sorted(work.iterdir())
        clash = next((e.name for e in entries if os.path.lexists(dest / e.name)), None)
        if clash is not None:
            raise ArchiveError(f"{archive}: {dest / clash} already exists")
        moved: list[Path] = []
        try:
            for entry in entries:
                os.rename(entry, dest / entry.name)
                moved.append(entry)
        except OSError:
            for entry in moved:  # put back what was moved: all or nothing
                os.rename(dest / entry.name, entry)
            raise
    except OSError as exc:
        raise ArchiveError(f"{archive}: cannot move the extracted files into {dest} ({exc.strerror or exc})") \
            from None
