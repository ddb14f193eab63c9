"""Regions on a volume's grid: RTSTRUCT contours and DICOM SEG segments to boolean masks.

RTSTRUCT: each CLOSED_PLANAR contour is mapped from patient mm to continuous voxel indices with
the volume's affine, assigned to the nearest slice, and filled with an even-odd point-in-polygon
test at pixel centres; contours of one ROI on the same slice are combined with XOR, so an inner
contour cuts a hole (the usual convention).

SEG: frames are placed by their ImagePositionPatient on the slice of the image grid they lie on
(the SEG must share the image's in-plane grid, as SEGs derived from the series do). BINARY and
FRACTIONAL (threshold 0.5) segmentations are read with pydicom directly: highdicom would add
dependencies (and its decoders) for what is a small amount of code here.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import numpy.typing as npt
import pydicom

from inference.imaging.dicom_read import read_dataset
from inference.imaging.sandbox import run_sandboxed
from inference.imaging.schema import RegionMask, SandboxLimits, Volume

logger = logging.getLogger(__name__)

DEFAULT_LIMITS = SandboxLimits(memory_bytes=4 * 1024**3, cpu_seconds=120, wall_seconds=180)
_SLICE_TOLERANCE = 0.3  # fraction of the slice step a contour may sit off a slice plane


class RegionError(ValueError):
    """The region object cannot be placed on the volume."""


def polygon_mask(rows: int, cols: int, poly_rc: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Fill a polygon given in continuous (row, column) pixel coordinates.

    A pixel is inside when its centre is inside the polygon (even-odd rule).

    Args:
        rows, cols: image size.
        poly_rc: (n, 2) vertices.

    Returns:
        Boolean (rows, cols) mask.
    """
    mask = np.zeros((rows, cols), dtype=bool)
    if len(poly_rc) < 3:
        return mask
    r0 = max(int(np.floor(poly_rc[:, 0].min())), 0)
    r1 = min(int(np.ceil(poly_rc[:, 0].max())), rows - 1)
    c0 = max(int(np.floor(poly_rc[:, 1].min())), 0)
    c1 = min(int(np.ceil(poly_rc[:, 1].max())), cols - 1)
    if r0 > r1 or c0 > c1:
        return mask
    rr, cc = np.mgrid[r0 : r1 + 1, c0 : c1 + 1].astype(np.float64)
    inside = np.zeros(rr.shape, dtype=bool)
    pr, pc = poly_rc[:, 0], poly_rc[:, 1]
    qr, qc = np.roll(pr, -1), np.roll(pc, -1)
    for ar, ac, br, bc in zip(pr, pc, qr, qc, strict=True):
        if ar == br:
            continue
        # Ray towards +column from each pixel centre; count edge crossings.
        crosses = (ar > rr) != (br > rr)
        at_c = ac + (rr - ar) * (bc - ac) / (br - ar)
        inside ^= crosses & (cc < at_c)
    mask[r0 : r1 + 1, c0 : c1 + 1] = inside
    return mask


def _malformed(path: str | os.PathLike[str], exc: Exception) -> RegionError:
    return RegionError(
        f"{os.path.basename(str(path))}: malformed region object ({type(exc).__name__}: {exc})"
    )


_MALFORMED = (AttributeError, KeyError, IndexError, TypeError, ValueError)


def rtstruct_masks(
    rtstruct_path: str | os.PathLike[str], volume: Volume, names: list[str] | None = None
) -> list[RegionMask]:
    """Rasterise the ROIs of an RTSTRUCT on ``volume``'s grid.

    Args:
        rtstruct_path: the RTSTRUCT file (untrusted; read with the checked reader).
        volume: the image the contours were drawn on.
        names: ROI names to keep (all when None).

    Returns:
        One mask per ROI with contours, with warnings for contours off the grid.

    Raises:
        RegionError: not an RTSTRUCT.
    """
    ds = read_dataset(rtstruct_path, stop_before_pixels=True)
    if str(ds.get("Modality", "")) != "RTSTRUCT":
        raise RegionError("not an RTSTRUCT")
    try:
        return _rtstruct_masks(ds, volume, names)
    except RegionError:
        raise
    except _MALFORMED as exc:
        raise _malformed(rtstruct_path, exc) from exc


def _rtstruct_masks(
    ds: pydicom.Dataset, volume: Volume, names: list[str] | None
) -> list[RegionMask]:
    roi_names = {
        # De-identification empties ROI names (Table E.1-1: Z), so fall back to the number.
        int(item.ROINumber): str(item.get("ROIName") or f"ROI {item.ROINumber}")
        for item in ds.get("StructureSetROISequence", [])
    }
    roi_frames = {
        int(item.ROINumber): str(item.get("ReferencedFrameOfReferenceUID", ""))
        for item in ds.get("StructureSetROISequence", [])
    }
    to_index = volume.patient_to_index()
    k_count, rows, cols = volume.voxels.shape
    masks: list[RegionMask] = []
    for roi in ds.get("ROIContourSequence", []):
        number = int(roi.ReferencedROINumber)
        name = roi_names.get(number, f"ROI {number}")
        if names is not None and name not in names:
            continue
        warnings: list[str] = []
        frame = roi_frames.get(number, "")
        if frame and volume.frame_of_reference_uid and frame != volume.frame_of_reference_uid:
            warnings.append("ROI frame of reference differs from the image's")
        mask = np.zeros(volume.voxels.shape, dtype=bool)
        for contour in roi.get("ContourSequence", []):
            kind = str(contour.get("ContourGeometricType", "CLOSED_PLANAR"))
            if kind != "CLOSED_PLANAR":
                warnings.append(f"{kind} contour ignored")
                continue
            points = np.asarray([float(v) for v in contour.ContourData], dtype=np.float64)
            if points.size < 9 or points.size % 3:
                warnings.append("contour with fewer than 3 points ignored")
                continue
            xyz1 = np.c_[points.reshape(-1, 3), np.ones(points.size // 3)]
            krc = (to_index @ xyz1.T).T[:, :3]  # (n, 3): slice, row, column
            k_mean = float(np.mean(krc[:, 0]))
            k = int(round(k_mean))
            if np.ptp(krc[:, 0]) > 2 * _SLICE_TOLERANCE or abs(k - k_mean) > _SLICE_TOLERANCE:
                warnings.append(f"contour at slice index {k_mean:.2f} is not on a slice plane")
                continue
            if not 0 <= k < k_count:
                warnings.append(f"contour at slice index {k} is outside the image")
                continue
            mask[k] ^= polygon_mask(rows, cols, krc[:, 1:])
        masks.append(RegionMask(name=name, mask=mask, source="RTSTRUCT", warnings=tuple(warnings)))
    return masks


def seg_masks(seg_path: str | os.PathLike[str], volume: Volume) -> list[RegionMask]:
    """Place the segments of a DICOM SEG on ``volume``'s grid.

    Args:
        seg_path: the SEG file (untrusted; read with the checked reader).
        volume: the image the SEG was derived from (same rows, columns and orientation).

    Returns:
        One mask per segment.

    Raises:
        RegionError: not a SEG, or a grid that does not match the volume.
    """
    ds = read_dataset(seg_path, stop_before_pixels=False)
    if str(ds.get("Modality", "")) != "SEG":
        raise RegionError("not a SEG")
    try:
        return _seg_masks(ds, volume)
    except RegionError:
        raise
    except _MALFORMED as exc:
        raise _malformed(seg_path, exc) from exc


def _seg_masks(ds: pydicom.Dataset, volume: Volume) -> list[RegionMask]:
    k_count, rows, cols = volume.voxels.shape
    if int(ds.Rows) != rows or int(ds.Columns) != cols:
        raise RegionError(
            f"SEG frames are {ds.Rows}x{ds.Columns}, the image is {rows}x{cols}; resampling "
            "between grids is not supported"
        )
    try:
        frames = np.asarray(ds.pixel_array)
    except Exception as exc:  # noqa: BLE001 - pydicom's decoders raise many types
        raise RegionError(f"cannot decode SEG frames ({exc})") from exc
    if frames.ndim == 2:
        frames = frames[np.newaxis]
    seg_type = str(ds.get("SegmentationType", "BINARY"))
    if seg_type == "FRACTIONAL":
        top = float(ds.get("MaximumFractionalValue", 255) or 255)
        on = frames >= 0.5 * top
    else:
        on = frames > 0
    labels = {
        int(item.SegmentNumber): str(item.get("SegmentLabel") or f"Segment {item.SegmentNumber}")
        for item in ds.get("SegmentSequence", [])
    }
    shared = ds.get("SharedFunctionalGroupsSequence", [None])[0]
    to_index = volume.patient_to_index()
    masks = {n: np.zeros(volume.voxels.shape, dtype=bool) for n in labels}
    warnings: dict[int, list[str]] = {n: [] for n in labels}
    per_frame = ds.get("PerFrameFunctionalGroupsSequence", [])
    if len(per_frame) != len(on):
        raise RegionError("SEG frame count does not match its functional groups")
    for i, item in enumerate(per_frame):
        segment = int(item.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        if segment not in masks:
            continue
        plane = item.get("PlanePositionSequence") or (
            shared.get("PlanePositionSequence") if shared is not None else None
        )
        if not plane:
            raise RegionError(f"SEG frame {i + 1} has no position")
        xyz = [float(v) for v in plane[0].ImagePositionPatient]
        krc = to_index @ np.array([*xyz, 1.0])
        k = int(round(float(krc[0])))
        if abs(krc[0] - k) > _SLICE_TOLERANCE or abs(krc[1]) > 0.5 or abs(krc[2]) > 0.5:
            warnings[segment].append(f"frame {i + 1} does not lie on the image grid; ignored")
            continue
        if not 0 <= k < k_count:
            warnings[segment].append(f"frame {i + 1} is outside the image; ignored")
            continue
        masks[segment][k] |= on[i].astype(bool)
    return [
        RegionMask(name=labels[n], mask=masks[n], source="SEG", warnings=tuple(warnings[n]))
        for n in sorted(masks)
    ]


def load_regions_in_process(path: str, volume: Volume) -> list[RegionMask]:
    """RTSTRUCT or SEG at ``path`` -> masks on ``volume`` (dispatch on Modality), in process."""
    modality = str(read_dataset(path, stop_before_pixels=True).get("Modality", ""))
    if modality == "RTSTRUCT":
        return rtstruct_masks(path, volume)
    if modality == "SEG":
        return seg_masks(path, volume)
    raise RegionError(f"{os.path.basename(path)}: modality {modality!r} is not RTSTRUCT or SEG")


def load_regions(
    path: str | os.PathLike[str], volume: Volume, limits: SandboxLimits | None = DEFAULT_LIMITS
) -> list[RegionMask]:
    """Read an untrusted RTSTRUCT or SEG and place its regions on ``volume``'s grid.

    Args:
        path: the RTSTRUCT or SEG file.
        volume: the image it refers to (from :func:`inference.imaging.volume.load_series`).
        limits: sandbox limits; ``None`` parses in this process (trusted files only).

    Returns:
        One mask per ROI/segment.

    Raises:
        RegionError, DicomFileError: in process; SandboxError when sandboxed.
    """
    if limits is None:
        return load_regions_in_process(str(path), volume)
    result = run_sandboxed(
        "inference.imaging.regions:load_regions_in_process", (str(path), volume), limits
    )
    assert isinstance(result, list)
    return result
