"""The runtime's frequency caps: the workspace's rules over the contact's send ledger (`SendLedgerEntry`).

Why this is safe under concurrency: a batch locks its contacts' rows (`ContactBook.lock`, SELECT ... FOR UPDATE)
before any step runs and keeps the locks until it commits, and its ledger rows are written in that transaction.
A second batch sending to the same contact waits at the lock, then reads the ledger (READ COMMITTED: each
statement sees what committed before it), so it counts the first batch's message. Within one batch, two
enrollments of one contact share the batch's ledger (`BatchLedger`), which keeps the messages not yet written.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import connection
from django.utils import timezone
from pydantic import ValidationError

from penguinflow.workspaces.messaging_settings import messaging_settings
from workflows.engine.caps import (
    ALLOWED,
    MAX_CAP_PERIOD,
    CapVerdict,
    FrequencyCap,
    Send,
    cap_verdict,
    longest_period,
)
from workflows.engine.ports import PortError
from workflows.models import SendLedgerEntry

logger = logging.getLogger(__name__)

__all__ = ["BatchLedger", "LiveCaps", "send_ledger_forget", "workspace_frequency_caps"]


@dataclass
class BatchLedger:
    """The send ledger of one batch's contacts: read once per workspace and period, written once at the end."""

    # contact id -> its sends since `since[workspace]`, with the batch's own sends added as they happen
    sends: dict[str, list[Send]] = field(default_factory=lambda: defaultdict(list))
    since: dict[str, datetime] = field(default_factory=dict)
    pending: list[SendLedgerEntry] = field(default_factory=list)

    def sends_of(
        self, *, workspace_id: str, contact_ids: list[str], contact_id: str, since: datetime
    ) -> list[Send]:
        """Return the contact's sends since `since`; the first call for a workspace reads the rows of all the
        batch's contacts of that workspace in one query (a check then costs no round trip)."""
        loaded = self.since.get(workspace_id)
        if loaded is None or loaded > since:
            known = {(send.key, send.channel) for sends in self.sends.values() for send in sends}
            for contact, channel, sent_at, key in _ledger_rows(contact_ids, since):
                if (key, channel) not in known:
                    self.sends[str(contact)].append(Send(channel=channel, at=sent_at, key=key))
            self.since[workspace_id] = since
        return self.sends.get(contact_id, [])

    def add(self, *, key: str, contact_id: str, channel: str, at: datetime) -> None:
        sends = self.sends[contact_id]
        if any(send.key == key and send.channel == channel for send in sends):
            return
        sends.append(Send(channel=channel, at=at, key=key))
        self.pending.append(SendLedgerEntry(contact_id=contact_id, channel=channel, sent_at=at, key=key))

    def flush(self) -> None:
        """Write the batch's sends (a key already there, from a step run again by hand, is left as it is)."""
        if self.pending:
            SendLedgerEntry.objects.bulk_create(self.pending, ignore_conflicts=True)
            self.pending = []


# By hand rather than through the ORM: the query is the whole cost of a check, and building it through a
# queryset took four times as long as running it (bench caps).
_LEDGER_ROWS = (
    f"SELECT contact_id, channel, sent_at, key FROM {SendLedgerEntry._meta.db_table} "
    "WHERE contact_id = ANY(%s) AND sent_at > %s"
)


def _ledger_rows(contact_ids: list[str], since: datetime) -> list[tuple]:
    """Return `(contact_id, channel, sent_at, key)` of the contacts' sends after `since` (an index-only scan)."""
    with connection.cursor() as cursor:
        cursor.execute(_LEDGER_ROWS, [[UUID(pk) for pk in contact_ids], since])
        return cursor.fetchall()


def workspace_frequency_caps(workspace) -> tuple[FrequencyCap, ...]:
    """Return the workspace's rules (its messaging settings') as the engine counts them; stored settings that no
    longer parse stop its sends (a retryable step failure) rather than send past a cap nobody can read."""
    try:
        return tuple(
            FrequencyCap.model_validate(cap.model_dump())
            for cap in messaging_settings(workspace).frequency_caps
        )
    except ValidationError as error:
        logger.error("Workspace %s has invalid settings: %s", workspace.pk, error)
        raise PortError("The workspace's frequency caps are invalid: fix them in its settings.") from error


class LiveCaps:
    """The CapsPort of one workspace in one batch (the book's contacts are locked for the transaction)."""

    def __init__(self, book: Any, workspace) -> None:
        self.book, self.workspace = book, workspace
        self._rules: tuple[FrequencyCap, ...] | None = None
        self._contact_ids: list[str] | None = None  # the book's contacts of this workspace

    @property
    def rules(self) -> tuple[FrequencyCap, ...]:
        if self._rules is None:
            self._rules = workspace_frequency_caps(self.workspace)
        return self._rules

    def check(self, *, key: str, contact_id: str, channel: str, now: datetime) -> CapVerdict:
        if not any(channel in rule.channels for rule in self.rules):
            return ALLOWED  # no rule counts this channel: no query
        workspace_id = str(self.workspace.pk)
        if self._contact_ids is None:
            self._contact_ids = [
                pk for pk, contact in self.book.contacts.items() if str(contact.workspace_id) == workspace_id
            ]
        sends = self.book.ledger.sends_of(
            workspace_id=workspace_id,
            contact_ids=self._contact_ids,
            contact_id=str(contact_id),
            since=now - longest_period(self.rules),
        )
        return cap_verdict(self.rules, sends, channel=channel, now=now, key=key)

    def record(self, *, key: str, contact_id: str, channel: str, at: datetime) -> None:
        self.book.ledger.add(key=key, contact_id=str(contact_id), channel=channel, at=at)


def send_ledger_forget(*, now: datetime | None = None, older_than: timedelta = MAX_CAP_PERIOD) -> int:
    """Delete the ledger rows no cap can count any more (the scheduler calls it hourly); return how many went."""
    cutoff = (now or timezone.now()) - older_than
    deleted, _ = SendLedgerEntry.objects.filter(sent_at__lt=cutoff).delete()
    return deleted
