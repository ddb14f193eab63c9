"""Slice rendering to PNG: axial, coronal and sagittal views with windows, contours and fusion.

Reformatted views are stretched along the slice axis so that millimetres look the same in both
directions, and oriented with the patient's head up (coronal, sagittal) when the series is axial.
PET-over-CT fusion samples the PET volume at the CT pixel centres through both volumes' patient
coordinates (nearest neighbour), and is refused unless both share a frame of reference.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from PIL import Image

from inference.imaging.features import outline
from inference.imaging.schema import RegionMask, RenderedSlice, Volume, Window

Axis = Literal["axial", "coronal", "sagittal"]

WINDOWS: dict[str, Window] = {
    "soft_tissue": Window("soft_tissue", 40.0, 400.0),
    "lung": Window("lung", -600.0, 1500.0),
    "bone": Window("bone", 400.0, 1800.0),
    "brain": Window("brain", 40.0, 80.0),
    "suv": Window("suv", 2.5, 5.0),
}
_CONTOUR_COLOURS = ((255, 64, 64), (64, 255, 64), (64, 160, 255), (255, 220, 0), (255, 0, 255))
MAX_OUTPUT_PIXELS = 4096 * 4096


class RenderError(ValueError):
    """The requested view cannot be drawn."""


def suv_window(max_suv: float = 5.0) -> Window:
    """Window showing SUV 0..``max_suv``."""
    return Window("suv", max_suv / 2.0, max_suv)


def _plane(data: npt.NDArray[Any], axis: Axis, index: int) -> npt.NDArray[Any]:
    k, rows, cols = data.shape[:3]
    limit = {"axial": k, "coronal": rows, "sagittal": cols}[axis]
    if not 0 <= index < limit:
        raise RenderError(f"{axis} index {index} outside 0..{limit - 1}")
    if axis == "axial":
        return data[index]
    if axis == "coronal":
        return data[:, index, :]
    return data[:, :, index]


def _orient(plane: npt.NDArray[Any], volume: Volume, axis: Axis) -> npt.NDArray[Any]:
    # Reformats have the slice axis vertical; put the patient's head (+z in DICOM LPS) at the top.
    if axis != "axial" and volume.normal[2] > 0:
        return plane[::-1]
    return plane


def _display_size(volume: Volume, axis: Axis, shape: tuple[int, int]) -> tuple[int, int]:
    """(width, height) in pixels giving square millimetres."""
    height, width = shape
    if axis == "axial":
        return width, height
    inplane = volume.spacing[2] if axis == "coronal" else volume.spacing[1]
    stretch = volume.spacing[0] / inplane
    return width, max(1, int(round(height * stretch)))


def apply_window(values: npt.NDArray[Any], window: Window) -> npt.NDArray[np.uint8]:
    """Map values to 0..255 grey; NaN (missing) becomes 0."""
    low = window.center - window.width / 2.0
    scaled = (np.asarray(values, dtype=np.float64) - low) / max(window.width, 1e-6)
    scaled = np.nan_to_num(scaled, nan=0.0)
    return (np.clip(scaled, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _hot(grey: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Black-red-yellow-white colour map for PET."""
    g = grey.astype(np.float64) / 255.0
    rgb = np.stack(
        [np.clip(3 * g, 0, 1), np.clip(3 * g - 1, 0, 1), np.clip(3 * g - 2, 0, 1)], axis=-1
    )
    return (rgb * 255 + 0.5).astype(np.uint8)


def sample_on_grid(
    moving: Volume, fixed: Volume, axis: Axis, index: int
) -> npt.NDArray[np.float32]:
    """Values of ``moving`` at the pixel centres of one slice of ``fixed`` (nearest neighbour).

    Raises:
        RenderError: the two volumes do not share a frame of reference.
    """
    if not moving.frame_of_reference_uid or (
        moving.frame_of_reference_uid != fixed.frame_of_reference_uid
    ):
        raise RenderError("fusion needs both series in the same frame of reference")
    k, rows, cols = fixed.voxels.shape
    grids = {
        "axial": np.meshgrid([index], np.arange(rows), np.arange(cols), indexing="ij"),
        "coronal": np.meshgrid(np.arange(k), [index], np.arange(cols), indexing="ij"),
        "sagittal": np.meshgrid(np.arange(k), np.arange(rows), [index], indexing="ij"),
    }[axis]
    idx = np.stack([g.ravel() for g in grids] + [np.ones(grids[0].size)]).astype(np.float64)
    to_moving = moving.patient_to_index() @ fixed.index_to_patient()
    krc = np.rint((to_moving @ idx)[:3]).astype(np.int64)
    shape = np.array(moving.voxels.shape)[:, None]
    inside = np.all((krc >= 0) & (krc < shape), axis=0)
    out = np.full(idx.shape[1], np.nan, dtype=np.float32)
    out[inside] = moving.voxels[krc[0, inside], krc[1, inside], krc[2, inside]]
    return np.squeeze(
        out.reshape(grids[0].shape), axis={"axial": 0, "coronal": 1, "sagittal": 2}[axis]
    )


def render_slice(
    volume: Volume,
    axis: Axis,
    index: int,
    window: Window,
    *,
    regions: Sequence[RegionMask] = (),
    fusion: Volume | None = None,
    fusion_window: Window | None = None,
    fusion_opacity: float = 0.5,
) -> RenderedSlice:
    """Render one slice as PNG bytes.

    Args:
        volume: the base image (CT/MR, or PET alone with an SUV window).
        axis: "axial", "coronal" or "sagittal".
        index: slice index along that axis (axial: slice k; coronal: row; sagittal: column).
        window: grey window of the base image (see :data:`WINDOWS`).
        regions: masks on ``volume``'s grid drawn as coloured outlines.
        fusion: a PET volume in the same frame of reference blended on top in a hot colour map.
        fusion_window: window of the fused volume (default SUV 0..5).
        fusion_opacity: 0..1 weight of the fused colour at and above the middle of its window
            (rising linearly from 0 at the window's low end).

    Returns:
        The PNG and what it shows.

    Raises:
        RenderError: index out of range, mismatching grids or frames of reference.
    """
    plane = _orient(_plane(volume.voxels, axis, index), volume, axis)
    grey = apply_window(plane, window)
    if volume.units == "SUVbw" and window.name == "suv":
        rgb = 255 - np.repeat(grey[..., None], 3, axis=-1)  # PET alone: dark uptake on white
    else:
        rgb = np.repeat(grey[..., None], 3, axis=-1)
    overlays: list[str] = []
    if fusion is not None:
        pet_plane = _orient(sample_on_grid(fusion, volume, axis, index), volume, axis)
        fw = fusion_window or WINDOWS["suv"]
        pet_grey = apply_window(pet_plane, fw)
        hot = _hot(pet_grey).astype(np.float64)
        # Opacity grows with uptake up to full at mid-window: background activity tints the
        # anatomy faintly instead of covering it, hot lesions stand out at full opacity.
        ramp = np.clip(pet_grey.astype(np.float64) / 127.5, 0.0, 1.0)
        alpha = (ramp * float(np.clip(fusion_opacity, 0.0, 1.0)))[..., None]
        rgb = (rgb * (1 - alpha) + hot * alpha + 0.5).astype(np.uint8)
        overlays.append(f"fusion:{fusion.modality}")
    for n, region in enumerate(regions):
        if region.mask.shape != volume.voxels.shape:
            raise RenderError(f"region {region.name!r} is not on this image's grid")
        edge = outline(_orient(_plane(region.mask, axis, index), volume, axis))
        rgb[edge] = _CONTOUR_COLOURS[n % len(_CONTOUR_COLOURS)]
        overlays.append(f"contour:{region.name}")
    width, height = _display_size(volume, axis, plane.shape)
    if width * height > MAX_OUTPUT_PIXELS:
        raise RenderError("output image too large")
    image = Image.fromarray(np.ascontiguousarray(rgb), mode="RGB")
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return RenderedSlice(
        png=buf.getvalue(),
        axis=axis,
        index=index,
        window=window,
        width=width,
        height=height,
        overlays=tuple(overlays),
    )
