"""Whole-slide pathology images: plain Python + torch, never Django.

The ingest job, given an uploaded file, does::

    info = inspect_slide(upload_path)                        # sandboxed; SlideUnreadable -> failed
    deid = deidentify_slide(upload_path, derivative_path)    # sandboxed; label/macro/text dropped
    summary = process_slide(deid.path, features_path, progress=report)  # tissue, tiles, QC

and the viewer serves, from the de-identified derivative only::

    with open_deepzoom(deid.path) as dz:                     # keep one open per slide
        dz.dzi_xml(); dz.tile_jpeg(level, col, row)          # RegionOutOfBounds -> 404
    thumbnail_png(open_slide(deid.path).thumbnail(1024))
    encode_png(render_heatmap(coords, scores, level0_tile_size=..., slide_size=..., ...))

Modules: :mod:`~inference.slides.schema` (frozen dataclasses), :mod:`~inference.slides.errors`,
:mod:`~inference.slides.sniff` (magic bytes), :mod:`~inference.slides.sandbox` and
:mod:`~inference.slides.inspect` (limited subprocess), :mod:`~inference.slides.reader`
(``open_slide``: tifffile / OpenSlide / Pillow behind :mod:`~inference.slides.slide_reader`;
TIFF in :mod:`~inference.slides.tiff`), :mod:`~inference.slides.deid`,
:mod:`~inference.slides.tissue`,
:mod:`~inference.slides.tiles`, :mod:`~inference.slides.qc`, :mod:`~inference.slides.encoders`
(:mod:`~inference.slides.torch_encoders`),
:mod:`~inference.slides.features`, :mod:`~inference.slides.pipeline`,
:mod:`~inference.slides.viewer`.

Nothing is imported here on purpose: the sandbox child imports this package and must stay light
(no torch) under its memory limit.
"""

from __future__ import annotations
