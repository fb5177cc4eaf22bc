"""Logging filters (named in settings.LOGGING)."""

from __future__ import annotations

import logging


class RefusalsOnOneLine(logging.Filter):
    """Log a request answered with a 4xx as one line: drop the traceback Django attaches to it.

    Django logs a PermissionDenied (the admin's add page of a read-only model, opened by its URL), a BadRequest or
    an unreadable multipart body on `django.request` with the exception's traceback. Those are refusals the code
    meant to give, not faults: the line "Forbidden (Permission denied): /admin/events/event/add/" says it all,
    and a traceback in the log would send someone looking for a bug. 5xx records keep theirs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if 400 <= getattr(record, "status_code", 0) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
