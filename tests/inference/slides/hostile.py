"""Builders of hostile TIFF files, written byte by byte so each one breaks exactly one rule."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

# Tag codes and TIFF field types used below.
LONG, SHORT = 4, 3


def _ifd_entries(
    width: int,
    height: int,
    tile: int,
    spp: int,
    offsets_at: int,
    counts_at: int,
    n_tiles: int,
) -> list[tuple[int, int, int, int]]:
    entries = [
        (256, LONG, 1, width),
        (257, LONG, 1, height),
        (258, SHORT, 1, 8),
        (259, SHORT, 1, 1),
        (262, SHORT, 1, 2 if spp >= 3 else 1),
        (277, SHORT, 1, spp),
        (284, SHORT, 1, 1),
        (322, LONG, 1, tile),
        (323, LONG, 1, tile),
        (324, LONG, n_tiles, offsets_at),
        (325, LONG, n_tiles, counts_at),
    ]
    return entries


def _pack_ifd(entries: list[tuple[int, int, int, int]], next_ifd: int) -> bytes:
    out = struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        if typ == SHORT and count == 1:
            out += struct.pack("<HHIHH", tag, typ, count, value, 0)
        else:
            out += struct.pack("<HHII", tag, typ, count, value)
    return out + struct.pack("<I", next_ifd)


def tiled_tiff(
    path: Path,
    *,
    width: int = 16,
    height: int = 16,
    tile: int = 16,
    spp: int = 3,
    payload: int = 16 * 16 * 3,
    n_ifds: int = 1,
    loop: bool = False,
) -> Path:
    """A classic little-endian tiled TIFF whose declarations may lie.

    Args:
        path: where to write.
        width: declared width.
        height: declared height.
        tile: declared tile side.
        spp: declared samples per pixel.
        payload: bytes of pixel data actually present.
        n_ifds: directories chained one after the other (all alike).
        loop: make the last directory point back to the first.

    Returns:
        ``path``.
    """
    data_at = 8
    data = bytes(payload)
    # One tile offset/bytecount pair (stored inline since count == 1) shared by all IFDs.
    first_ifd = data_at + len(data)
    first_ifd += first_ifd % 2
    header = b"II*\x00" + struct.pack("<I", first_ifd)
    blob = bytearray(header + data + bytes(first_ifd - data_at - len(data)))
    entry_count = 11
    ifd_size = 2 + 12 * entry_count + 4
    for i in range(n_ifds):
        here = first_ifd + i * ifd_size
        nxt = here + ifd_size if i + 1 < n_ifds else (first_ifd if loop else 0)
        entries = _ifd_entries(width, height, tile, spp, data_at, min(payload, 2**31), 1)
        blob += _pack_ifd(entries, nxt)
    path.write_bytes(bytes(blob))
    return path


def png_bomb(path: Path, width: int = 20000, height: int = 20000) -> Path:
    """A valid PNG declaring ``width`` x ``height`` grey pixels over a few KB of zlib data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(bytes(64 * (width + 1)), 9)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


def bigtiff_with_bogus_offset(path: Path) -> Path:
    """A BigTIFF header whose first directory lies far beyond the end of the file."""
    path.write_bytes(b"II+\x00" + struct.pack("<HHQ", 8, 0, 2**40) + bytes(64))
    return path


def truncated_copy(source: Path, path: Path, keep: int) -> Path:
    """The first ``keep`` bytes of ``source``."""
    path.write_bytes(source.read_bytes()[:keep])
    return path
