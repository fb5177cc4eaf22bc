"""The ORM-backed ports through which live steps act (the simulator passes recording fakes instead).

A batch of enrollments runs inside one transaction. Contact changes are made on the locked Contact rows held in
a `ContactBook` and written once at the end of the batch, together with the events they cause; effects that leave
the database (email) go through keyed outboxes. Either way an effect commits together with the step that made
it, or not at all, so a step run again after a crash does not act twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.utils import timezone
from liquid.exceptions import LiquidError

from campaigns import services as campaign_services
from campaigns.models import Campaign
from contacts.models import Contact
from contacts.nodes import CONTACT_ATTRIBUTES
from contacts.selectors import contact_as_data
from events.models import Event
from events.services import NewEvent
from penguinflow.common.db import bulk_update_rows
from sms.outbox import SmsBatch, SmsConflict
from tasks import services as task_services
from templates.outbox import HeldContacts, OutboxBatch, OutboxConflict
from templates.rendering import text_template
from workflows.batch_calls import BatchCalls
from workflows.caps_port import BatchLedger, LiveCaps
from workflows.crm_port import LiveCrm
from workflows.email_port import send_through_outbox
from workflows.engine.ports import EmailResult, PortError, Ports
from workflows.http_port import LiveHttp
from workflows.lookup_port import LiveLookup
from workflows.notify_port import LiveNotify
from workflows.optimization_port import LiveOptimization
from workflows.push_port import LivePush
from workflows.sms_port import LiveSms
from workflows.social_port import LiveSocial
from workflows.webhook_port import LiveWebhooks

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Origin:
    """Which workflow acts: stamped on every event a step causes, so triggers can tell a workflow's own echo."""

    workflow_id: str
    version_id: str

    def properties(self, key: str) -> dict[str, str]:
        """Return the origin properties of an effect, reading enrollment and node from its key."""
        head, _, _visit = key.rpartition(":")
        enrollment_id, _, node_id = head.partition(":")
        return {"workflow_id": self.workflow_id, "enrollment_id": enrollment_id, "node_id": node_id}


@dataclass
class ContactBook:
    """The contacts of one batch, locked for its transaction; changes are written once at the end."""

    contacts: dict[str, Contact]
    changed: set[str] = field(default_factory=set)
    events: list[NewEvent] = field(default_factory=list)
    # Per batch: templates read once, and what templates may show of each enrollment (`event`, `enrollment`).
    templates: dict[str, Any] = field(default_factory=dict)
    template_context: dict[str, dict[str, Any]] = field(default_factory=dict)
    _held: HeldContacts | None = None
    # The batch's outbox rows, written in one statement by `flush_outbox` (None: each send inserts its own).
    outbox: OutboxBatch | None = None
    # Likewise the batch's SMS rows (`sms.outbox.SmsBatch`), flushed with the email ones.
    sms_outbox: SmsBatch | None = None
    # The other channels' outboxes of the batch (push), by channel: flushed with email's, each raising
    # OutboxConflict as email's does when a key existed.
    channel_outboxes: dict[str, Any] = field(default_factory=dict)
    # The send ledger of the batch's contacts, which frequency caps count (written with the batch).
    ledger: BatchLedger = field(default_factory=BatchLedger)

    @classmethod
    def lock(cls, contact_ids: Iterable[UUID | str], *, batch_outbox: bool = False) -> ContactBook:
        ids = sorted({str(contact_id) for contact_id in contact_ids})
        # Locked in id order, so two batches that share contacts wait for each other instead of deadlocking.
        # Scores for rules that read contact.predictions: one query for the batch (not locked: only scoring
        # writes them, and a step reads them as they were when its batch began).
        rows = Contact.objects.select_for_update().filter(pk__in=ids).order_by("pk").prefetch_related("scores")
        return cls(contacts={str(contact.pk): contact for contact in rows},
                   outbox=OutboxBatch() if batch_outbox else None,
                   sms_outbox=SmsBatch() if batch_outbox else None)

    def flush_outbox(self) -> None:
        """Write the batch's outbox rows (OutboxConflict: a key existed; the transaction must roll back)."""
        if self.outbox is not None:
            self.outbox.flush()
        if self.sms_outbox is not None:
            try:
                self.sms_outbox.flush()
            except SmsConflict as conflict:  # the runtime redoes the batch without batching, as for email
                raise OutboxConflict(conflict.keys) from conflict
        for outbox in self.channel_outboxes.values():
            outbox.flush()

    def get(self, contact_id: str) -> Contact:
        try:
            return self.contacts[str(contact_id)]
        except KeyError:
            raise PortError(f"Contact {contact_id} no longer exists.", retryable=False) from None

    def held(self) -> HeldContacts:
        """The book's contacts as `email_send` may take them: locked and current; their suppression is read for
        all of them at the first send."""
        if self._held is None:
            self._held = HeldContacts()
            self._held.prefetch(self.contacts.values())
        return self._held

    def emit(self, contact: Contact, type_: str, properties: dict[str, Any], origin: Origin, key: str) -> None:
        self.events.append(
            NewEvent(
                type=type_,
                contact_id=contact.pk,
                properties={**properties, **origin.properties(key)},
                source=Event.Source.SYSTEM,
            )
        )

    def flush(self) -> list[Contact]:
        """Write the changed contacts in one statement; return them."""
        changed = [self.contacts[contact_id] for contact_id in sorted(self.changed)]
        if changed:
            now = datetime.now().astimezone()
            for contact in changed:
                contact.updated_at = now
            bulk_update_rows(changed, ["tags", "fields", "status", "score", "first_name", "last_name", "timezone",
                                       "external_id", "updated_at"])
        self.changed.clear()
        return changed


class LiveContacts:
    def __init__(self, book: ContactBook, origin: Origin) -> None:
        self.book, self.origin = book, origin

    def add_tag(self, *, key: str, contact_id: str, tag: str) -> None:
        contact = self.book.get(contact_id)
        if tag not in contact.tags:
            contact.tags = [*contact.tags, tag]
            self.book.changed.add(str(contact.pk))
            self.book.emit(contact, "contact.tagged", {"tag": tag}, self.origin, key)

    def remove_tag(self, *, key: str, contact_id: str, tag: str) -> None:
        contact = self.book.get(contact_id)
        if tag in contact.tags:
            contact.tags = [t for t in contact.tags if t != tag]
            self.book.changed.add(str(contact.pk))
            self.book.emit(contact, "contact.untagged", {"tag": tag}, self.origin, key)

    def update_field(self, *, key: str, contact_id: str, field: str, value: Any, op: str) -> Any:
        contact = self.book.get(contact_id)
        in_fields = field not in CONTACT_ATTRIBUTES
        old = contact.fields.get(field) if in_fields else getattr(contact, field)
        if op == "unset":
            new = None
        elif op == "increment":
            base = old if isinstance(old, (int, float)) and not isinstance(old, bool) else 0
            new = base + value
        else:
            new = self._render(value, contact, self.book.template_context.get(key.split(":", 1)[0], {}))
        if in_fields:
            fields = dict(contact.fields)
            if op == "unset":
                fields.pop(field, None)
            else:
                fields[field] = new
            contact.fields = fields
        else:
            setattr(contact, field, "" if new is None and field != "external_id" else new)
        if old != new:
            self.book.changed.add(str(contact.pk))
            name = f"fields.{field}" if in_fields else field
            self.book.emit(contact, "contact.updated", {"changes": {name: [old, new]}}, self.origin, key)
        return new

    def change_status(self, *, key: str, contact_id: str, status: str) -> None:
        contact = self.book.get(contact_id)
        if contact.status != status:
            old = contact.status
            contact.status = status
            self.book.changed.add(str(contact.pk))
            self.book.emit(contact, "contact.updated", {"changes": {"status": [old, status]}}, self.origin, key)

    def update_score(self, *, key: str, contact_id: str, delta: int | None, set_to: int | None) -> int:
        contact = self.book.get(contact_id)
        old = contact.score
        new = set_to if set_to is not None else old + (delta or 0)
        new = max(-(2**31), min(2**31 - 1, new))
        if new != old:
            contact.score = new
            self.book.changed.add(str(contact.pk))
            self.book.emit(contact, "contact.updated", {"changes": {"score": [old, new]}}, self.origin, key)
        return new

    @staticmethod
    def _render(value: Any, contact: Contact, context: dict[str, Any]) -> Any:
        """Render a Liquid value for the contact, with what templates see of the enrollment (its variables)."""
        if not isinstance(value, str) or "{" not in value:
            return value

        try:
            return text_template(value).render(**{**context, "contact": contact_as_data(contact)})
        except LiquidError as error:
            raise PortError(f"The field value could not be rendered: {error.message}", retryable=False) from error


class LiveCampaigns:
    def __init__(self, book: ContactBook, workspace_id: str) -> None:
        self.book, self.workspace_id = book, workspace_id

    def _campaign(self, campaign_id: str) -> Campaign:
        try:
            return Campaign.objects.get(pk=campaign_id, workspace_id=self.workspace_id)
        except (Campaign.DoesNotExist, ValueError):
            raise PortError(f"Campaign {campaign_id} does not exist (deleted?).", retryable=False) from None

    def add_to_campaign(self, *, key: str, contact_id: str, campaign_id: str) -> None:
        campaign_services.campaign_contact_add(campaign=self._campaign(campaign_id), contact=self.book.get(contact_id))

    def remove_from_campaign(self, *, key: str, contact_id: str, campaign_id: str) -> None:
        campaign_services.campaign_contact_remove(
            campaign=self._campaign(campaign_id), contact=self.book.get(contact_id)
        )


@dataclass
class PendingEnrollment:
    workflow_id: str
    contact_id: str
    key: str


class LiveWorkflows:
    """enroll_in_workflow: collected during the batch, started (under the target's rules) before it commits."""

    def __init__(self, pending: list[PendingEnrollment]) -> None:
        self.pending = pending

    def enroll(self, *, key: str, contact_id: str, workflow_id: str) -> bool:
        self.pending.append(PendingEnrollment(workflow_id=workflow_id, contact_id=contact_id, key=key))
        return True


class LiveEmail:
    def __init__(self, book: ContactBook, origin: Origin, workspace) -> None:
        self.book, self.origin, self.workspace = book, origin, workspace

    def send(
        self,
        *,
        key: str,
        node_id: str,
        template_id: str,
        contact_id: str,
        from_email: str | None,
        reply_to: str | None,
        track_opens: bool,
        track_clicks: bool,
    ) -> EmailResult:
        return send_through_outbox(
            key=key,
            workspace=self.workspace,
            contact=self.book.get(contact_id),
            template_id=template_id,
            origin=self.origin,
            node_id=node_id,
            from_email=from_email,
            reply_to=reply_to,
            track_opens=track_opens,
            track_clicks=track_clicks,
            book=self.book,
            context=self.book.template_context.get(key.split(":", 1)[0], {}),
        )


class LiveTasks:
    """create_task: the title and description rendered with Liquid against the contact (and what templates may
    show of the enrollment), the task written in the batch's transaction, once per effect key."""

    def __init__(self, book: ContactBook, workspace) -> None:
        self.book, self.workspace = book, workspace

    def create_task(
        self,
        *,
        key: str,
        contact_id: str,
        title: str,
        description: str,
        assignee_email: str | None,
        due_at: datetime | None,
    ) -> str | None:
        assignee = None
        if assignee_email:
            assignee = task_services.workspace_member(workspace=self.workspace, email=assignee_email)
            if assignee is None:
                raise PortError(f"The assignee {assignee_email} is not a member of this workspace: add them to it, "
                                "or change the step's assignee_email.", retryable=False)
        contact = self.book.get(contact_id)
        enrollment_id = key.split(":", 1)[0]
        data = {**self.book.template_context.get(enrollment_id, {}), "contact": contact_as_data(contact)}
        task = task_services.task_create(
            workspace=self.workspace,
            title=_render_text(title, data, "title"),
            description=_render_text(description, data, "description"),
            assignee=assignee,
            due_at=due_at,
            contact=contact,
            execution_id=enrollment_id,
            effect_key=key,
        )
        return str(task.pk)


def _render_text(text: str, data: dict[str, Any], what: str) -> str:
    """Render a Liquid text of a step's config; a template that cannot render fails the step for good."""
    if "{" not in text:
        return text
    try:
        return text_template(text).render(**data)
    except LiquidError as error:
        raise PortError(f"The task's {what} could not be rendered: {error.message}", retryable=False) from error


def live_ports(*, book: ContactBook, origin: Origin, workspace, pending: list[PendingEnrollment], activity,
               now: datetime | None = None, calls: BatchCalls | None = None) -> Ports:
    """The ports of one batch; `now` is the batch's clock (quiet hours are judged at it; default: the time).
    `calls` is the batch's budget for inline calls, one for all its versions' ports (default: one of their own)."""
    clock = (lambda: now) if now is not None else timezone.now
    calls = calls or BatchCalls.from_settings()
    return Ports(
        contacts=LiveContacts(book, origin),
        campaigns=LiveCampaigns(book, str(workspace.pk)),
        email=LiveEmail(book, origin, workspace),
        sms=LiveSms(book, origin, workspace, clock=clock),
        push=LivePush(book, origin, workspace, clock=clock),
        tasks=LiveTasks(book, workspace),
        notify=LiveNotify(book, origin, workspace),
        webhooks=LiveWebhooks(book, workspace, calls=calls),
        workflows=LiveWorkflows(pending),
        activity=activity,
        caps=LiveCaps(book, workspace),
        optimization=LiveOptimization(book, origin, workspace),
        http=LiveHttp(book, workspace, calls=calls),
        lookup=LiveLookup(book, workspace),
        social=LiveSocial(book, workspace),
        crm=LiveCrm(book, workspace),
    )
