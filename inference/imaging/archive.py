"""Safe intake of an uploaded ZIP of DICOM files.

The archive is checked in two passes. The first pass looks at every central-directory entry (names,
types, duplicates, counts, overlapping data) and then *streams* every member through the
decompressor without writing anything, counting the bytes that really come out (headers can lie)
and sniffing for nested archives. Only when the whole archive has passed does the second pass write
files, into a private temporary folder next to ``dest`` that is renamed to ``dest`` at the end, so a
failure at any point leaves nothing behind.

DICOMDIR files are extracted like any other file but their ReferencedFileID paths are never used:
callers find DICOM files by walking the extracted folder (:func:`list_extracted_files`).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path

from inference.imaging.schema import ExtractedArchive, ExtractLimits

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20
# Ratios are only meaningful once a member has produced this much; tiny members of repeated bytes
# legitimately compress far better than any bomb threshold.
_RATIO_GRACE_BYTES = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")
_ARCHIVE_SUFFIXES = (
    ".zip",
    ".jar",
    ".tar",
    ".tgz",
    ".gz",
    ".bz2",
    ".xz",
    ".zst",
    ".7z",
    ".rar",
    ".lz",
    ".lzma",
    ".z",
)
# Magic numbers of container/compressed formats (zip local header, gzip, bzip2, xz, 7z, rar, zstd).
_ARCHIVE_MAGIC = (
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ\x00",
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
    b"\x28\xb5\x2f\xfd",
)


class ArchiveError(ValueError):
    """The archive was refused; ``entry`` names the offending member ("" for the whole archive)."""

    def __init__(self, entry: str, reason: str) -> None:
        self.entry = entry
        self.reason = reason
        where = f"entry {entry!r}" if entry else "archive"
        super().__init__(f"{where}: {reason}")


def _check_name(raw_name: str, limits: ExtractLimits) -> str:
    """Return the member's safe relative POSIX path or raise :class:`ArchiveError`."""
    if "\x00" in raw_name:
        raise ArchiveError(raw_name, "name contains a NUL byte")
    if len(raw_name) > limits.max_name_length:
        raise ArchiveError(raw_name, f"name longer than {limits.max_name_length} characters")
    if any(ord(ch) < 32 for ch in raw_name):
        raise ArchiveError(raw_name, "name contains control characters")
    # Windows tools write backslashes; treat both as separators so `..\\x` is caught too.
    name = raw_name.replace("\\", "/")
    if name.startswith("/") or _DRIVE.match(name):
        raise ArchiveError(raw_name, "absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise ArchiveError(raw_name, "parent-directory path component '..'")
    if not parts:
        raise ArchiveError(raw_name, "empty name")
    if any(":" in p for p in parts):
        raise ArchiveError(raw_name, "':' in a path component (drive or stream name)")
    return "/".join(parts)


def _check_type(info: zipfile.ZipInfo) -> None:
    mode = info.external_attr >> 16
    file_type = stat.S_IFMT(mode)
    if file_type == stat.S_IFLNK:
        raise ArchiveError(info.orig_filename, "symbolic link entry")
    if file_type not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise ArchiveError(info.orig_filename, f"special file type {oct(file_type)}")


def _check_directory(
    zf: zipfile.ZipFile, limits: ExtractLimits
) -> list[tuple[zipfile.ZipInfo, str]]:
    """First pass over names and metadata; returns (info, safe name) for each regular file."""
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise ArchiveError("", f"{len(infos)} entries, more than the limit of {limits.max_entries}")
    members: list[tuple[zipfile.ZipInfo, str]] = []
    seen: dict[str, str] = {}
    for info in infos:
        safe = _check_name(info.orig_filename, limits)
        _check_type(info)
        # Case-folded so that `A.dcm` and `a.dcm` cannot overwrite each other on macOS/Windows.
        key = safe.casefold()
        if key in seen:
            raise ArchiveError(info.orig_filename, f"duplicate name (also {seen[key]!r})")
        seen[key] = info.orig_filename
        if safe.lower().endswith(_ARCHIVE_SUFFIXES):
            raise ArchiveError(info.orig_filename, "nested archive")
        if info.flag_bits & 0x1:
            raise ArchiveError(info.orig_filename, "encrypted entry")
        if not info.is_dir():
            members.append((info, safe))
    # A member whose data overlaps the next one is the "overlapping files" bomb (CPython gh-109858).
    by_offset = sorted(members, key=lambda m: m[0].header_offset)
    for (a, _), (b, _) in zip(by_offset, by_offset[1:], strict=False):
        if a.header_offset + 30 + a.compress_size > b.header_offset:
            raise ArchiveError(b.orig_filename, "member data overlaps another member")
    return members


def _compressed_consumed(src: object, info: zipfile.ZipInfo) -> int:
    """Compressed bytes read so far by a ZipExtFile.

    The ratio must use what has been consumed, not the member's whole compressed size: a 10 GB
    member compressed to 10 MB would otherwise pass the check until it had produced 2 GB.
    """
    left = getattr(src, "_compress_left", None)
    if isinstance(left, int):
        return max(info.compress_size - left, 1)
    return max(info.compress_size, 1)


def _stream_member(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    limits: ExtractLimits,
    total_so_far: int,
    sink: int | None,
) -> int:
    """Decompress one member, enforcing limits on the bytes actually produced.

    Returns:
        The member's uncompressed size as counted.
    """
    produced = 0
    try:
        with zf.open(info) as src:
            while True:
                chunk = src.read(_CHUNK)
                if not chunk:
                    break
                if produced == 0 and chunk.startswith(_ARCHIVE_MAGIC):
                    raise ArchiveError(info.orig_filename, "nested archive (by content)")
                produced += len(chunk)
                if produced > limits.max_entry_bytes:
                    raise ArchiveError(
                        info.orig_filename,
                        f"uncompressed size exceeds {limits.max_entry_bytes} bytes",
                    )
                if total_so_far + produced > limits.max_total_bytes:
                    raise ArchiveError(
                        info.orig_filename,
                        f"total uncompressed size exceeds {limits.max_total_bytes} bytes",
                    )
                if (
                    produced > _RATIO_GRACE_BYTES
                    and produced / _compressed_consumed(src, info) > limits.max_ratio
                ):
                    raise ArchiveError(
                        info.orig_filename,
                        f"compression ratio above {limits.max_ratio:g}",
                    )
                if sink is not None:
                    os.write(sink, chunk)
    except ArchiveError:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
    ) as exc:
        # Includes CRC mismatches, truncated data and CPython's own overlap detection.
        raise ArchiveError(info.orig_filename, f"corrupt member: {exc}") from exc
    except NotImplementedError as exc:
        raise ArchiveError(info.orig_filename, f"unsupported compression: {exc}") from exc
    return produced


def safe_extract(
    zip_path: str | os.PathLike[str], dest: str | os.PathLike[str], limits: ExtractLimits
) -> ExtractedArchive:
    """Validate an untrusted ZIP completely, then extract it into ``dest``.

    Args:
        zip_path: the uploaded archive.
        dest: folder to create; it must not exist yet (its parent must).
        limits: entry count, byte and ratio limits.

    Returns:
        The files written, as relative POSIX paths.

    Raises:
        ArchiveError: naming the offending entry; nothing is left on disk.
    """
    dest_path = Path(dest)
    if dest_path.exists():
        raise ArchiveError("", f"destination {dest_path.name!r} already exists")
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as exc:
        raise ArchiveError("", f"not a readable ZIP archive: {exc}") from exc
    with zf:
        members = _check_directory(zf, limits)
        total = 0
        for info, _ in members:
            total += _stream_member(zf, info, limits, total, None)
        staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest_path.parent))
        try:
            written = _write_members(zf, members, limits, staging)
            staging.rename(dest_path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    logger.info("extracted %d files (%d bytes)", len(members), written)
    return ExtractedArchive(
        root=str(dest_path), files=tuple(name for _, name in members), total_bytes=written
    )


def _write_members(
    zf: zipfile.ZipFile,
    members: list[tuple[zipfile.ZipInfo, str]],
    limits: ExtractLimits,
    staging: Path,
) -> int:
    total = 0
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for info, name in members:
        target = staging.joinpath(*name.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        # The archive may change between passes (it is a file on disk), so limits apply again.
        fd = os.open(target, flags, 0o600)
        try:
            total += _stream_member(zf, info, limits, total, fd)
        finally:
            os.close(fd)
    return total


def list_extracted_files(root: str | os.PathLike[str]) -> list[Path]:
    """Return regular files under ``root`` (sorted), never following symbolic links.

    Use this instead of DICOMDIR ReferencedFileID paths, which are untrusted.
    """
    base = Path(root)
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        dirnames.sort()
        for fname in sorted(filenames):
            path = Path(dirpath) / fname
            if path.is_file() and not path.is_symlink():
                found.append(path)
    return found
