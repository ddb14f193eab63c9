"""Viewer, Deep Zoom tiles, overlays, thumbnails and retirement: access, audit, content."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from oncology_ui.core.models import AccessLog
from oncology_ui.pathology.models import Slide
from tests.oncology_ui.conftest import Cast, signed_in_client
from tests.oncology_ui.pathology.factories import ProcessedFiles, SlideFactory

pytestmark = pytest.mark.django_db


def _slide_urls(slide: Slide) -> dict[str, str]:
    return {
        "viewer": reverse("pathology-viewer", args=[slide.pk]),
        "dzi": reverse("pathology-dzi", args=[slide.pk]),
        "tile": reverse("pathology-tile", args=[slide.pk, 8, 0, 0]),
        "thumbnail": reverse("pathology-thumbnail", args=[slide.pk]),
        "tissue": reverse("pathology-tissue", args=[slide.pk]),
        "heatmap": reverse("pathology-heatmap", args=[slide.pk]) + "?feature=nuclei_per_mm2",
        "retire": reverse("pathology-retire", args=[slide.pk]),
    }


def test_the_viewer_page_loads_openseadragon_and_is_audited_once(
    ready_slide: Slide, pathologist_client: Client
) -> None:
    before = AccessLog.objects.filter(action="view", category="slide").count()
    response = pathologist_client.get(reverse("pathology-viewer", args=[ready_slide.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "vendor/openseadragon/openseadragon.min.js" in html
    assert reverse("pathology-dzi", args=[ready_slide.pk]) in html
    assert "Research use only" in html
    assert "Nuclear density" in html
    assert "<script>" not in html and "style=" not in html
    # Tiles and overlays of the same view add no audit rows.
    pathologist_client.get(reverse("pathology-dzi", args=[ready_slide.pk]))
    pathologist_client.get(reverse("pathology-tile", args=[ready_slide.pk, 9, 0, 0]))
    pathologist_client.get(reverse("pathology-thumbnail", args=[ready_slide.pk]))
    rows = AccessLog.objects.filter(action="view", category="slide")
    assert rows.count() - before == 1
    assert rows.first().patient_id_snapshot == ready_slide.case.patient_id  # type: ignore[union-attr]


def test_the_dzi_describes_the_slide_and_tiles_are_jpeg(
    ready_slide: Slide, pathologist_client: Client
) -> None:
    dzi = pathologist_client.get(reverse("pathology-dzi", args=[ready_slide.pk]))
    assert dzi.status_code == 200 and dzi["Content-Type"] == "application/xml"
    assert f'Width="{ready_slide.width}" Height="{ready_slide.height}"' in dzi.content.decode()

    top = 11  # ceil(log2(2048)) = full resolution
    tile = pathologist_client.get(reverse("pathology-tile", args=[ready_slide.pk, top, 1, 1]))
    assert tile.status_code == 200 and tile["Content-Type"] == "image/jpeg"
    image = Image.open(io.BytesIO(tile.content))
    assert image.format == "JPEG" and image.size == (256, 256)
    assert tile["ETag"]
    # De-identified tiles may stay in the user's own browser cache, never in a shared one.
    assert tile["Cache-Control"] == "private, max-age=3600"
    again = pathologist_client.get(
        reverse("pathology-tile", args=[ready_slide.pk, top, 1, 1]), HTTP_IF_NONE_MATCH=tile["ETag"]
    )
    assert again.status_code == 304


@pytest.mark.parametrize(("level", "col", "row"), [(12, 0, 0), (11, 99, 0), (0, 0, 1)])
def test_a_tile_outside_the_pyramid_is_404(
    ready_slide: Slide, pathologist_client: Client, level: int, col: int, row: int
) -> None:
    url = reverse("pathology-tile", args=[ready_slide.pk, level, col, row])
    assert pathologist_client.get(url).status_code == 404


def test_another_teams_slide_is_404_with_one_denied_row_for_every_url(
    other_team_slide: Slide, pathologist_client: Client, cast: Cast
) -> None:
    for name, url in _slide_urls(other_team_slide).items():
        before = AccessLog.objects.filter(action="denied", category="slide").count()
        method = pathologist_client.post if name == "retire" else pathologist_client.get
        response = method(url)
        assert response.status_code == 404, name
        assert cast.other_patient.family_name not in response.content.decode()
        denied = AccessLog.objects.filter(action="denied", category="slide").count() - before
        assert denied == 1, name
    other_team_slide.refresh_from_db()
    assert other_team_slide.status == Slide.Status.READY


def test_thumbnail_tissue_outline_and_heatmap_are_pngs_of_the_slide(
    ready_slide: Slide, pathologist_client: Client
) -> None:
    thumb = Image.open(
        io.BytesIO(pathologist_client.get(_slide_urls(ready_slide)["thumbnail"]).content)
    )
    assert max(thumb.size) == 512
    tissue = Image.open(
        io.BytesIO(pathologist_client.get(_slide_urls(ready_slide)["tissue"]).content)
    )
    assert tissue.mode == "RGBA"
    response = pathologist_client.get(_slide_urls(ready_slide)["heatmap"])
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    heat = Image.open(io.BytesIO(response.content))
    assert heat.mode == "RGBA" and heat.size == (1024, 768)
    alpha = heat.getchannel("A")
    # Painted over the tissue tiles only: some pixels opaque, the glass transparent.
    assert alpha.getextrema() == (0, 255)


def test_an_unknown_heatmap_feature_is_404(ready_slide: Slide, pathologist_client: Client) -> None:
    url = reverse("pathology-heatmap", args=[ready_slide.pk]) + "?feature=../../etc"
    assert pathologist_client.get(url).status_code == 404


def test_without_any_analysis_the_viewer_says_there_is_no_attention(
    ready_slide: Slide, pathologist_client: Client
) -> None:
    html = pathologist_client.get(reverse("pathology-viewer", args=[ready_slide.pk])).content
    assert b"No analysis has been run for this case yet" in html
    assert b"source=attention" not in html
    url = reverse("pathology-heatmap", args=[ready_slide.pk]) + "?source=attention"
    assert pathologist_client.get(url).status_code == 404


def test_the_viewer_offers_model_attention_when_a_prediction_has_it(
    ready_slide: Slide, pathologist_client: Client
) -> None:
    from inference.slides.features import load_tile_features
    from oncology_ui.pathology.services import media_path
    from tests.oncology_ui.boards.helpers import prediction_create

    features = load_tile_features(media_path(ready_slide.features_path))
    coords = features.coords.tolist()
    weights = (features.features[:, 8] / features.features[:, 8].sum()).tolist()
    prediction_create(
        ready_slide.case,
        explanation={
            "tile_attention": [
                {"slide_id": str(ready_slide.pk), "tile_coordinates": coords, "weights": weights}
            ]
        },
    )
    html = pathologist_client.get(reverse("pathology-viewer", args=[ready_slide.pk])).content
    assert b"Model attention (oncofusion 1.4.0)" in html and b"source=attention" in html
    url = reverse("pathology-heatmap", args=[ready_slide.pk]) + "?source=attention"
    response = pathologist_client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"


def test_a_slide_without_mpp_opens_with_a_warning_and_no_scale(
    cast: Cast, pathologist_client: Client, processed_files: ProcessedFiles
) -> None:
    slide = SlideFactory.ready(files=processed_files, case=cast.case)
    Slide.objects.filter(pk=slide.pk).update(mpp=None, tissue_area_mm2=None)
    response = pathologist_client.get(reverse("pathology-viewer", args=[slide.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "does not record microns per pixel" in html
    assert 'data-mpp=""' in html


def test_a_pathologist_removes_a_slide_and_it_is_audited(
    ready_slide: Slide, pathologist_client: Client
) -> None:
    response = pathologist_client.post(reverse("pathology-retire", args=[ready_slide.pk]))

    assert response.status_code == 302
    ready_slide.refresh_from_db()
    assert ready_slide.status == Slide.Status.RETIRED and ready_slide.retired_at is not None
    assert AccessLog.objects.filter(action="delete", category="slide").count() == 1
    assert (
        pathologist_client.get(reverse("pathology-dzi", args=[ready_slide.pk])).status_code == 404
    )


def test_a_coordinator_may_view_but_not_remove(ready_slide: Slide, cast: Cast) -> None:
    client = signed_in_client(cast.coordinator)
    assert client.get(reverse("pathology-viewer", args=[ready_slide.pk])).status_code == 200
    assert client.post(reverse("pathology-retire", args=[ready_slide.pk])).status_code == 404
    ready_slide.refresh_from_db()
    assert ready_slide.status == Slide.Status.READY


def test_removing_needs_post(ready_slide: Slide, pathologist_client: Client) -> None:
    assert (
        pathologist_client.get(reverse("pathology-retire", args=[ready_slide.pk])).status_code
        == 405
    )
