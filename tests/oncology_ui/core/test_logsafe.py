"""Logged failures carry the exception's class and frames, never its message (no PHI in logs)."""

from __future__ import annotations

import logging

from oncology_ui.core.logsafe import ExceptionWhereFormatter, exception_where


def _parse_a_record() -> None:
    fields: dict[str, str] = {}
    try:
        fields["ZZCANARY-PATIENT key"]
    except KeyError as cause:
        raise ValueError("'Jane ZZCANARY-PATIENT' is not a date") from cause


def _raised() -> BaseException:
    try:
        _parse_a_record()
    except ValueError as exc:
        return exc
    raise AssertionError("it raises")


def test_where_names_classes_and_frames_of_the_exception_and_its_cause_only() -> None:
    where = exception_where(_raised())
    assert "ZZCANARY" not in where
    lines = where.splitlines()
    assert lines[0] == "ValueError" and "caused by" in lines and "KeyError" in lines
    assert any(line.strip().startswith(f"{__file__}:") for line in lines)
    assert any(line.endswith(" in _parse_a_record") for line in lines)


def test_the_console_prints_any_logged_traceback_without_its_message() -> None:
    """``django.request`` logs a view's exception with ``exc_info``: the console drops the text."""
    console = [
        handler
        for handler in logging.getLogger().handlers
        if isinstance(handler.formatter, ExceptionWhereFormatter)
    ]
    assert console, "settings.LOGGING gives the console handler the formatter"
    exc = _raised()
    record = logging.LogRecord(
        "django.request", logging.ERROR, __file__, 1, "Internal Server Error: %s", ("/x/",), None
    )
    record.exc_info = (type(exc), exc, exc.__traceback__)
    record.exc_text = "Traceback ... ZZCANARY-PATIENT"  # cached by another handler
    formatted = console[0].format(record)
    assert "ZZCANARY" not in formatted
    assert "Internal Server Error: /x/" in formatted and "ValueError" in formatted
    assert record.exc_text == "Traceback ... ZZCANARY-PATIENT"  # other handlers' cache kept
