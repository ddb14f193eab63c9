"""A coarse guess of the stain (H&E or IHC with DAB) from a thumbnail's colours.

Colour deconvolution with fixed Ruifrok-Johnston vectors gives H&E slides a large "DAB" share
(the vectors overlap on real scanners), so the guess uses hue instead: H&E tissue is pink and
purple (red and blue above green), DAB is brown (red > green > blue), and an IHC counterstain is
blue. The guess is shown as a guess; it never changes how a slide is processed.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

StainGuess = Literal["he", "ihc", "unknown"]

#: Tissue pixels: coloured (channel spread) and not white glass.
_MIN_SPREAD, _MAX_MIN_CHANNEL = 25, 220
#: Share of tissue pixels that decides each answer (checked on real H&E and Ki67 slides).
_HE_SHARE, _DAB_SHARE, _IHC_MAX_HE_SHARE = 0.5, 0.03, 0.3


def guess_stain(pixels: npt.NDArray[np.uint8]) -> StainGuess:
    """Guess the stain of a slide from its RGB thumbnail.

    Args:
        pixels: ``(h, w, 3)`` uint8 RGB, for example a 512-pixel thumbnail.

    Returns:
        ``"he"``, ``"ihc"`` or ``"unknown"`` (too little tissue, or colours that fit neither).
    """
    px = np.asarray(pixels, dtype=np.int16)
    r, g, b = px[..., 0], px[..., 1], px[..., 2]
    tissue = (px.max(axis=-1) - px.min(axis=-1) > _MIN_SPREAD) & (
        px.min(axis=-1) < _MAX_MIN_CHANNEL
    )
    n = int(tissue.sum())
    if n < 0.001 * tissue.size or n < 50:
        return "unknown"
    he_share = float((tissue & (r > g) & (b >= g)).sum()) / n
    dab_share = float((tissue & (r > g) & (g > b) & (r - b > 30)).sum()) / n
    if he_share >= _HE_SHARE:
        return "he"
    if dab_share >= _DAB_SHARE and he_share < _IHC_MAX_HE_SHARE:
        return "ihc"
    return "unknown"
