"""Safe extraction of untrusted zip archives (artifacts, session bundles)."""
from __future__ import annotations

import os
import shutil
import stat
import zipfile
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


def extract_zip(archive: Path, dest: Path, *, limits: Limits = Limits()) -> int:
    """Extracts `archive` into `dest`; returns the number of files written.

    Refuses the whole archive (ArchiveError) when a member would leave `dest`,
    is a link, or when the size, count or compression ratio caps are crossed.
    """
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
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
        written = 0
        total = 0
        for m in files:
            target = _member_target(dest, m.filename)
            assert target is not None
            target.parent.mkdir(parents=True, exist_ok=True)
            # Declared sizes can lie: count what actually comes out of the stream.
            budget = min(limits.max_total_bytes - total,
                         max(m.compress_size * limits.max_ratio, 1 << 20))
            try:
                with zf.open(m) as src, open(target, "wb") as dst:
                    size = 0
                    while chunk := src.read(1 << 20):
                        size += len(chunk)
                        if size > budget:
                            raise ArchiveError(
                                f"{archive}: member {m.filename!r} expands past the size or "
                                f"compression-ratio limit (a zip bomb?)")
                        dst.write(chunk)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as exc:
                raise ArchiveError(f"{archive}: member {m.filename!r} cannot be extracted ({exc})") from None
            except ArchiveError:
                shutil.rmtree(dest, ignore_errors=True)
                dest.mkdir(parents=True, exist_ok=True)
                raise
            total += size
            written += 1
        return written
