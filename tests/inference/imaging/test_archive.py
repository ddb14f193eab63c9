"""Hostile ZIP uploads: each archive is built here, in the test."""

from __future__ import annotations

import io
import os
import resource
import stat
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import given

from inference.imaging.archive import ArchiveError, list_extracted_files, safe_extract
from inference.imaging.schema import ExtractLimits
from tests.inference.fuzz import byte_flips, flipped, fuzz_settings

LIMITS = ExtractLimits(max_entries=1000, max_total_bytes=50 * 1024**2, max_entry_bytes=20 * 1024**2)


def _zip(path: Path, entries: list[tuple[str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return path


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _assert_refused(tmp_path: Path, zip_path: Path, entry_fragment: str) -> ArchiveError:
    before = _tree(tmp_path)
    with pytest.raises(ArchiveError) as info:
        safe_extract(zip_path, tmp_path / "out", LIMITS)
    assert entry_fragment in str(info.value)
    assert _tree(tmp_path) == before, "something was left behind"
    return info.value


def test_it_extracts_a_plain_archive(tmp_path: Path) -> None:
    z = _zip(tmp_path / "ok.zip", [("a/1.dcm", b"x" * 10), ("b.dcm", b"y")])
    result = safe_extract(z, tmp_path / "out", LIMITS)
    assert result.files == ("a/1.dcm", "b.dcm")
    assert (tmp_path / "out" / "a" / "1.dcm").read_bytes() == b"x" * 10
    assert [p.name for p in list_extracted_files(tmp_path / "out")] == ["b.dcm", "1.dcm"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../../x", "parent-directory"),
        ("ok/../../x", "parent-directory"),
        ("/etc/x", "absolute"),
        ("C:\\x", "absolute"),
        ("c:/x", "absolute"),
        ("..\\x", "parent-directory"),
        ("a\\..\\..\\x", "parent-directory"),
        ("\\\\server\\share\\x", "absolute"),
    ],
)
def test_it_rejects_zip_with_parent_or_absolute_paths(
    tmp_path: Path, name: str, reason: str
) -> None:
    z = _zip(tmp_path / "evil.zip", [("fine.dcm", b"1"), (name, b"2")])
    err = _assert_refused(tmp_path, z, repr(name))
    assert reason in err.reason
    assert not (tmp_path.parent / "x").exists()


def test_it_rejects_zip_with_symlink_entry(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("link.dcm")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(tmp_path / "l.zip", "w") as zf:
        zf.writestr("fine.dcm", b"1")
        zf.writestr(info, "/etc/passwd")
    err = _assert_refused(tmp_path, tmp_path / "l.zip", "'link.dcm'")
    assert "symbolic link" in err.reason


def test_it_rejects_zip_with_duplicate_names(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "d.zip", "w") as zf:
        zf.writestr("a.dcm", b"1")
        with pytest.warns(UserWarning):
            zf.writestr("a.dcm", b"2")
    err = _assert_refused(tmp_path, tmp_path / "d.zip", "'a.dcm'")
    assert "duplicate" in err.reason


def test_it_rejects_names_differing_only_by_case(tmp_path: Path) -> None:
    z = _zip(tmp_path / "c.zip", [("A.dcm", b"1"), ("a.dcm", b"2")])
    assert "duplicate" in _assert_refused(tmp_path, z, "'a.dcm'").reason


def test_it_rejects_zip_with_nul_in_name(tmp_path: Path) -> None:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as zf:
        zf.writestr("aXb.dcm", b"1")
    # zipfile refuses to write a NUL, so patch the name bytes in both headers.
    (tmp_path / "n.zip").write_bytes(raw.getvalue().replace(b"aXb.dcm", b"a\x00b.dcm"))
    assert "NUL" in _assert_refused(tmp_path, tmp_path / "n.zip", "a\\x00b.dcm").reason


def test_it_rejects_too_many_entries(tmp_path: Path) -> None:
    z = _zip(tmp_path / "many.zip", [(f"{i}.dcm", b"") for i in range(LIMITS.max_entries + 1)])
    assert "entries" in _assert_refused(tmp_path, z, "archive").reason


def test_it_rejects_nested_archive_by_name_and_by_content(tmp_path: Path) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("x.dcm", b"1")
    z = _zip(tmp_path / "n1.zip", [("inner.zip", inner.getvalue())])
    assert "nested" in _assert_refused(tmp_path, z, "'inner.zip'").reason
    z2 = _zip(tmp_path / "n2.zip", [("ok.dcm", b"1"), ("disguised.dcm", inner.getvalue())])
    assert "nested" in _assert_refused(tmp_path, z2, "'disguised.dcm'").reason


def test_it_rejects_high_compression_ratio(tmp_path: Path) -> None:
    z = _zip(tmp_path / "r.zip", [("zeros.dcm", bytes(4 * 1024**2))])
    assert "ratio" in _assert_refused(tmp_path, z, "'zeros.dcm'").reason


def test_it_rejects_total_size_over_limit_even_when_ratio_is_fine(tmp_path: Path) -> None:
    blob = os.urandom(1024**2)
    entries = [(f"{i}.dcm", blob) for i in range(60)]
    with zipfile.ZipFile(tmp_path / "t.zip", "w", zipfile.ZIP_STORED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    assert "total" in _assert_refused(tmp_path, tmp_path / "t.zip", ".dcm'").reason


def test_it_counts_streamed_bytes_not_the_declared_size(tmp_path: Path) -> None:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("small.dcm", os.urandom(3 * 1024**2))
    limits = ExtractLimits(max_entry_bytes=2 * 1024**2)
    data = bytearray(raw.getvalue())
    # Lie in the central directory: claim 100 bytes uncompressed.
    cd = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, cd + 24, 100)
    (tmp_path / "lie.zip").write_bytes(bytes(data))
    with pytest.raises(ArchiveError) as info:
        safe_extract(tmp_path / "lie.zip", tmp_path / "out", limits)
    assert "small.dcm" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_it_rejects_overlapping_member_data(tmp_path: Path) -> None:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a.dcm", b"A" * 100)
        zf.writestr("b.dcm", b"B" * 100)
    data = bytearray(raw.getvalue())
    # Point the second central-directory record at the first local header (quoted overlap).
    second = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, second + 42, 0)
    (tmp_path / "o.zip").write_bytes(bytes(data))
    _assert_refused(tmp_path, tmp_path / "o.zip", "dcm'")


def test_it_refuses_a_file_that_is_not_a_zip(tmp_path: Path) -> None:
    (tmp_path / "x.zip").write_bytes(b"<html>not a zip</html>")
    assert "not a readable ZIP" in _assert_refused(tmp_path, tmp_path / "x.zip", "archive").reason


# --- 10 GB of zeros, built by streaming -----------------------------------------------------------


def _crc32_of_zeros(n: int) -> int:
    """CRC-32 of ``n`` zero bytes without touching n bytes (GF(2) matrix power)."""
    mask = 0xFFFFFFFF
    # Column i: the register after one zero byte, starting from the register with only bit i set.
    one_byte = [(~zlib.crc32(b"\0", ~(1 << i) & mask)) & mask for i in range(32)]

    def apply(mat: list[int], vec: int) -> int:
        out = 0
        i = 0
        while vec:
            if vec & 1:
                out ^= mat[i]
            vec >>= 1
            i += 1
        return out

    def square(mat: list[int]) -> list[int]:
        return [apply(mat, mat[i]) for i in range(32)]

    reg, power = mask, one_byte
    while n:
        if n & 1:
            reg = apply(power, reg)
        power = square(power)
        n >>= 1
    return (~reg) & mask


def _write_zero_bomb(path: Path, size: int) -> None:
    """Write a ZIP64 archive whose single deflated member is ``size`` zero bytes."""
    block = 1 << 20
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    # A full flush resets the dictionary, so this chunk decodes to 1 MiB of zeros on its own and
    # can be repeated: the file is written in a stream without ever compressing 10 GB.
    chunk = comp.compress(bytes(block)) + comp.flush(zlib.Z_FULL_FLUSH)
    tail = comp.flush(zlib.Z_FINISH)
    repeats = size // block
    csize = len(chunk) * repeats + len(tail)
    crc = _crc32_of_zeros(repeats * block)
    name = b"zeros.dcm"
    zip64_local = struct.pack("<HHQQ", 1, 16, repeats * block, csize)
    with path.open("wb") as fh:
        fh.write(
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                45,
                0,
                8,
                0,
                0,
                crc,
                0xFFFFFFFF,
                0xFFFFFFFF,
                len(name),
                len(zip64_local),
            )
        )
        fh.write(name + zip64_local)
        for _ in range(repeats):
            fh.write(chunk)
        fh.write(tail)
        cd_offset = fh.tell()
        zip64_cd = struct.pack("<HHQQQ", 1, 24, repeats * block, csize, 0)
        fh.write(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                45,
                45,
                0,
                8,
                0,
                0,
                crc,
                0xFFFFFFFF,
                0xFFFFFFFF,
                len(name),
                len(zip64_cd),
                0,
                0,
                0,
                0,
                0,
            )
        )
        fh.write(name + zip64_cd)
        cd_size = fh.tell() - cd_offset
        eocd64 = fh.tell()
        fh.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, 1, 1, cd_size, cd_offset))
        fh.write(struct.pack("<IIQI", 0x07064B50, 0, eocd64, 1))
        fh.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, cd_size, 0xFFFFFFFF, 0))


def test_it_rejects_ten_gigabytes_of_zeros_with_bounded_memory(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    _write_zero_bomb(bomb, 10 * 1024**3)
    assert bomb.stat().st_size < 20 * 1024**2
    with zipfile.ZipFile(bomb) as zf:
        assert zf.infolist()[0].file_size == 10 * 1024**3
    before = _tree(tmp_path)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    limits = ExtractLimits(
        max_ratio=1e9, max_entry_bytes=10 * 1024**3 + 1, max_total_bytes=64 * 1024**2
    )
    with pytest.raises(ArchiveError) as info:
        safe_extract(bomb, tmp_path / "out", limits)
    assert "'zeros.dcm'" in str(info.value) and "total" in info.value.reason
    with pytest.raises(ArchiveError) as ratio:
        safe_extract(bomb, tmp_path / "out", ExtractLimits())
    assert "ratio" in ratio.value.reason
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    assert grown_kib < 256 * 1024
    assert _tree(tmp_path) == before


# --- fuzz -----------------------------------------------------------------------------------------


def _valid_zip() -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a/1.dcm", b"DICM" * 200)
        zf.writestr("b.dcm", os.urandom(300))
    return raw.getvalue()


_ZIP = _valid_zip()


@fuzz_settings(150)
@given(flips=byte_flips(_ZIP, max_size=6))
def test_mutated_archives_fail_only_with_archive_errors(
    tmp_path: Path, flips: list[tuple[int, int]]
) -> None:
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    (work / "in.zip").write_bytes(flipped(_ZIP, flips))
    try:
        result = safe_extract(work / "in.zip", work / "out", LIMITS)
    except ArchiveError:
        assert not (work / "out").exists()
        assert sorted(p.name for p in work.iterdir()) == ["in.zip"]
    else:
        assert all((work / "out" / f).is_file() for f in result.files)
