"""Tile encoders: turn RGB tiles into feature vectors.

Two kinds behind one interface (:class:`TileEncoder`):

- :class:`MorphologyEncoder` -- no weights, interpretable: H&E colour deconvolution
  (Ruifrok & Johnston 2001), stain optical-density statistics, nuclei from a simple segmentation of
  the hematoxylin channel (density, size), and texture statistics. Every feature has a name a
  pathologist recognises.
- :class:`~inference.slides.torch_encoders.TorchTileEncoder` -- a timm-style CNN or ViT whose
  weights come from a site-provided checkpoint on local disk (in its own module, as it needs
  torch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from scipy import ndimage

Tiles = npt.NDArray[np.uint8]
Features = npt.NDArray[np.float32]


class TileEncoder(Protocol):
    """What the feature pipeline needs from an encoder."""

    @property
    def name(self) -> str:
        """Encoder name, stored with the features."""
        ...

    @property
    def version(self) -> str:
        """Encoder version (weights hash prefix for learned encoders)."""
        ...

    @property
    def dim(self) -> int:
        """Feature dimension."""
        ...

    @property
    def feature_names(self) -> tuple[str, ...]:
        """One name per feature, or empty for learned embeddings."""
        ...

    def encode(self, tiles: Tiles, mpp: float) -> Features:
        """Encode ``(n, h, w, 3)`` uint8 RGB tiles at ``mpp`` um/px into ``(n, dim)``."""
        ...


@runtime_checkable
class PreparingEncoder(TileEncoder, Protocol):
    """An encoder whose input conversion can run ahead, in the tile-reading thread."""

    def prepare(self, tiles: Tiles) -> Any:
        """Convert ``(n, h, w, 3)`` uint8 tiles to the model's input."""
        ...

    def encode_prepared(self, prepared: Any) -> Features:
        """Encode what :meth:`prepare` returned into ``(n, dim)``."""
        ...


# ------------------------------------------------------------------------------------------------
# Interpretable morphology encoder

#: Ruifrok & Johnston stain OD vectors (rows: hematoxylin, eosin, DAB), as in skimage.color.
_RJ_STAINS = np.array(
    [[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]], dtype=np.float64
)
_HED_FROM_RGB_OD = np.linalg.inv(_RJ_STAINS / np.linalg.norm(_RJ_STAINS, axis=1, keepdims=True))


def rgb_to_hed(tiles: Tiles) -> npt.NDArray[np.float32]:
    """Stain concentrations (hematoxylin, eosin, DAB) by colour deconvolution.

    Args:
        tiles: ``(..., 3)`` uint8 RGB.

    Returns:
        ``(..., 3)`` float32 optical-density concentrations (0 on white glass).
    """
    od = -np.log((tiles.astype(np.float32) + 1.0) / 256.0)
    hed = od.reshape(-1, 3) @ _HED_FROM_RGB_OD.astype(np.float32)
    return np.maximum(hed, 0.0).reshape(tiles.shape).astype(np.float32)


MORPHOLOGY_FEATURES: tuple[str, ...] = (
    "tissue_fraction",
    "hematoxylin_od_mean",
    "hematoxylin_od_std",
    "hematoxylin_od_p90",
    "eosin_od_mean",
    "eosin_od_std",
    "eosin_od_p90",
    "hematoxylin_share",
    "nuclei_per_mm2",
    "nuclear_area_mean_um2",
    "nuclear_area_std_um2",
    "nuclear_area_fraction",
    "nuclear_hematoxylin_mean",
    "texture_laplacian_log_var",
    "texture_gradient_mean",
    "texture_contrast",
    "texture_homogeneity",
    "texture_entropy",
)


@dataclass(frozen=True)
class MorphologyEncoder:
    """Hand-crafted, weight-free H&E morphology features (see :data:`MORPHOLOGY_FEATURES`).

    Attributes:
        tissue_od: summed optical density above which a pixel counts as tissue, not glass.
        nucleus_h_od: hematoxylin concentration above which a pixel may be nuclear.
        nucleus_area_um2: (min, max) area of a nucleus in um^2; other blobs are ignored.
    """

    tissue_od: float = 0.25
    nucleus_h_od: float = 0.35
    nucleus_area_um2: tuple[float, float] = (12.0, 400.0)
    name: str = "he-morphology"
    version: str = "1"
    feature_names: tuple[str, ...] = field(default=MORPHOLOGY_FEATURES)

    @property
    def dim(self) -> int:
        """Number of features."""
        return len(self.feature_names)

    def encode(self, tiles: Tiles, mpp: float) -> Features:
        """Morphology features of each tile.

        Args:
            tiles: ``(n, h, w, 3)`` uint8 RGB.
            mpp: microns per pixel of the tiles.

        Returns:
            ``(n, 18)`` float32, columns as :data:`MORPHOLOGY_FEATURES`.
        """
        hed = rgb_to_hed(tiles)
        grey = tiles.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        out = np.zeros((len(tiles), self.dim), dtype=np.float32)
        for i in range(len(tiles)):
            out[i] = self._one(hed[i], grey[i], mpp)
        return out

    def _one(
        self, hed: npt.NDArray[np.float32], grey: npt.NDArray[np.float32], mpp: float
    ) -> npt.NDArray[np.float32]:
        h, e = hed[..., 0], hed[..., 1]
        tissue = (hed.sum(axis=-1)) > self.tissue_od
        n_tissue = int(tissue.sum())
        px_um2 = mpp * mpp
        feats = np.zeros(self.dim, dtype=np.float32)
        feats[0] = n_tissue / tissue.size
        if n_tissue:
            ht, et = h[tissue], e[tissue]
            feats[1:4] = (ht.mean(), ht.std(), np.percentile(ht, 90))
            feats[4:7] = (et.mean(), et.std(), np.percentile(et, 90))
            feats[7] = ht.mean() / max(float(ht.mean() + et.mean()), 1e-6)
        # Nuclei: hematoxylin-rich blobs, opened to split touching ones, filtered by size.
        nuclear = ndimage.binary_opening(h > self.nucleus_h_od, iterations=1)
        labels, n = ndimage.label(nuclear)
        if n:
            areas = np.bincount(labels.ravel())[1:] * px_um2
            lo, hi = self.nucleus_area_um2
            keep = (areas >= lo) & (areas <= hi)
            count = int(keep.sum())
            tissue_mm2 = max(n_tissue * px_um2 / 1e6, 1e-9)
            feats[8] = count / tissue_mm2 if n_tissue else 0.0
            if count:
                kept = areas[keep]
                feats[9], feats[10] = kept.mean(), kept.std()
                kept_mask = keep[labels - 1] & (labels > 0)
                feats[11] = kept_mask.sum() / max(n_tissue, 1)
                feats[12] = h[kept_mask].mean()
        # Texture of the grey image.
        lap = ndimage.laplace(grey)[1:-1, 1:-1]
        feats[13] = math.log1p(float(lap.var()))
        gy, gx = np.gradient(grey)
        feats[14] = float(np.hypot(gx, gy).mean())
        q = np.minimum((grey / 16.0).astype(np.int16), 15)
        diff = np.abs(q[:, 1:] - q[:, :-1]).astype(np.float32)
        feats[15] = float((diff**2).mean())
        feats[16] = float((1.0 / (1.0 + diff)).mean())
        hist = np.bincount(q.ravel(), minlength=16).astype(np.float64)
        p = hist[hist > 0] / hist.sum()
        feats[17] = float(-(p * np.log2(p)).sum())
        return feats
