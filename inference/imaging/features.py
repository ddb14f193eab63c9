"""Per-region measurements and the :class:`ImagingFeatures` the model receives.

Definitions (with units and caveats) are in ``docs/imaging/features.md``; the names here are the
names used there. Intensities are taken from the volume as loaded (HU for CT, SUVbw for PET after
:func:`inference.imaging.pet.to_suv`); NaN voxels (missing slices) are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from inference.imaging.schema import (
    ImagingFeatures,
    LesionFeatures,
    Measurement,
    RegionMask,
    Volume,
)

FEATURE_VERSION = "imaging-features-1"
PEAK_SPHERE_ML = 1.0


def _intensity_unit(volume: Volume) -> str:
    return volume.units or "a.u."


def _bin_width(volume: Volume) -> float:
    if volume.units == "HU":
        return 25.0
    if volume.units in ("SUVbw", "GML"):
        return 0.25
    return 1.0


def outline(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """The pixels of a 2-D mask that touch its outside (4-neighbourhood)."""
    padded = np.pad(mask, 1)
    interior = (
        padded[1:-1, 1:-1]
        & padded[:-2, 1:-1]
        & padded[2:, 1:-1]
        & padded[1:-1, :-2]
        & padded[1:-1, 2:]
    )
    return mask & ~interior


def _boundary_corners(slice_mask: npt.NDArray[np.bool_], dr: float, dc: float) -> npt.NDArray[Any]:
    """In-plane mm coordinates of the corners of the region's edge pixels."""
    edge = np.argwhere(outline(slice_mask)).astype(np.float64)
    if len(edge) == 0:
        return np.zeros((0, 2))
    corners = np.concatenate(
        [edge + np.array(offset) for offset in ((-0.5, -0.5), (-0.5, 0.5), (0.5, -0.5), (0.5, 0.5))]
    )
    corners = np.unique(corners, axis=0)
    return corners * np.array([dr, dc])


def _directions_2d(n: int = 360) -> npt.NDArray[Any]:
    angles = np.linspace(0.0, math.pi, n, endpoint=False)
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _directions_3d(n: int = 4000) -> npt.NDArray[Any]:
    """Fibonacci points on the half sphere (opposite directions give the same extent)."""
    i = np.arange(n) + 0.5
    z = i / n
    phi = math.pi * (1 + 5**0.5) * i
    r = np.sqrt(1 - z**2)
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


_DIRS_2D = _directions_2d()
_DIRS_3D = _directions_3d()


def _feret(points: npt.NDArray[Any], directions: npt.NDArray[Any]) -> tuple[float, int]:
    """Largest extent of ``points`` over ``directions`` (the maximum Feret diameter) and its index.

    The maximum over all directions of the projection extent equals the longest distance between
    two points; with 360 directions in-plane (4000 in 3D) the underestimate is below 0.01 %.
    """
    if len(points) < 2:
        return 0.0, 0
    proj = points @ directions.T
    extent = proj.max(axis=0) - proj.min(axis=0)
    best = int(np.argmax(extent))
    return float(extent[best]), best


def axial_diameters(volume: Volume, mask: npt.NDArray[np.bool_]) -> tuple[float, float, int]:
    """Longest in-plane diameter and the extent perpendicular to it, over all slices (mm).

    Both are measured on the corners of the region's edge pixels, so a 10-pixel-wide square at
    1 mm measures 10 mm across. The perpendicular diameter is the region's extent along the
    in-plane direction perpendicular to the longest diameter, on the same slice.

    Returns:
        (longest diameter, perpendicular diameter, slice index); zeros and -1 for an empty mask.
    """
    best = (0.0, 0.0, -1)
    dr, dc = volume.spacing[1], volume.spacing[2]
    for k in np.flatnonzero(mask.any(axis=(1, 2))):
        points = _boundary_corners(mask[k], dr, dc)
        longest, index = _feret(points, _DIRS_2D)
        if longest > best[0]:
            # The two extreme points along the best sampled direction are the diameter's ends;
            # their difference gives the exact axis (the sampled direction is within 0.25 deg).
            proj_best = points @ _DIRS_2D[index]
            chord = points[int(np.argmax(proj_best))] - points[int(np.argmin(proj_best))]
            longest = max(longest, float(np.hypot(*chord)))
            axis = chord / np.hypot(*chord)
            perpendicular = np.array([-axis[1], axis[0]])
            proj = points @ perpendicular
            best = (longest, float(proj.max() - proj.min()), int(k))
    return best


def maximum_3d_diameter(volume: Volume, mask: npt.NDArray[np.bool_]) -> float:
    """Largest distance between the centres of two voxels of the region (mm)."""
    padded = np.pad(mask, 1)
    interior = padded[1:-1, 1:-1, 1:-1].copy()
    for axis in range(3):
        for shift in (-1, 1):
            interior &= np.roll(padded, shift, axis=axis)[1:-1, 1:-1, 1:-1]
    idx = np.argwhere(mask & ~interior).astype(np.float64)
    if len(idx) < 2:
        return 0.0
    xyz = idx @ (volume.index_to_patient()[:3, :3].T)
    return _feret(xyz, _DIRS_3D)[0]


def surface_area_mm2(volume: Volume, mask: npt.NDArray[np.bool_]) -> float:
    """Area of the exposed voxel faces (mm^2); exact for boxes, about 1.5x too large for spheres."""
    dk, dr, dc = volume.spacing
    padded = np.pad(mask, 1)
    faces_k = np.count_nonzero(padded[1:, :, :] != padded[:-1, :, :])
    faces_r = np.count_nonzero(padded[:, 1:, :] != padded[:, :-1, :])
    faces_c = np.count_nonzero(padded[:, :, 1:] != padded[:, :, :-1])
    return float(faces_k * dr * dc + faces_r * dk * dc + faces_c * dk * dr)


def peak_value(
    volume: Volume, mask: npt.NDArray[np.bool_], sphere_ml: float = PEAK_SPHERE_ML
) -> float:
    """Highest mean of a ``sphere_ml`` sphere centred on a voxel of the region.

    The sphere (radius 6.2 mm for 1 mL) takes voxels whose centres are within the radius, from the
    whole image, not only from the region (the usual SUVpeak definition).
    """
    if not mask.any():
        return math.nan
    radius = (3 * sphere_ml * 1000.0 / (4 * math.pi)) ** (1 / 3)
    dk, dr, dc = volume.spacing
    nk, nr, nc = (int(math.floor(radius / s)) for s in (dk, dr, dc))
    offsets = [
        (a, b, c)
        for a in range(-nk, nk + 1)
        for b in range(-nr, nr + 1)
        for c in range(-nc, nc + 1)
        if (a * dk) ** 2 + (b * dr) ** 2 + (c * dc) ** 2 <= radius**2
    ]
    idx = np.argwhere(mask)
    lo = np.maximum(idx.min(0) - [nk, nr, nc], 0)
    hi = np.minimum(idx.max(0) + [nk, nr, nc] + 1, volume.voxels.shape)
    crop = volume.voxels[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]].astype(np.float64)
    valid = np.isfinite(crop)
    values = np.where(valid, crop, 0.0)
    pad = ((nk, nk), (nr, nr), (nc, nc))
    values_p = np.pad(values, pad)
    valid_p = np.pad(valid, pad).astype(np.float64)
    total = np.zeros(crop.shape)
    count = np.zeros(crop.shape)
    sk, sr, sc = crop.shape
    for a, b, c in offsets:
        window = (
            slice(nk + a, nk + a + sk),
            slice(nr + b, nr + b + sr),
            slice(nc + c, nc + c + sc),
        )
        total += values_p[window]
        count += valid_p[window]
    with np.errstate(invalid="ignore", divide="ignore"):
        means = total / count
    region = mask[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
    return float(np.nanmax(np.where(region, means, np.nan)))


def first_order(values: npt.NDArray[Any], bin_width: float) -> dict[str, float]:
    """First-order statistics of the region's intensities (see docs/imaging/features.md)."""
    v = values[np.isfinite(values)].astype(np.float64)
    if v.size == 0:
        return {}
    mean = float(v.mean())
    std = float(v.std())
    centred = v - mean
    skew = float((centred**3).mean() / std**3) if std > 0 else 0.0
    kurt = float((centred**4).mean() / std**4 - 3.0) if std > 0 else 0.0
    bins = np.floor(v / bin_width).astype(np.int64)
    _, counts = np.unique(bins, return_counts=True)
    p = counts / counts.sum()
    p10, p25, p50, p75, p90 = np.percentile(v, [10, 25, 50, 75, 90])
    return {
        "mean": mean,
        "median": float(p50),
        "minimum": float(v.min()),
        "maximum": float(v.max()),
        "p10": float(p10),
        "p90": float(p90),
        "interquartile_range": float(p75 - p25),
        "range": float(v.max() - v.min()),
        "standard_deviation": std,
        "mean_absolute_deviation": float(np.abs(centred).mean()),
        "skewness": skew,
        "excess_kurtosis": kurt,
        "entropy": float(-(p * np.log2(p)).sum()),
        "uniformity": float((p**2).sum()),
    }


def lesion_features(volume: Volume, region: RegionMask) -> LesionFeatures:
    """Shape, size and intensity numbers of one region on one volume.

    Args:
        volume: the image (HU, SUVbw or scanner units).
        region: a mask on ``volume``'s grid.

    Returns:
        Measurements with units and provenance.

    Raises:
        ValueError: mask and volume grids differ.
    """
    mask = region.mask
    if mask.shape != volume.voxels.shape:
        raise ValueError("mask and volume have different shapes")
    where = f"{region.source} '{region.name}' on {volume.modality} series"
    voxel_ml = float(np.prod(volume.spacing)) / 1000.0
    count = int(np.count_nonzero(mask & np.isfinite(volume.voxels)))
    volume_ml = count * voxel_ml
    area = surface_area_mm2(volume, mask)
    v_mm3 = volume_ml * 1000.0
    sphericity = (math.pi ** (1 / 3)) * (6 * v_mm3) ** (2 / 3) / area if area > 0 else math.nan
    longest, perpendicular, _ = axial_diameters(volume, mask)
    unit = _intensity_unit(volume)
    m: list[Measurement] = [
        Measurement("voxel_count", float(count), "1", f"{where}: voxels in region"),
        Measurement("volume", volume_ml, "mL", f"{where}: voxel count x voxel volume"),
        Measurement("surface_area", area, "mm2", f"{where}: exposed voxel faces"),
        Measurement("sphericity", sphericity, "1", f"{where}: from voxel volume and face area"),
        Measurement(
            "longest_axial_diameter",
            longest,
            "mm",
            f"{where}: maximum in-plane Feret diameter, edge corners",
        ),
        Measurement(
            "perpendicular_axial_diameter",
            perpendicular,
            "mm",
            f"{where}: extent perpendicular to the longest diameter, same slice",
        ),
        Measurement(
            "maximum_3d_diameter",
            maximum_3d_diameter(volume, mask),
            "mm",
            f"{where}: voxel centres",
        ),
    ]
    for name, value in first_order(volume.voxels[mask], _bin_width(volume)).items():
        feature_unit = (
            "1" if name in ("skewness", "excess_kurtosis", "entropy", "uniformity") else unit
        )
        if name == "entropy":
            feature_unit = "bits"
        m.append(Measurement(name, value, feature_unit, f"{where}: first-order, IBSI definition"))
    m.append(
        Measurement(
            "peak",
            peak_value(volume, mask),
            unit,
            f"{where}: max mean in a 1 mL sphere centred in region",
        )
    )
    return LesionFeatures(
        region=region.name,
        series_instance_uid=volume.series_instance_uid,
        modality=volume.modality,
        measurements=tuple(m),
    )


def study_features(study_instance_uid: str, lesions: Sequence[LesionFeatures]) -> ImagingFeatures:
    """Combine per-lesion numbers into the per-study :class:`ImagingFeatures`.

    Per-study numbers: lesion count, total volume and largest diameter (anatomical series), and for
    PET in SUVbw: SUVmax over lesions, metabolic tumour volume and total lesion glycolysis.
    """
    anatomical = [les for les in lesions if les.modality != "PT"]
    pet = [les for les in lesions if les.modality == "PT"]
    study: list[Measurement] = [
        Measurement("lesion_count", float(len({les.region for les in lesions})), "1", "regions"),
    ]
    if anatomical:
        study.append(
            Measurement(
                "total_lesion_volume",
                float(sum(les.get("volume") for les in anatomical)),
                "mL",
                "sum of region volumes on CT/MR",
            )
        )
        study.append(
            Measurement(
                "largest_longest_axial_diameter",
                float(max(les.get("longest_axial_diameter") for les in anatomical)),
                "mm",
                "largest region diameter on CT/MR",
            )
        )
    suv = [les for les in pet if any(m.unit == "SUVbw" for m in les.measurements)]
    if suv:
        study.append(
            Measurement("suv_max", float(max(les.get("maximum") for les in suv)), "SUVbw", "PET")
        )
        study.append(
            Measurement(
                "metabolic_tumour_volume",
                float(sum(les.get("volume") for les in suv)),
                "mL",
                "sum of PET region volumes",
            )
        )
        study.append(
            Measurement(
                "total_lesion_glycolysis",
                float(sum(les.get("volume") * les.get("mean") for les in suv)),
                "g",
                "sum of SUVmean x volume over PET regions (SUVbw g/mL x mL)",
            )
        )
    return ImagingFeatures(
        study_instance_uid=study_instance_uid,
        lesions=tuple(lesions),
        study=tuple(study),
        feature_version=FEATURE_VERSION,
    )
