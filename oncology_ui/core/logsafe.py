"""Logging a failure without the record text its exception may carry.

An exception's message, and the traceback ``logger.exception`` prints, can quote what was being
read or laid out: a parser's ``ValueError`` names the patient, a layout error prints the note
line. Logs must never carry patient data, so a failure on a patient-data path is logged with
what failed, the exception's class and where it was raised (``file:line in function`` of each
frame, for the exception and its causes): never its message, its notes or any local value.
"""

from __future__ import annotations

import logging
import traceback


def exception_where(exc: BaseException) -> str:
    """The exception's class and its frames, then each cause's the same way; no message."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if parts:
            parts.append("caused by")
        parts.append(type(current).__name__)
        parts.extend(
            f"  {frame.filename}:{frame.lineno} in {frame.name}"
            for frame in traceback.extract_tb(current.__traceback__)
        )
        cause = current.__cause__
        if cause is None and not current.__suppress_context__:
            cause = current.__context__
        current = cause
    return "\n".join(parts)


def log_failure(
    logger: logging.Logger,
    exc: BaseException,
    what: str,
    *args: object,
    level: int = logging.ERROR,
) -> None:
    """Log ``what % args`` failed, with :func:`exception_where` of ``exc``; never its message.

    ``what`` and ``args`` must name rows by number only (a job id, a case number).
    """
    if logger.isEnabledFor(level):
        logger.log(level, "%s failed with %s", what % args, exception_where(exc))


class ExceptionWhereFormatter(logging.Formatter):
    """Print a logged traceback as :func:`exception_where`: no message, no source line.

    The console handler's formatter (``settings.LOGGING``), for the tracebacks logged by code
    that is not ours, such as ``django.request``'s for a view that raised: a view reads records,
    so its exception's message can quote one.
    """

    def formatException(self, ei: logging._SysExcInfoType) -> str:  # noqa: N802 (logging's name)
        exc = ei[1]
        return exception_where(exc) if exc is not None else ""

    def format(self, record: logging.LogRecord) -> str:
        # Another handler may have cached the full traceback on the record: never print that.
        cached = record.exc_text
        record.exc_text = None
        try:
            return super().format(record)
        finally:
            record.exc_text = cached
