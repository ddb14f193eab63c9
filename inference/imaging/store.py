"""The on-disk form of a loaded series: voxels in a ``.npy``, geometry as JSON.

The ingest writes each volume once; the viewer maps it read-only (``mmap_mode="r"``), so a slice
request reads only the pages of that slice and a process keeps many series open cheaply. Masks
are boolean ``.npy`` files on the same grid. ``allow_pickle=False`` everywhere: these files are
ours, but a ``.npy`` must never be able to run code.
"""

from __future__ import annotations

import os
from typing import Any, Literal

import numpy as np

from inference.imaging.schema import RegionMask, Volume


def volume_geometry(volume: Volume) -> dict[str, Any]:
    """JSON-able description of ``volume``'s grid (everything but the voxels)."""
    return {
        "shape": [int(n) for n in volume.voxels.shape],
        "spacing": list(volume.spacing),
        "origin": list(volume.origin),
        "row_direction": list(volume.row_direction),
        "column_direction": list(volume.column_direction),
        "normal": list(volume.normal),
        "slice_positions": list(volume.slice_positions),
        "modality": volume.modality,
        "units": volume.units,
        "series_instance_uid": volume.series_instance_uid,
        "frame_of_reference_uid": volume.frame_of_reference_uid,
    }


def _triple(values: Any) -> tuple[float, float, float]:
    return (float(values[0]), float(values[1]), float(values[2]))


def open_volume(voxels_path: str | os.PathLike[str], geometry: dict[str, Any]) -> Volume:
    """Map a stored volume read-only.

    Raises:
        ValueError: the file's shape does not match the geometry (a damaged store).
    """
    voxels = np.load(voxels_path, mmap_mode="r", allow_pickle=False)
    if list(voxels.shape) != list(geometry["shape"]):
        raise ValueError(f"stored volume is {voxels.shape}, its geometry says {geometry['shape']}")
    return Volume(
        voxels=voxels,
        spacing=_triple(geometry["spacing"]),
        origin=_triple(geometry["origin"]),
        row_direction=_triple(geometry["row_direction"]),
        column_direction=_triple(geometry["column_direction"]),
        normal=_triple(geometry["normal"]),
        modality=str(geometry.get("modality", "")),
        units=str(geometry.get("units", "")),
        series_instance_uid=str(geometry.get("series_instance_uid", "")),
        frame_of_reference_uid=str(geometry.get("frame_of_reference_uid", "")),
        slice_positions=tuple(float(x) for x in geometry.get("slice_positions", ())),
        sop_instance_uids=(),
    )


def open_mask(
    path: str | os.PathLike[str], name: str, source: Literal["RTSTRUCT", "SEG"]
) -> RegionMask:
    """Map a stored region mask read-only."""
    mask = np.load(path, mmap_mode="r", allow_pickle=False)
    return RegionMask(name=name, mask=mask, source=source)
