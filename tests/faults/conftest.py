"""Fixtures of the fault tests, borrowed from the suites they extend (not copied)."""

from __future__ import annotations

from tests.sms.conftest import _twilio_server, twilio  # noqa: F401
from tests.workflows.conftest import _fresh_trigger_index  # noqa: F401
