"""P5: DICOM series load, header index and slice rendering on the shared sarcoma CT/MR/PET series.

Reference in the same run: a naive pydicom loop (dcmread every file, pixel_array, sort by position
along the slice normal, rescale) on the same files. Header indexing is compared with a pydicom
``dcmread(stop_before_pixels=True)`` loop. Both of ours run in this process here (trusted local
files); the sandboxed variants, which add a fresh interpreter per call, are reported beside them.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pydicom

from benchmarks.common import BenchmarkResult, median_seconds, result_line
from inference.imaging.dicom_index import index_files
from inference.imaging.ingest import process_upload
from inference.imaging.regions import rtstruct_masks
from inference.imaging.render import WINDOWS, render_slice
from inference.imaging.schema import DeidOptions
from inference.imaging.store import open_mask, open_volume, volume_geometry
from inference.imaging.volume import load_series

ID = "P5"
TITLE = "DICOM series load vs naive pydicom loop; header index files/s; slice render p95"

SERIES_GLOB = "dicom-samples/tcia-soft-tissue-sarcoma-mirp/STS_*/*/dicom/image"


def _naive_load(files: list[Path]) -> np.ndarray:
    datasets = [pydicom.dcmread(f) for f in files]
    orient = np.asarray(datasets[0].ImageOrientationPatient, dtype=np.float64)
    normal = np.cross(orient[:3], orient[3:])
    datasets.sort(key=lambda d: float(np.dot(normal, np.asarray(d.ImagePositionPatient, float))))
    return np.stack(
        [
            d.pixel_array.astype(np.float32) * float(getattr(d, "RescaleSlope", 1.0))
            + float(getattr(d, "RescaleIntercept", 0.0))
            for d in datasets
        ]
    )


def run(args: argparse.Namespace) -> BenchmarkResult:
    """Run P5 and return the result dict (the runner prints it as the last line)."""
    data = Path(args.data)
    series_dirs = sorted(data.glob(SERIES_GLOB))
    if not series_dirs:
        raise SystemExit(f"no series under {data / SERIES_GLOB}")
    series = [sorted(d.glob("*.dcm")) for d in series_dirs]
    repeats = 1 if args.quick else 5
    n_files = sum(len(s) for s in series)

    # Warm the page cache and check both loaders agree before timing.
    for files in series:
        ours = load_series(files, None).voxels
        naive = _naive_load(files)
        if ours.shape != naive.shape or not np.allclose(ours, naive, rtol=1e-5, atol=1e-3):
            raise SystemExit(f"loaders disagree on {files[0].parent}")

    t_ours = median_seconds(lambda: [load_series(f, None) for f in series], repeats)
    t_naive = median_seconds(lambda: [_naive_load(f) for f in series], repeats)
    t_sandboxed = median_seconds(lambda: load_series(series[0]), 1 if args.quick else 3)

    all_files = [f for s in series for f in s] + sorted(data.glob("dicom-samples/dcmqi/**/*.dcm"))
    batch = all_files * (2 if args.quick else 8)
    t_index = median_seconds(lambda: index_files(batch, None), repeats)
    t_index_sandboxed = median_seconds(lambda: index_files(batch), 1 if args.quick else 3)
    t_index_pydicom = median_seconds(
        lambda: [pydicom.dcmread(f, stop_before_pixels=True) for f in batch], 1 if args.quick else 3
    )

    ct_dir = next(d for d in series_dirs if d.parent.parent.name == "CT")
    ct = load_series(sorted(ct_dir.glob("*.dcm")), None)
    (gtv,) = rtstruct_masks(ct_dir.parent / "mask" / "RS.dcm", ct)
    latencies = []
    renders = 15 if args.quick else 60
    for i in range(renders):
        axis = ("axial", "coronal", "sagittal")[i % 3]
        limit = {
            "axial": ct.voxels.shape[0],
            "coronal": ct.voxels.shape[1],
            "sagittal": ct.voxels.shape[2],
        }[axis]
        start = time.perf_counter()
        render_slice(ct, axis, (i * 7) % limit, WINDOWS["soft_tissue"], regions=[gtv])  # type: ignore[arg-type]
        latencies.append((time.perf_counter() - start) * 1000.0)
    p95 = float(np.percentile(latencies, 95))
    viewer = _viewer_latency(ct_dir.parent.parent.parent, renders)

    ours_rate = len(series) / t_ours
    naive_rate = len(series) / t_naive
    ratio = ours_rate / naive_rate
    header_rate = len(batch) / t_index
    rows = [
        (
            f"series load ({len(series)} series, {n_files} files)",
            f"{t_ours:.3f} s",
            f"{t_naive:.3f} s",
            f"{ratio:.2f}x",
        ),
        ("series load, sandboxed (1 CT series)", f"{t_sandboxed:.3f} s", "-", "-"),
        (
            f"header index ({len(batch)} files)",
            f"{header_rate:,.0f} files/s",
            f"{len(batch) / t_index_pydicom:,.0f} files/s",
            f"{t_index_pydicom / t_index:.2f}x",
        ),
        ("header index, sandboxed", f"{len(batch) / t_index_sandboxed:,.0f} files/s", "-", "-"),
        ("slice render p95 (CT + contour)", f"{p95:.1f} ms", "-", "-"),
        (
            "ingest one patient, sandboxed (CT+PET+RTSTRUCT)",
            f"{viewer['ingest_s']:.2f} s",
            "-",
            "-",
        ),
        (
            "viewer slice p95 (stored CT, contour, PET fusion)",
            f"{viewer['p95_ms']:.1f} ms",
            "-",
            "-",
        ),
        ("viewer first slice after opening the store", f"{viewer['first_ms']:.1f} ms", "-", "-"),
    ]
    print(f"{'measure':44} {'ours':>16} {'reference':>16} {'ratio':>7}")
    for name, a, b, c in rows:
        print(f"{name:44} {a:>16} {b:>16} {c:>7}")
    met = ratio >= 1.0 and header_rate >= 3000
    return result_line(
        id=ID,
        metric="series_loads_per_s",
        ours=round(ours_rate, 3),
        baseline=round(naive_rate, 3),
        ratio=round(ratio, 2),
        goal=">= 1.0 x naive pydicom loop; header index >= 3000 files/s",
        met=met,
        header_index_files_per_s=round(header_rate, 1),
        header_index_pydicom_files_per_s=round(len(batch) / t_index_pydicom, 1),
        header_index_sandboxed_files_per_s=round(len(batch) / t_index_sandboxed, 1),
        sandboxed_ct_series_load_s=round(t_sandboxed, 3),
        render_p95_ms=round(p95, 2),
        viewer_slice_p95_ms=round(viewer["p95_ms"], 2),
        viewer_first_slice_ms=round(viewer["first_ms"], 2),
        ingest_patient_sandboxed_s=round(viewer["ingest_s"], 2),
        files=n_files,
        repeats=repeats,
    )


def _viewer_latency(patient_dir: Path, renders: int) -> dict[str, float]:
    """The viewer's path: ingest one patient as the app does, then render from the stored files.

    The app's slice view maps ``volume.npy`` and the masks read-only (``inference.imaging.store``)
    and renders with ``render_slice``; Django's request handling (a few ms) is not included.
    """
    files = sorted(p for modality in ("CT", "PET") for p in (patient_dir / modality).rglob("*.dcm"))
    names = [p.relative_to(patient_dir).as_posix() for p in files]
    with tempfile.TemporaryDirectory(prefix="p5-viewer-") as work:
        start = time.perf_counter()
        result = process_upload(files, names, work, DeidOptions(patient_secret=b"p5" * 16))
        ingest_s = time.perf_counter() - start
        stored = {s.index.modality: s for s in result.series if s.volume is not None}
        geometry = {
            m: {
                **volume_geometry(s.volume),
                "shape": list(np.load(s.voxels_path, mmap_mode="r").shape),
            }
            for m, s in stored.items()
            if s.volume is not None
        }
        start = time.perf_counter()
        ct = open_volume(stored["CT"].voxels_path, geometry["CT"])
        pet = open_volume(stored["PT"].voxels_path, geometry["PT"])
        regions = [
            open_mask(r.mask_path, r.name, r.source)
            for r in result.regions
            if r.series_instance_uid == ct.series_instance_uid
        ]
        render_slice(
            ct,
            "axial",
            ct.voxels.shape[0] // 2,
            WINDOWS["soft_tissue"],
            regions=regions,
            fusion=pet,
        )
        first_ms = (time.perf_counter() - start) * 1000.0
        latencies = []
        for i in range(renders):
            axis = ("axial", "coronal", "sagittal")[i % 3]
            limit = ct.voxels.shape[{"axial": 0, "coronal": 1, "sagittal": 2}[axis]]
            start = time.perf_counter()
            render_slice(
                ct,
                axis,  # type: ignore[arg-type]
                (i * 7) % limit,
                WINDOWS["soft_tissue"],
                regions=regions,
                fusion=pet,
            )
            latencies.append((time.perf_counter() - start) * 1000.0)
    return {
        "p95_ms": float(np.percentile(latencies, 95)),
        "first_ms": first_ms,
        "ingest_s": ingest_s,
    }
