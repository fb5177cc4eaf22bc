"""Logging handlers (named in settings.LOGGING)."""

from __future__ import annotations

import contextlib
import logging
import sys


class LogFileThatGivesWay(logging.FileHandler):
    """Write log records to a file; when the file cannot be written (a full disk: ENOSPC on every write, a
    volume gone), drop the records and say so once on stderr, instead of failing the process's work.

    The standard FileHandler calls `handleError` for each record it cannot write, which prints a traceback
    ("--- Logging error ---") per record: a worker on a full disk would fill its stderr with them, for every line
    it logs, as long as the disk stays full. Here the first failure prints one line, the following ones nothing;
    the file is reopened for the next record (what was buffered for it is dropped, not retried forever), and
    once a record goes through again one more line says how many were lost. A record that cannot be formatted
    (a bug in the log call) is still reported as usual.
    """

    def __init__(self, filename: str, mode: str = "a", encoding: str | None = "utf-8") -> None:
        super().__init__(filename, mode=mode, encoding=encoding, delay=True)
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        try:
            if self.stream is None:
                self.stream = self._open()
            self.stream.write(line)
            self.stream.flush()
        except OSError as error:
            self._drop(error)
            return
        if self.dropped:
            self._say(
                f"the log file {self.baseFilename} is written again; {self.dropped} records were dropped"
            )
            self.dropped = 0

    def _drop(self, error: OSError) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            with contextlib.suppress(OSError):  # its flush fails the same way; the buffer goes with the file
                stream.close()
        if self.dropped == 0:
            self._say(
                f"cannot write the log file {self.baseFilename} ({error}); its records are dropped until "
                "it can be written again"
            )
        self.dropped += 1

    @staticmethod
    def _say(text: str) -> None:
        try:
            sys.stderr.write(f"penguinflow logging: {text}\n")
            sys.stderr.flush()
        except Exception:  # stderr itself gone: nothing left to tell
            pass
