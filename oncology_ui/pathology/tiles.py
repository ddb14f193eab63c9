"""Per-process caches of the viewer: open de-identified slides and rendered Deep Zoom tiles.

Opening a pyramidal TIFF parses its directories, so each web process keeps the last few slides
open (LRU, keyed by path and content hash so a replaced file is never served stale) and the last
rendered tiles (bounded by bytes). Both are plain dictionaries behind one lock; a slide's reader
is used by one request at a time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from inference.slides.viewer import DeepZoom, open_deepzoom
from oncology_ui.pathology.conf import pathology_settings

_lock = threading.Lock()
_open: OrderedDict[tuple[str, str], tuple[DeepZoom, threading.Lock]] = OrderedDict()
_tiles: OrderedDict[tuple[str, int, int, int], bytes] = OrderedDict()
_tile_bytes = 0


def _deepzoom(path: Path, sha256: str) -> tuple[DeepZoom, threading.Lock]:
    key = (str(path), sha256)
    with _lock:
        entry = _open.get(key)
        if entry is not None:
            _open.move_to_end(key)
            return entry
    dz = open_deepzoom(path)
    with _lock:
        if key in _open:  # another request opened it meanwhile
            dz.reader.close()
            return _open[key]
        _open[key] = (dz, threading.Lock())
        while len(_open) > pathology_settings().open_slide_cache:
            _, (old, old_lock) = _open.popitem(last=False)
            with old_lock:
                old.reader.close()
        return _open[key]


def dzi_xml(path: Path, sha256: str) -> str:
    dz, _ = _deepzoom(path, sha256)
    return dz.dzi_xml()


def tile_jpeg(path: Path, sha256: str, level: int, col: int, row: int) -> bytes:
    """One Deep Zoom tile (raises ``RegionOutOfBounds`` for tiles outside the pyramid)."""
    global _tile_bytes
    key = (sha256, level, col, row)
    with _lock:
        cached = _tiles.get(key)
        if cached is not None:
            _tiles.move_to_end(key)
            return cached
    dz, reader_lock = _deepzoom(path, sha256)
    with reader_lock:
        data = dz.tile_jpeg(level, col, row)
    budget = pathology_settings().tile_cache_mb * 1024 * 1024
    with _lock:
        if len(data) <= budget and key not in _tiles:
            _tiles[key] = data
            _tile_bytes += len(data)
            while _tile_bytes > budget:
                _, old = _tiles.popitem(last=False)
                _tile_bytes -= len(old)
    return data


def forget(sha256: str) -> None:
    """Close and drop a slide (retired) from the caches of this process."""
    global _tile_bytes
    with _lock:
        for open_key in [k for k in _open if k[1] == sha256]:
            dz, reader_lock = _open.pop(open_key)
            with reader_lock:
                dz.reader.close()
        for tile_key in [k for k in _tiles if k[0] == sha256]:
            _tile_bytes -= len(_tiles.pop(tile_key))
