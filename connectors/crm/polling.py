"""Polling the CRMs that have no webhooks a connector can subscribe to (Salesforce), with a cursor.

`crm_polls_enqueue` runs on the scheduler's 30-second beat and enqueues one job per active polled connector
whose last poll is older than `POLL_EVERY`. `crm_poll` reads the changes after the connector's cursor
(`Connector.cursor`), records them as events (`connectors.crm.ingest`) and moves the cursor past them, in one
transaction, holding the connector's row: two schedulers enqueueing the same poll run it once (the second
skips the locked row), and a poll that fails leaves the cursor where it was, so the next one reads the same
changes again (the events' client ids make that harmless). A refused token marks the connector
`needs_attention`, and polling stops until a new token is entered.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import django_rq
from django.db import transaction
from django.utils import timezone

from connectors.crm import CrmFailed, CrmRefused, CrmRejected, client_for
from connectors.crm.ingest import Recorded, changes_record
from connectors.crm.transports import crm_transport
from connectors.models import Connector
from connectors.services import connector_cursor_set, connector_refused
from events.models import Event
from penguinflow.outbound.client import Resolver, system_resolver
from penguinflow.workspaces.credentials import CredentialUnreadable

__all__ = ["POLLED_KINDS", "POLL_EVERY", "PollResult", "crm_poll", "crm_poll_job", "crm_polls_due",
           "crm_polls_enqueue"]

logger = logging.getLogger(__name__)

POLLED_KINDS = ("salesforce",)
POLL_EVERY = timedelta(minutes=1)
QUEUE = "default"


@dataclass(frozen=True)
class PollResult:
    status: str  # polled | skipped | refused | failed
    recorded: Recorded | None = None
    message: str = ""


def crm_polls_due(*, now: datetime | None = None) -> list[str]:
    """The ids of the active polled connectors whose last poll is older than POLL_EVERY (or that never polled)."""
    now = now or timezone.now()
    due = []
    for pk, cursor in Connector.objects.filter(kind__in=POLLED_KINDS, status=Connector.Status.ACTIVE).values_list(
            "pk", "cursor"):
        polled_at = (cursor or {}).get("polled_at")
        if not polled_at or datetime.fromisoformat(polled_at) <= now - POLL_EVERY:
            due.append(str(pk))
    return due


def crm_polls_enqueue(*, now: datetime | None = None) -> list[str]:
    """Enqueue a poll of each due connector; return their ids."""
    due = crm_polls_due(now=now)
    queue = django_rq.get_queue(QUEUE)
    for connector_id in due:
        queue.enqueue(crm_poll_job, connector_id, job_timeout=120, result_ttl=0)
    return due


def crm_poll_job(connector_id: str) -> str:
    return crm_poll(connector_id=connector_id).status


def crm_poll(*, connector_id: str, now: datetime | None = None, resolver: Resolver = system_resolver) -> PollResult:
    now = now or timezone.now()
    with transaction.atomic():
        connector = (Connector.objects.select_for_update(skip_locked=True).select_related("workspace")
                     .filter(pk=connector_id, kind__in=POLLED_KINDS, status=Connector.Status.ACTIVE).first())
        if connector is None:
            return PollResult("skipped", message="not active, not polled, or being polled")
        cursor = dict(connector.cursor or {})
        try:
            client = client_for(connector, crm_transport(connector, resolver=resolver))
            changes, after = client.changes_since(cursor.get("changes") or {}, now=now)
        except (CrmRefused, CredentialUnreadable) as refused:
            reason = f"Polling the CRM's changes was refused: {refused}"
            connector_refused(connector=connector, reason=reason)
            return PollResult("refused", message=reason)
        except (CrmFailed, CrmRejected) as failed:
            logger.warning("Polling connector %s failed: %s", connector.pk, failed)
            return PollResult("failed", message=str(failed))
        recorded = changes_record(connector=connector, changes=changes, source=Event.Source.SYSTEM)
        connector_cursor_set(connector=connector, cursor={"changes": after, "polled_at": now.isoformat()})
    return PollResult("polled", recorded=recorded)
