"""DICOM whole-slide images: same pixels as the SVS they were made from, same de-identified
derivative and analysis, and every malformed set of instances refused in words."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import tifffile

from inference.slides.deid import deidentify_slide
from inference.slides.dicom_wsi import UNPACK_PREFIX, remove_stale_unpacked
from inference.slides.errors import SlideUnreadable
from inference.slides.inspect import inspect_slide
from inference.slides.pipeline import process_slide
from inference.slides.reader import open_slide
from inference.slides.schema import SlideLimits
from tests.inference.slides.dicomize import (
    ACCESSION,
    PATIENT_ID,
    PATIENT_NAME,
    SMALL_SVS,
    dicomize,
    zip_files,
)
from tests.paths import FIXTURES

FAST = SlideLimits(wall_seconds=20.0, cpu_seconds=15, memory_bytes=1024 * 1024**2)
CT = sorted((FIXTURES / "dicom" / "sts_002" / "CT").rglob("*.dcm"))


def _zip(tmp_path: Path, files: list[Path], **extra: bytes) -> Path:
    path = tmp_path / "slide.zip"
    path.write_bytes(zip_files(files, extra=extra))
    return path


def _refused(path: Path, reason: str, words: str) -> None:
    with pytest.raises(SlideUnreadable) as info:
        inspect_slide(path, FAST)
    assert info.value.reason == reason, str(info.value)
    assert words in str(info.value), str(info.value)


def test_it_reads_the_same_pixels_and_scale_as_the_svs(dicom_wsi: list[Path]) -> None:
    with open_slide(dicom_wsi[0].parent) as dicom, open_slide(SMALL_SVS) as svs:
        assert (dicom.info.format, dicom.info.reader) == ("dicom-wsi", "wsidicom")
        assert (dicom.info.width, dicom.info.height) == (svs.info.width, svs.info.height)
        assert dicom.info.mpp_x == pytest.approx(svs.info.mpp_x, rel=1e-3)
        assert dicom.level_count == len(dicom_wsi) == 5
        # The dicomizer copies the SVS's JPEG tiles: the same decoder gives the same pixels.
        a = dicom.read_region(0, 300, 500, 700, 600)
        b = svs.read_region(0, 300, 500, 700, 600)
        assert np.array_equal(a, b)
        assert dicom.read_region(0, 2000, 2800, 512, 512)[-1, -1].tolist() == [255, 255, 255]


def test_inspection_of_the_zip_gives_the_patient_id_for_the_wrong_patient_check(
    dicom_wsi: list[Path], tmp_path: Path
) -> None:
    info = inspect_slide(_zip(tmp_path, dicom_wsi), FAST)
    assert (info.format, info.width, info.height, len(info.levels)) == ("dicom-wsi", 2220, 2967, 5)
    assert info.patient_id == PATIENT_ID
    assert info.compression == "jpeg"


def test_the_derivative_keeps_no_dicom_attribute_and_is_analysed_like_an_svs(
    dicom_wsi: list[Path], tmp_path: Path
) -> None:
    deid = deidentify_slide(_zip(tmp_path, dicom_wsi), tmp_path / "slide.tif")
    data = Path(deid.path).read_bytes()
    for secret in (PATIENT_ID, PATIENT_NAME, ACCESSION, "19610203", "REFERRING", "CI_12345"):
        assert secret.encode() not in data, secret
    assert b"DICM" not in data
    with tifffile.TiffFile(deid.path) as tif:
        descriptions = {p.description for p in tif.pages if isinstance(p, tifffile.TiffPage)}
        assert descriptions <= {deid.description, ""}
        assert "MPP = 0.499" in deid.description
    with open_slide(deid.path) as out, open_slide(SMALL_SVS) as svs:
        diff = np.abs(
            out.read_region(0, 256, 256, 512, 512).astype(int)
            - svs.read_region(0, 256, 256, 512, 512).astype(int)
        )
        assert diff.mean() < 4  # one JPEG re-encoding at quality 90
    summary = process_slide(deid.path, tmp_path / "features.npz")
    assert summary.tile_count > 10
    assert summary.mpp == pytest.approx(0.499, rel=1e-3)


def test_a_ct_image_is_not_a_whole_slide(tmp_path: Path) -> None:
    _refused(_zip(tmp_path, CT[:2]), "not-a-slide", "a CT image, not a DICOM whole-slide image")
    _refused(CT[0], "not-a-slide", "a CT image")


def test_two_slides_mixed_are_refused(dicom_wsi: list[Path], tmp_path: Path) -> None:
    same_patient = dicomize(SMALL_SVS, tmp_path / "again")
    _refused(_zip(tmp_path, dicom_wsi + same_patient[1:]), "malformed", "2 different studies")
    other = dicomize(SMALL_SVS, tmp_path / "other", patient_id="SOMEONE-ELSE")
    _refused(_zip(tmp_path, dicom_wsi + other), "malformed", "2 different patients")


def test_a_missing_level_or_missing_tiles_are_refused(
    dicom_wsi: list[Path], tmp_path: Path
) -> None:
    gap = [dicom_wsi[0], dicom_wsi[3], dicom_wsi[4]]
    _refused(_zip(tmp_path, gap), "truncated", "pyramid level between 2220 and 278")
    split = dicomize(SMALL_SVS, tmp_path / "split", max_size_mb=1)
    assert len(split) > len(dicom_wsi)  # level 0 in two instances
    _refused(_zip(tmp_path, split[1:]), "truncated", "tiles; a file of the slide is missing")


def test_a_zip_bomb_and_foreign_members_are_refused(dicom_wsi: list[Path], tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("slide/000.dcm", bytes(64 * 1024**2))
    _refused(bomb, "too-large", "zip bomb")
    _refused(_zip(tmp_path, dicom_wsi, **{"notes.txt": b"hello"}), "not-a-slide", "notes.txt")
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("DICOMDIR", b"x")
    _refused(empty, "not-a-slide", "holds no files")


def test_an_archive_unpacking_past_the_size_limit_is_refused(
    dicom_wsi: list[Path], tmp_path: Path
) -> None:
    small = SlideLimits(max_file_bytes=1_000_000, wall_seconds=20.0, cpu_seconds=15)
    with pytest.raises(SlideUnreadable) as info:
        inspect_slide(_zip(tmp_path, dicom_wsi), small)
    assert info.value.reason == "too-large"


def test_an_unpacked_archive_a_killed_reader_left_is_removed_a_day_later() -> None:
    import tempfile
    import time

    left = Path(tempfile.mkdtemp(prefix=UNPACK_PREFIX))
    (left / "000000.dcm").write_bytes(b"x")
    remove_stale_unpacked(86_400)  # a fresh folder may belong to a reader still at work
    assert left.exists()
    remove_stale_unpacked(86_400, now=time.time() + 2 * 86_400)
    assert not left.exists()
