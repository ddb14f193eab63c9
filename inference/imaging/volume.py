"""Assemble one image series into a volume on a regular grid.

Slices are ordered by their position along the slice normal (the cross product of the two
ImageOrientationPatient direction cosines), not by InstanceNumber or file name. Stored values are
rescaled with each slice's own RescaleSlope/RescaleIntercept (HU for CT). Gaps that are whole
multiples of the usual step are filled with NaN slices so that the grid stays regular and
patient-coordinate transforms stay exact; every gap, irregular step, duplicate position or shear
(gantry tilt) is reported in ``Volume.warnings``.
"""

from __future__ import annotations

import logging
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from inference.imaging.dicom_fast import fast_pixel_slice, parse_floats
from inference.imaging.dicom_format import DicomFileError
from inference.imaging.dicom_read import read_dataset
from inference.imaging.sandbox import run_sandboxed
from inference.imaging.schema import FileProblem, SandboxLimits, Volume

logger = logging.getLogger(__name__)

DEFAULT_LIMITS = SandboxLimits(memory_bytes=4 * 1024**3, cpu_seconds=120, wall_seconds=180)
_ORIENTATION_TOLERANCE = 1e-3
_IRREGULAR_FRACTION = 0.05


class VolumeError(ValueError):
    """The files do not form one volume; the message says why."""


@dataclass(frozen=True)
class _Slice:
    path: str
    position: tuple[float, float, float]
    orientation: tuple[float, ...]
    spacing: tuple[float, float]
    slope: float
    intercept: float
    pixels: npt.NDArray[Any]
    modality: str
    units: str
    series_uid: str
    frame_uid: str
    sop_uid: str


def _read_slice(path: str) -> _Slice:
    fast = fast_pixel_slice(path)
    if fast is not None:
        values, pixels = fast

        def get(key: str) -> str:
            return str(values.get(key, "") or "")

    else:
        ds = read_dataset(path, stop_before_pixels=False)
        try:
            pixels = ds.pixel_array
        except Exception as exc:  # noqa: BLE001 - pydicom's decoders raise many types
            raise DicomFileError(path, "invalid_value", f"cannot decode pixels ({exc})") from exc
        if pixels.ndim != 2:
            raise DicomFileError(path, "invalid_value", "multi-frame or colour image")
        header = {
            k: ds.get(k)
            for k in (
                "ImagePositionPatient",
                "ImageOrientationPatient",
                "PixelSpacing",
                "RescaleSlope",
                "RescaleIntercept",
                "Modality",
                "SeriesInstanceUID",
                "FrameOfReferenceUID",
                "SOPInstanceUID",
            )
        }

        def get(key: str) -> str:
            value = header.get(key)
            if value is None:
                return ""
            if (
                isinstance(value, list | tuple)
                or hasattr(value, "__iter__")
                and not isinstance(value, str)
            ):
                return "\\".join(str(v) for v in value)
            return str(value)

    position = parse_floats(get("ImagePositionPatient"), 3)
    orientation = parse_floats(get("ImageOrientationPatient"), 6)
    spacing = parse_floats(get("PixelSpacing"), 2)
    if position is None or orientation is None or spacing is None:
        raise DicomFileError(
            path, "missing_attribute", "missing image position, orientation or pixel spacing"
        )
    slope = parse_floats(get("RescaleSlope"), 1)
    intercept = parse_floats(get("RescaleIntercept"), 1)
    modality = get("Modality")
    return _Slice(
        path=path,
        position=position,  # type: ignore[arg-type]
        orientation=orientation,
        spacing=spacing,  # type: ignore[arg-type]
        slope=slope[0] if slope else 1.0,
        intercept=intercept[0] if intercept else 0.0,
        pixels=pixels,
        modality=modality,
        units="HU" if modality == "CT" else "",
        series_uid=get("SeriesInstanceUID"),
        frame_uid=get("FrameOfReferenceUID"),
        sop_uid=get("SOPInstanceUID"),
    )


def _pet_units(path: str) -> str:
    ds = read_dataset(path, stop_before_pixels=True)
    return str(ds.get("Units", "") or "")


def load_series_in_process(paths: Sequence[str]) -> Volume:
    """Load ``paths`` (one series) into a :class:`Volume` in this process.

    Args:
        paths: the series' files, in any order.

    Returns:
        The volume with warnings.

    Raises:
        VolumeError: not one consistent series.
        DicomFileError: a file could not be read.
    """
    if not paths:
        raise VolumeError("no files")
    slices = [_read_slice(str(p)) for p in paths]
    first = slices[0]
    warnings: list[str] = []
    orient = np.asarray(first.orientation)
    _check_consistent(slices, orient)
    row_dir = orient[:3] / np.linalg.norm(orient[:3])
    col_dir = orient[3:] / np.linalg.norm(orient[3:])
    normal = np.cross(row_dir, col_dir)
    unique, unique_pos = _distinct_positions(slices, normal, warnings)
    steps = np.diff(unique_pos)
    step = float(statistics.median(steps.tolist())) if len(steps) else 1.0
    # Shear: successive origins should move along the normal only.
    if len(unique) > 1:
        delta = np.asarray(unique[-1].position) - np.asarray(unique[0].position)
        in_plane = delta - np.dot(delta, normal) * normal
        if np.linalg.norm(in_plane) > 0.01 * max(abs(unique_pos[-1] - unique_pos[0]), 1.0):
            warnings.append("slice origins are sheared (gantry tilt); the grid ignores the shear")
    layers, slice_positions, sop_uids = _stack(unique, unique_pos, step, warnings)
    units = first.units
    if first.modality == "PT":
        units = _pet_units(first.path)
    voxels = np.stack(layers)  # (k, rows, cols)
    origin = unique[0].position
    return Volume(
        voxels=voxels,
        spacing=(abs(step), float(first.spacing[0]), float(first.spacing[1])),
        origin=(float(origin[0]), float(origin[1]), float(origin[2])),
        row_direction=tuple(float(x) for x in row_dir),  # type: ignore[arg-type]
        column_direction=tuple(float(x) for x in col_dir),  # type: ignore[arg-type]
        normal=tuple(float(x) for x in normal),  # type: ignore[arg-type]
        modality=first.modality,
        units=units,
        series_instance_uid=first.series_uid,
        frame_of_reference_uid=first.frame_uid,
        slice_positions=tuple(slice_positions),
        sop_instance_uids=tuple(sop_uids),
        warnings=tuple(warnings),
    )


def _check_consistent(slices: Sequence[_Slice], orient: npt.NDArray[Any]) -> None:
    """One series, with one orientation, image size and pixel spacing.

    Raises:
        VolumeError: naming the first file that differs.
    """
    first = slices[0]
    if len({s.series_uid for s in slices}) > 1:
        raise VolumeError("files belong to more than one series")
    for s in slices:
        if np.max(np.abs(np.asarray(s.orientation) - orient)) > _ORIENTATION_TOLERANCE:
            raise VolumeError(f"{os.path.basename(s.path)}: orientation differs within the series")
        if s.pixels.shape != first.pixels.shape:
            raise VolumeError(f"{os.path.basename(s.path)}: image size differs within the series")
        if np.max(np.abs(np.asarray(s.spacing) - np.asarray(first.spacing))) > 1e-3:
            raise VolumeError(
                f"{os.path.basename(s.path)}: pixel spacing differs within the series"
            )


def _distinct_positions(
    slices: Sequence[_Slice], normal: npt.NDArray[Any], warnings: list[str]
) -> tuple[list[_Slice], list[float]]:
    """The slices sorted along the normal, a duplicate position kept once (with a warning)."""
    keyed = sorted(slices, key=lambda s: float(np.dot(normal, s.position)))
    positions = [float(np.dot(normal, s.position)) for s in keyed]
    unique: list[_Slice] = []
    unique_pos: list[float] = []
    for s, z in zip(keyed, positions, strict=True):
        if unique_pos and abs(z - unique_pos[-1]) < 1e-3:
            warnings.append(
                f"duplicate slice position {z:.2f} mm ({os.path.basename(s.path)} ignored)"
            )
            continue
        unique.append(s)
        unique_pos.append(z)
    return unique, unique_pos


def _stack(
    unique: Sequence[_Slice], unique_pos: Sequence[float], step: float, warnings: list[str]
) -> tuple[list[npt.NDArray[np.float32]], list[float], list[str]]:
    """Rescaled layers on a regular grid: missing slices filled with NaN, irregular gaps warned.

    Returns:
        The layers, their positions along the normal, and their SOP instance UIDs ("" for a
        filled gap).
    """
    layers: list[npt.NDArray[np.float32]] = []
    slice_positions: list[float] = []
    sop_uids: list[str] = []
    nan_layer = np.full(unique[0].pixels.shape, np.nan, dtype=np.float32)
    for i, s in enumerate(unique):
        if i > 0:
            gap = unique_pos[i] - unique_pos[i - 1]
            ratio = gap / step if step > 0 else 1.0
            missing = int(round(ratio)) - 1
            if missing >= 1 and abs(ratio - round(ratio)) < _IRREGULAR_FRACTION * 2:
                warnings.append(
                    f"{missing} missing slice(s) between {unique_pos[i - 1]:.2f} and "
                    f"{unique_pos[i]:.2f} mm (filled with NaN)"
                )
                for m in range(missing):
                    layers.append(nan_layer)
                    slice_positions.append(unique_pos[i - 1] + step * (m + 1))
                    sop_uids.append("")
            elif abs(gap - step) > _IRREGULAR_FRACTION * step:
                warnings.append(
                    f"irregular slice spacing: {gap:.2f} mm at {unique_pos[i]:.2f} mm "
                    f"(usual {step:.2f} mm)"
                )
        layer = s.pixels.astype(np.float32)
        if s.slope != 1.0:
            layer *= np.float32(s.slope)
        if s.intercept != 0.0:
            layer += np.float32(s.intercept)
        layers.append(layer)
        slice_positions.append(unique_pos[i])
        sop_uids.append(s.sop_uid)
    return layers, slice_positions, sop_uids


def load_series(
    paths: Sequence[str | os.PathLike[str]], limits: SandboxLimits | None = DEFAULT_LIMITS
) -> Volume:
    """Load one series of untrusted files into a :class:`Volume`.

    Args:
        paths: the series' files (e.g. ``[i.path for i in SeriesIndex.instances]``).
        limits: sandbox limits; ``None`` loads in this process (trusted files only).

    Returns:
        The volume: float32 voxels ``(k, rows, cols)`` after rescale, geometry and warnings.

    Raises:
        VolumeError, DicomFileError: inconsistent series or unreadable file (in process).
        SandboxError: the sandboxed loader failed (timeout, memory, crash, or the above).
    """
    names = [str(p) for p in paths]
    if limits is None:
        return load_series_in_process(names)
    result = run_sandboxed("inference.imaging.volume:load_series_in_process", (names,), limits)
    assert isinstance(result, Volume)
    return result


def load_many_in_process(series: Sequence[Sequence[str]]) -> tuple[Volume | FileProblem, ...]:
    """Load several series; a series that fails becomes a :class:`FileProblem` naming why."""
    out: list[Volume | FileProblem] = []
    for paths in series:
        try:
            out.append(load_series_in_process(paths))
        except DicomFileError as exc:
            out.append(FileProblem(path=exc.path, kind=exc.kind, message=str(exc)))
        except VolumeError as exc:
            first = str(paths[0]) if paths else ""
            out.append(FileProblem(path=first, kind="invalid_value", message=str(exc)))
    return tuple(out)


def load_many(
    series: Sequence[Sequence[str | os.PathLike[str]]],
    limits: SandboxLimits | None = DEFAULT_LIMITS,
) -> tuple[Volume | FileProblem, ...]:
    """Load every series of an upload in one sandboxed call (one interpreter start in total).

    Args:
        series: per series, its files (e.g. from each ``SeriesIndex.instances``).
        limits: sandbox limits for the whole batch; ``None`` loads in this process.

    Returns:
        Per series, in order, its :class:`Volume` or a :class:`FileProblem`.

    Raises:
        SandboxError: the batch as a whole failed (timeout, memory, crash).
    """
    names = [[str(p) for p in paths] for paths in series]
    if limits is None:
        return load_many_in_process(names)
    result = run_sandboxed("inference.imaging.volume:load_many_in_process", (names,), limits)
    assert isinstance(result, tuple)
    return result
