from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from headroom_ci.archive import ArchiveError
from headroom_ci.archive import extract_zip
from headroom_ci.archive import Limits


def _zip(path: Path, members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_extracts_nested_files(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "a.zip", {"manifest.json": b"{}", "sessions/a/b.jsonl": b"{}\n"})
    dest = tmp_path / "out"
    assert extract_zip(archive, dest) == 2
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) == [
        "manifest.json", "sessions/a/b.jsonl"]


@pytest.mark.parametrize("name", [
    pytest.param("../evil.txt", id="parent"),
    pytest.param("a/../../evil.txt", id="nested-parent"),
    pytest.param("/etc/evil.txt", id="absolute"),
    pytest.param("C:/evil.txt", id="drive"),
    pytest.param("..\\evil.txt", id="backslash-parent"),
])
def test_refuses_paths_that_leave_the_folder(tmp_path: Path, name: str) -> None:
    archive = tmp_path / "slip.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.txt", b"fine")
        zf.writestr(zipfile.ZipInfo(name), b"evil")
    with pytest.raises(ArchiveError, match="outside the target folder"):
        extract_zip(archive, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "out" / "ok.txt").exists()


def test_refuses_symlinks(tmp_path: Path) -> None:
    archive = tmp_path / "link.zip"
    info = zipfile.ZipInfo("link")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(ArchiveError, match="symbolic link"):
        extract_zip(archive, tmp_path / "out")


def test_refuses_a_zip_bomb_and_leaves_nothing(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "bomb.zip", {"a.txt": b"ok", "b.bin": b"\0" * (50 * 1024 * 1024)})
    dest = tmp_path / "out"
    with pytest.raises(ArchiveError, match="zip bomb"):
        extract_zip(archive, dest, limits=Limits(max_ratio=100))
    assert list(dest.iterdir()) == []


def test_total_size_limit(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "big.zip", {f"f{i}": bytes(range(256)) * 40 for i in range(4)},
                   compression=zipfile.ZIP_STORED)
    with pytest.raises(ArchiveError, match="size or compression-ratio limit"):
        extract_zip(archive, tmp_path / "out", limits=Limits(max_total_bytes=25_000))


def test_file_count_limit(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "many.zip", {f"f{i}": b"" for i in range(11)})
    with pytest.raises(ArchiveError, match="11 files, more than the limit of 10"):
        extract_zip(archive, tmp_path / "out", limits=Limits(max_files=10))


@pytest.mark.parametrize("data", [
    pytest.param(b"not a zip at all", id="text"),
    pytest.param(b"PK\x03\x04truncated", id="truncated"),
    pytest.param(b"", id="empty"),
])
def test_not_a_zip(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "x.zip"
    path.write_bytes(data)
    with pytest.raises(ArchiveError, match="not a readable zip archive"):
        extract_zip(path, tmp_path / "out")
