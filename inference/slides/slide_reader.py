"""The interface every slide reader implements: bounded region reads, white background outside the
slide, downsampled overviews and thumbnails on top of one ``_read_clipped`` per backend.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from types import TracebackType
from typing import Self

import numpy as np
import numpy.typing as npt
from PIL import Image

from inference.slides.errors import RegionOutOfBounds
from inference.slides.schema import SlideInfo, SlideLimits, Thumbnail

RGB = npt.NDArray[np.uint8]
BACKGROUND = 255


def default_threads() -> int:
    """Decoder threads: the CPUs this process may use, at most 8."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(8, n))


class ClosesOnExit:
    """``with`` support: the block hands back the object itself and closes it at its end."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release what the object holds (those holding something override this)."""
        return None


class SlideReader(ClosesOnExit, ABC):
    """Common interface and bounds checks of all backends.

    Subclasses set :attr:`info` and implement :meth:`_read_clipped`; backends holding a file
    handle override :meth:`close`.
    """

    info: SlideInfo
    limits: SlideLimits

    @property
    def level_count(self) -> int:
        """Number of pyramid levels."""
        return len(self.info.levels)

    def best_level_for_downsample(self, downsample: float) -> int:
        """The coarsest level whose downsample does not exceed ``downsample`` (1 % tolerance).

        Args:
            downsample: wanted level-0 pixels per output pixel.

        Returns:
            The level index.
        """
        best = 0
        for i, level in enumerate(self.info.levels):
            if level.downsample <= downsample * 1.01:
                best = i
        return best

    def read_region(self, level: int, x: int, y: int, width: int, height: int) -> RGB:
        """Read an RGB region of one level.

        Args:
            level: pyramid level.
            x: left edge in that level's pixels (may be negative).
            y: top edge in that level's pixels (may be negative).
            width: region width, at least 1.
            height: region height, at least 1.

        Returns:
            ``(height, width, 3)`` uint8; parts outside the slide are white.

        Raises:
            RegionOutOfBounds: bad level, empty region or more than ``max_region_pixels``.
        """
        if not 0 <= level < self.level_count:
            raise RegionOutOfBounds(f"level {level} does not exist (0..{self.level_count - 1})")
        if width < 1 or height < 1:
            raise RegionOutOfBounds("region must be at least 1 x 1 pixel")
        if width * height > self.limits.max_region_pixels:
            raise RegionOutOfBounds(
                f"region {width} x {height} exceeds {self.limits.max_region_pixels} pixels"
            )
        out = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)
        lv = self.info.levels[level]
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + width, lv.width), min(y + height, lv.height)
        if x1 > x0 and y1 > y0:
            out[y0 - y : y1 - y, x0 - x : x1 - x] = self._read_clipped(level, x0, y0, x1, y1)
        return out

    @abstractmethod
    def _read_clipped(self, level: int, x0: int, y0: int, x1: int, y1: int) -> RGB:
        """Pixels of ``level`` in ``[x0, x1) x [y0, y1)``, already inside the level's bounds."""

    def prefetch(self, level: int, rects: Sequence[tuple[int, int, int, int]]) -> None:
        """Hint that these ``(x0, y0, x1, y1)`` regions of ``level`` are about to be read.

        Backends that can decode in parallel do so now; the default does nothing.
        """
        return None

    def read_downsampled(self, downsample: float) -> tuple[RGB, float]:
        """Read the whole slide at about ``downsample`` level-0 pixels per pixel.

        Reads from the best pyramid level block by block, so memory stays bounded even for a
        slide without a pyramid.

        Args:
            downsample: wanted level-0 pixels per output pixel (>= 1).

        Returns:
            The RGB image and its exact downsample (level-0 width / image width).
        """
        downsample = max(1.0, downsample)
        level = self.best_level_for_downsample(downsample)
        lv = self.info.levels[level]
        factor = downsample / lv.downsample
        out_w = max(1, round(lv.width / factor))
        out_h = max(1, round(lv.height / factor))
        if out_w * out_h > self.limits.max_region_pixels:
            raise RegionOutOfBounds(f"downsampled image {out_w} x {out_h} is too large")
        if factor <= 1.0001:
            return self.read_region(level, 0, 0, lv.width, lv.height), self.info.width / lv.width
        out = np.empty((out_h, out_w, 3), dtype=np.uint8)
        # Blocks aligned to output pixels so that no output pixel straddles two reads.
        block_out = max(1, int(2048 // factor))
        for oy in range(0, out_h, block_out):
            for ox in range(0, out_w, block_out):
                bw, bh = min(block_out, out_w - ox), min(block_out, out_h - oy)
                sx, sy = round(ox * factor), round(oy * factor)
                sw = max(1, round((ox + bw) * factor) - sx)
                sh = max(1, round((oy + bh) * factor) - sy)
                region = self.read_region(level, sx, sy, sw, sh)
                img = Image.fromarray(region).resize((bw, bh), Image.Resampling.BOX)
                out[oy : oy + bh, ox : ox + bw] = np.asarray(img)
        return out, self.info.width / out_w

    def thumbnail(self, max_side: int = 1024) -> Thumbnail:
        """A thumbnail whose longer side is ``max_side`` pixels (or the slide's, if smaller).

        Args:
            max_side: longest side of the thumbnail.

        Returns:
            The thumbnail and its downsample.
        """
        longest = max(self.info.width, self.info.height)
        pixels, downsample = self.read_downsampled(max(1.0, longest / max_side))
        return Thumbnail(pixels=pixels, downsample=downsample)
