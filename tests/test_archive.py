from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from headroom_ci.archive import ArchiveError
from headroom_ci.archive import Budget
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


def _encrypted(path: Path) -> Path:
    """A zip whose one member is marked encrypted (general-purpose flag bit 0)."""
    raw = bytearray(_zip(path, {"a.jsonl": b"{}\n"}).read_bytes())
    raw[6] |= 1  # local file header
    raw[raw.find(b"PK\x01\x02") + 8] |= 1  # central directory
    path.write_bytes(bytes(raw))
    return path


def _corrupt(path: Path) -> Path:
    """A zip whose second member's deflate stream is damaged (zlib.error on reading)."""
    _zip(path, {"a.txt": b"ok", "b.txt": bytes(range(256)) * 64})
    raw = bytearray(path.read_bytes())
    at = raw.find(b"PK\x03\x04", 4) + 30 + len("b.txt")
    raw[at:at + 8] = b"\xff" * 8
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize(("build", "limits", "message"), [
    pytest.param(lambda p: _zip(p, {"a.txt": b"ok", "b.bin": b"\0" * (50 * 1024 * 1024)}), Limits(max_ratio=100),
                 "member 'b.bin' expands past the size or compression-ratio limit (a zip bomb?)", id="zip-bomb"),
    pytest.param(_encrypted, Limits(), "member 'a.jsonl' is encrypted", id="encrypted"),
    pytest.param(lambda p: _zip(p, {"a": b"x", "a/b.jsonl": b"{}\n"}), Limits(),
                 "member 'a/b.jsonl' cannot be extracted (File exists)", id="file-then-folder"),
    pytest.param(_corrupt, Limits(),
                 "member 'b.txt' cannot be extracted (Error -3 while decompressing data: invalid block type)",
                 id="damaged-stream"),
])
def test_refused_archive_leaves_nothing_behind(tmp_path: Path, build, limits: Limits,  # type: ignore[no-untyped-def]
                                               message: str) -> None:
    archive = build(tmp_path / "in.zip")
    dest = tmp_path / "out"
    with pytest.raises(ArchiveError) as exc:
        extract_zip(archive, dest, limits=limits)
    assert str(exc.value) == f"{archive}: {message}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.zip"]


def test_existing_destination_content_is_kept(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    (dest / "keep").mkdir(parents=True)
    (dest / "keep" / "mine.txt").write_text("mine")
    good = _zip(tmp_path / "good.zip", {"sessions/a.jsonl": b"{}\n"})
    assert extract_zip(good, dest) == 1
    bomb = _zip(tmp_path / "bomb.zip", {"x.txt": b"ok", "y.bin": b"\0" * (5 * 1024 * 1024)})
    with pytest.raises(ArchiveError, match="zip bomb"):
        extract_zip(bomb, dest, limits=Limits(max_ratio=2))
    clash = _zip(tmp_path / "clash.zip", {"keep/other.txt": b"x", "new.txt": b"y"})
    with pytest.raises(ArchiveError, match=f"{dest / 'keep'} already exists"):
        extract_zip(clash, dest)
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")) == [
        "keep", "keep/mine.txt", "sessions", "sessions/a.jsonl"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.zip", "clash.zip", "good.zip", "out"]


def test_budget_is_shared_across_archives(tmp_path: Path) -> None:
    budget = Budget(10_000)
    first = _zip(tmp_path / "1.zip", {"a": b"a" * 6_000}, compression=zipfile.ZIP_STORED)
    second = _zip(tmp_path / "2.zip", {"b": b"b" * 6_000}, compression=zipfile.ZIP_STORED)
    assert extract_zip(first, tmp_path / "one", budget=budget) == 1
    assert budget.left == 4_000
    with pytest.raises(ArchiveError, match="member 'b' expands past the size or compression-ratio limit"):
        extract_zip(second, tmp_path / "two", budget=budget)
    assert (budget.left, (tmp_path / "two").exists()) == (4_000, False)


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
