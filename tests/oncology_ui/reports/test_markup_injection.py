"""Hostile record text in every PDF we print (SECURITY.md scenarios 32 and 38).

reportlab reads Paragraph text (and table-of-contents entries) as markup: a name can carry a
link, an image from a server path or a URL, or a broken tag. Each hostile string goes into every
user-entered field that reaches a PDF (patient name, diagnosis, timeline titles and details, lab
names, decision text, meeting title), then the case report (identified and de-identified) and
the board packet are rendered through the real job and read back with pypdf.
"""

from __future__ import annotations

import ast
import datetime as dt
import io
import logging
import shutil
import tempfile
import threading
from dataclasses import replace
from pathlib import Path

import pytest
import reportlab
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image as PILImage
from pypdf import PdfReader
from pypdf.generic import DictionaryObject, IndirectObject
from reportlab import rl_config
from reportlab.lib.utils import ImageReader

from oncology_ui.clinical.models import LabResult
from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import AccessLog, Job
from oncology_ui.reports import charts as report_charts
from oncology_ui.reports import services
from oncology_ui.reports.build import case_report_data
from oncology_ui.reports.data import ChartSeries
from oncology_ui.reports.pdf import render_case_report
from tests.factories import TimelineEventFactory
from tests.oncology_ui.boards.conftest import BoardCast, decision_signed
from tests.oncology_ui.boards.helpers import prediction_create
from tests.oncology_ui.conftest import Cast
from tests.pdfs import pdf_pages, pdf_text

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]

JAVASCRIPT_LINK = '<a href="javascript:app.alert(1)">x</a>'
BROKEN_TAGS = ("<b>x", "<para>", "</font>", '<font name="nope">x</font>', "[[[1]]] & < > <i>")
# The decision's free-text fields, all printed in the case report and the board packet.
DECISION_TEXTS = (
    "therapy",
    "trial_referral",
    "further_tests",
    "follow_up",
    "discussion_notes",
    "discordance_reason",
)


def _hostile_case(cast: Cast, boards: BoardCast, hostile: str) -> None:
    """Put ``hostile`` in every field a user or an import can fill that reaches a PDF."""
    patient = cast.patient
    patient.given_name = hostile
    patient.save(update_fields=["given_name"])
    cast.case.primary_diagnosis = hostile
    cast.case.histology = hostile
    cast.case.save(update_fields=["primary_diagnosis", "histology"])
    TimelineEventFactory.create(case=cast.case, title=hostile, detail=hostile)
    when = timezone.make_aware(dt.datetime(2024, 3, 1, 9, 0))
    for day, value in enumerate((4.1, 5.3)):
        LabResult.objects.create(
            case=cast.case,
            source_key=f"hostile-{day}",
            name=hostile,
            category="chemistry",
            collected_at=when + dt.timedelta(days=day),
            value_text=str(value),
            value=value,
            unit=hostile[:40],
            comment=hostile[:500],
        )
    prediction_create(cast.case)
    decision_signed(cast, boards, is_discordant=True, **dict.fromkeys(DECISION_TEXTS, hostile))
    boards.meeting.title = hostile
    boards.meeting.save(update_fields=["title"])


def _packet(cast: Cast, boards: BoardCast, *, deidentified: bool = False) -> bytes:
    job = services.packet_request(
        meeting=boards.meeting, user=cast.oncologist, deidentified=deidentified
    )
    assert job_run(job.pk) == Job.Status.SUCCEEDED, Job.objects.get(pk=job.pk).error
    job.refresh_from_db()
    return (Path(services.settings.MEDIA_ROOT) / str(job.result["file"])).read_bytes()


def _every_pdf(cast: Cast, boards: BoardCast) -> dict[str, bytes]:
    return {
        "case report": services.case_report_pdf(case=cast.case, deidentified=False),
        "de-identified case report": services.case_report_pdf(case=cast.case, deidentified=True),
        "board packet": _packet(cast, boards),
        "de-identified board packet": _packet(cast, boards, deidentified=True),
    }


def _resolve(value: object) -> object:
    return value.get_object() if isinstance(value, IndirectObject) else value


def _annotation_actions(pdf: bytes) -> list[str]:
    """Every link target and action of every annotation, as text."""
    found: list[str] = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        annotations = _resolve(page.get("/Annots")) or []
        assert isinstance(annotations, list)
        for item in annotations:
            annotation = _resolve(item)
            assert isinstance(annotation, DictionaryObject)
            for key in ("/A", "/Dest", "/URI", "/JS"):
                if key in annotation:
                    found.append(repr(_resolve(annotation[key])))
    return found


def _images(pdf: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)


def test_a_javascript_link_in_record_text_never_becomes_a_link(
    cast: Cast, boards: BoardCast
) -> None:
    _hostile_case(cast, boards, JAVASCRIPT_LINK)
    for name, pdf in _every_pdf(cast, boards).items():
        actions = _annotation_actions(pdf)
        if "packet" in name:  # the contents link inside the document: the walk finds links
            assert actions, name
        assert not [a for a in actions if "javascript" in a.lower()], name
        assert not [a for a in actions if "/URI" in a], name
        assert JAVASCRIPT_LINK in pdf_text(pdf), name


def test_a_contents_entry_shows_the_name_literally(cast: Cast, boards: BoardCast) -> None:
    _hostile_case(cast, boards, JAVASCRIPT_LINK)
    packet = _packet(cast, boards)
    reader = PdfReader(io.BytesIO(packet))
    pages = pdf_pages(packet)
    first_case = next(n for n, text in enumerate(pages) if "Case summary" in text)
    contents = " ".join(pages[:first_case]).split("Contents", 1)[1]
    assert f"Case report — {cast.patient.family_name.upper()}, {JAVASCRIPT_LINK}" in contents
    # The bookmark carries the same literal title.
    titles = [str(entry.title) for entry in reader.outline if not isinstance(entry, list)]
    assert any(JAVASCRIPT_LINK in title for title in titles)


@pytest.mark.parametrize("source", ["a PNG on the server", "/etc/hostname"])
def test_an_image_path_in_record_text_embeds_nothing(
    cast: Cast, boards: BoardCast, source: str
) -> None:
    folder = Path(tempfile.mkdtemp(prefix="rl", dir="/tmp"))  # short: names hold 100 characters
    path = Path(source) if source.startswith("/") else folder / "s.png"
    if not source.startswith("/"):
        PILImage.new("RGB", (40, 40), "red").save(path)
    hostile = f'<img src="{path}" width="40" height="40"/>'
    _hostile_case(cast, boards, hostile)
    try:
        pdfs = _every_pdf(cast, boards)
    finally:
        shutil.rmtree(folder)
    for name, pdf in pdfs.items():
        assert _images(pdf) == 0, name
        assert hostile in pdf_text(pdf), name
    # Our own image bytes (a slide thumbnail) are still embedded: the count above can see one.
    data = case_report_data(cast.case)
    png = io.BytesIO()
    PILImage.new("RGB", (40, 40), "blue").save(png, format="PNG")
    sections = tuple(
        replace(section, image_png=png.getvalue())
        if section.title == "Slide thumbnail"
        else section
        for section in data.optional_sections
    )
    assert _images(render_case_report(replace(data, optional_sections=sections))) == 1


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_an_image_url_in_record_text_is_never_fetched(
    cast: Cast, boards: BoardCast, listener: tuple[int, list[bytes]], scheme: str
) -> None:
    port, seen = listener
    hostile = f'<img src="{scheme}://127.0.0.1:{port}/x" width="10" height="10"/>'
    _hostile_case(cast, boards, hostile)
    for name, pdf in _every_pdf(cast, boards).items():
        assert _images(pdf) == 0, name
        assert hostile in pdf_text(pdf), name
    threading.Event().wait(0.5)  # give a (wrong) fetch time to arrive
    assert seen == []


@pytest.mark.parametrize("hostile", BROKEN_TAGS)
def test_a_broken_tag_prints_literally_and_the_packet_completes(
    cast: Cast, boards: BoardCast, hostile: str, caplog: pytest.LogCaptureFixture
) -> None:
    _hostile_case(cast, boards, hostile)
    with caplog.at_level(logging.DEBUG):
        pdfs = _every_pdf(cast, boards)
    for name, pdf in pdfs.items():
        if "de-identified" not in name:
            assert f"{cast.patient.family_name.upper()}, {hostile}" in pdf_text(pdf), name
    assert "ZZCANARY" not in caplog.text


def test_reportlab_is_configured_to_fetch_no_url(listener: tuple[int, list[bytes]]) -> None:
    """No scheme and no host is trusted, so reportlab refuses every URL before connecting.

    Without this, the default settings trust http, https, ftp, file and data, and only a bug in
    reportlab's opener (an unbound variable when no host is trusted) stops the fetch.
    """
    from oncology_ui.reports import markup

    port, seen = listener
    installed = tuple(int(part) for part in reportlab.Version.split(".")[:3])
    assert installed >= markup.REPORTLAB_MINIMUM >= (3, 6, 13)  # CVE-2023-33733
    assert list(rl_config.trustedSchemes or []) == []
    for url in (
        f"http://127.0.0.1:{port}/x",
        f"https://localhost:{port}/x",
        "file:///etc/hostname",
    ):
        with pytest.raises(OSError):
            ImageReader(url).getSize()
    # Even a host someone adds to the trusted list cannot be fetched: no scheme is trusted.
    hosts = rl_config.trustedHosts
    try:
        rl_config.trustedHosts = ["127.0.0.1"]
        with pytest.raises(OSError):
            ImageReader(f"http://127.0.0.1:{port}/x").getSize()
    finally:
        rl_config.trustedHosts = hosts
    threading.Event().wait(0.3)
    assert seen == []


@pytest.fixture
def failing_lab_chart(cast: Cast, boards: BoardCast, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hostile record text everywhere, and a lab chart that raises quoting it."""
    _hostile_case(cast, boards, "ZZCANARY-LAB <b>")

    def failing_chart(series: ChartSeries, width: float, height: float = 30.0) -> object:
        # As a real drawing error would, the message quotes the series it was drawing.
        raise ValueError(f"cannot draw {series.label!r} for {cast.patient.display_name}")

    monkeypatch.setattr(report_charts, "lab_chart_drawing", failing_chart)


def _failed_packet_job(cast: Cast, boards: BoardCast, caplog: pytest.LogCaptureFixture) -> Job:
    """Request the packet and run its job, which must fail; every log record is captured."""
    job = services.packet_request(meeting=boards.meeting, user=cast.oncologist)
    with caplog.at_level(logging.DEBUG):
        assert job_run(job.pk) == Job.Status.FAILED
    job.refresh_from_db()
    return job


@pytest.mark.usefixtures("failing_lab_chart")
def test_a_failed_layout_logs_the_job_and_the_exception_class_not_record_text(
    cast: Cast, boards: BoardCast, caplog: pytest.LogCaptureFixture
) -> None:
    """A chart that raises with record text in its message: the log names only the job."""
    job = _failed_packet_job(cast, boards, caplog)
    assert "ZZCANARY" not in job.error
    assert "ValueError" in job.error and str(job.pk) in job.error
    logged = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert logged, "the failure is logged"
    assert any(str(job.pk) in record.getMessage() for record in logged)
    for record in caplog.records:
        formatted = logging.Formatter().format(record)
        assert "ZZCANARY" not in formatted


def test_a_failed_case_logs_no_record_text(
    cast: Cast, boards: BoardCast, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = services.case_report_data

    def failing(case: object, **kwargs: object) -> object:
        data = real(case, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError(f"could not read {data.identifiers!r}")

    monkeypatch.setattr(services, "case_report_data", failing)
    job = _failed_packet_job(cast, boards, caplog)
    assert "agenda item 1" in job.error and "RuntimeError" in job.error
    assert caplog.records
    for record in caplog.records:
        assert "ZZCANARY" not in logging.Formatter().format(record)


#: What parses text as markup, reads an image from a path or URL, or fills the contents.
_MARKUP_BUILDERS = {
    "Paragraph",
    "XPreformatted",
    "Preformatted",
    "TableOfContents",
    "SimpleIndex",
    "ListFlowable",
    "ImageReader",
    "ParaFrag",
    "drawImage",
    "drawInlineImage",
}


def _markup_builders_used(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("reportlab"):
            # ``Image`` only as imported from reportlab: PIL's Image is another thing.
            found |= {alias.name for alias in node.names} & (_MARKUP_BUILDERS | {"Image"})
        elif isinstance(node, ast.Attribute) and node.attr in _MARKUP_BUILDERS:
            found.add(node.attr)
        elif isinstance(node, ast.Constant) and node.value == "TOCEntry":
            found.add("TOCEntry")
    return found


def test_reportlab_markup_is_built_in_one_module_only() -> None:
    """Paragraphs, contents entries and images come from reports/markup.py only.

    Everywhere else passes plain text (or image bytes) through it, so no record text reaches
    reportlab's parser unescaped and no path or URL reaches its image reader; a new raw
    Paragraph elsewhere fails this test.
    """
    # The guard is not vacuous: the code it forbids is found.
    for source in (
        "from reportlab.platypus import Paragraph\n",
        "from reportlab.platypus import Image\n",
        "import reportlab.platypus as p\np.Paragraph('<b>' + name, style)\n",
        "doc.notify('TOCEntry', (0, name, 1))\n",
    ):
        assert _markup_builders_used(ast.parse(source)), source
    assert not _markup_builders_used(ast.parse("from PIL import Image\nImage.open(f)\n"))
    offenders = []
    for folder in ("oncology_ui", "inference"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative == "oncology_ui/reports/markup.py":
                continue
            used = _markup_builders_used(ast.parse(path.read_text(), filename=relative))
            if used:
                offenders.append((relative, sorted(used)))
    assert offenders == []
    markup = ast.parse((ROOT / "oncology_ui/reports/markup.py").read_text())
    assert {"Paragraph", "TableOfContents", "Image", "TOCEntry"} <= _markup_builders_used(markup)


@pytest.mark.usefixtures("failing_lab_chart")
def test_a_case_report_that_cannot_be_laid_out_answers_clearly_and_logs_no_record_text(
    cast: Cast, oncologist_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    oncologist_client.raise_request_exception = False
    with caplog.at_level(logging.DEBUG):
        response = oncologist_client.get(reverse("reports-case-report", args=[cast.case.pk]))
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "could not be laid out" in page and "ValueError" in page
    assert "ZZCANARY" not in page
    assert any(f"case {cast.case.pk}" in record.getMessage() for record in caplog.records)
    for record in caplog.records:
        assert "ZZCANARY" not in logging.Formatter().format(record)
    assert not AccessLog.objects.filter(action=AccessLog.Action.PRINT).exists()  # nothing printed
