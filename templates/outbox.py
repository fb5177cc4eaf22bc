"""The outbox: `email_send` renders an email for a contact and stores it under a key, exactly once per
(workspace, key); its delivery is enqueued once the caller's transaction commits (`templates.delivery` hands it
over). Its `SendOptions` (`HeldContacts`, an `OutboxBatch`) let a caller that sends many emails in one
transaction (the runtime's batches) spare each send its locking read and its INSERT.

The statements themselves are in `templates.outbox_sql`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formataddr
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.models import Contact, Suppression, email_hash
from penguinflow.common.errors import InvalidInput
from templates import tracking
from templates.delivery_queue import schedule_delivery
from templates.headers import clean_address, message_id_header
from templates.models import EmailTemplate, OutboxMessage
from templates.outbox_sql import LockedContact, insert_if_new, insert_many, lock_contact, outbox_row
from templates.rendering import TemplateRenderError, message_variables, render_parts, single_line

Status = OutboxMessage.Status


@dataclass(frozen=True)
class OutboxResult:
    """What `email_send` did.

    outcome: "queued" (a new row, delivery enqueued after commit), "exists" (a row with this key was already
    there: nothing new; `status` is that row's), "suppressed" (the address is on the suppression list) or
    "not_subscribed" (the contact's status is not `subscribed`): the two last ones store a `skipped` row, so a
    repeat of the key answers "exists" with status `skipped`.
    """

    outcome: str
    message_id: str
    status: str
    detail: str = ""

    @property
    def created(self) -> bool:
        return self.outcome != "exists"

    @property
    def will_send(self) -> bool:
        return self.status in {Status.QUEUED, Status.SENDING, Status.SENT}


@dataclass(frozen=True, slots=True)
class SendOptions:
    """How `email_send` reads and writes, never what it sends: a message comes out the same whichever it gets.

    held: contacts the caller has locked in its open transaction and passes as they now are (`HeldContacts`;
        the runtime's batches lock their contacts first). A send to one of them skips its locking read of the
        contact, and suppression is read for all of them in one query. A contact not held is read and locked
        as usual, and so is every contact outside a transaction.
    batch: with `held`, the `OutboxBatch` that collects the rows of held contacts instead of one INSERT per
        send. The caller flushes it before it commits; a flush that raises OutboxConflict means: roll back and
        do the work again without a batch.

    Valid for one transaction: the locks behind `held` are what make its answers current. `ONE_BY_ONE` (the
    default) locks and reads each contact and inserts each row, right for a caller that sends one email.
    """

    held: HeldContacts | None = None
    batch: OutboxBatch | None = None

    def __post_init__(self) -> None:
        if self.batch is not None and self.held is None:
            raise ValueError("An OutboxBatch needs HeldContacts: only the rows of held contacts are collected.")


ONE_BY_ONE = SendOptions()


def email_send(
    *,
    key: str,
    workspace,
    contact: Contact,
    template: EmailTemplate,
    context: Mapping[str, Any] | None = None,
    node_id: str | None = None,
    workflow_id=None,
    enrollment_id=None,
    from_email: str | None = None,
    reply_to: str | None = None,
    track_opens: bool = True,
    track_clicks: bool = True,
    options: SendOptions = ONE_BY_ONE,
) -> OutboxResult:
    """Render `template` for `contact` and store it in the outbox under `key`; deliver it after commit.

    Exactly once per (workspace, key): a repeat, even from another process at the same moment, finds the row
    and sends nothing. Suppression and the contact's status are checked in this transaction, with the contact
    row locked (an unsubscribe that commits first wins). Runs in the caller's transaction when there is one
    (the runtime's send_email effect); the delivery job is enqueued on queue "email" only once that commits.

    The keyword parameters are the message; `options` (SendOptions) only says how it is read and written: a
    caller that holds its contacts' locks spares each send the locking read (`held`) and its INSERT (`batch`).

    Raises TemplateRenderError (422, code template_render_error, `details` = {part: "line N: message"}) when
    the template does not render for this contact, and InvalidAddress (400) for an unusable from/reply-to:
    in both cases nothing is stored, nothing is sent, and trying again gives the same answer (permanent).
    """
    if not key or len(key) > 255:
        raise InvalidInput("The outbox key must be 1 to 255 characters.", details={"key": "Invalid length."})
    context = context or {}
    sender, reply = message_senders(workspace=workspace, from_email=from_email, reply_to=reply_to)
    # No savepoint (two round trips per send): nothing is written before the render, so a render error is
    # raised after the block has exited cleanly and leaves the caller's transaction usable.
    render_error: TemplateRenderError | None = None
    held, batch = options.held, options.batch
    if held is not None and not (transaction.get_connection().in_atomic_block and held.holds(contact)):
        held = None  # not one of the contacts the caller locked (or no transaction to hold a lock in)
    if held is None:
        batch = None
    elif batch is not None and (earlier := batch.get(workspace, key)) is not None:
        return _exists(earlier)
    with transaction.atomic(savepoint=False):
        if held is None:
            contact, suppressed, exists = lock_contact(workspace=workspace, contact=contact, key=key)
            if exists:
                return _existing(workspace, key)
        else:
            # A repeated key is found by the INSERT (ON CONFLICT; with `batch`, at its flush), after a render
            # that is then unused.
            suppressed = held.suppressed(workspace=workspace, contact=contact)
        outbox_id = uuid.uuid4()
        row = outbox_row(
            id=outbox_id, workspace_id=workspace.pk, key=key, contact_id=contact.id, template_id=template.pk,
            node_id=node_id or "", workflow_id=workflow_id, enrollment_id=enrollment_id,
            to_email=message_recipient(contact), message_id=message_id_header(outbox_id),
        )  # fmt: skip
        skip = _skip_reason(contact=contact, suppressed=suppressed)
        if skip is not None:
            outcome, row.error = skip
            row.status = Status.SKIPPED
        else:
            outcome = "queued"
            row.from_email, row.reply_to = sender, reply
            try:
                message_compose(row, workspace=workspace, contact=contact, template=template, context=context,
                                track_opens=track_opens, track_clicks=track_clicks)
            except TemplateRenderError as error:
                render_error = error
            else:
                row.status, row.next_attempt_at = Status.QUEUED, timezone.now()
        if render_error is not None and held is not None:
            # Unlike the locking read, the held path has not asked whether the key exists: a repeat answers
            # "exists" whether or not its template still renders.
            existing = _existing(workspace, key)
            if existing is not None:
                return existing
        if render_error is None and batch is not None:
            batch.add(row)
            return OutboxResult(outcome=outcome, message_id=str(row.id), status=row.status, detail=row.error)
        if render_error is None and not insert_if_new(row):
            # Another caller inserted this key meanwhile (we waited on its unique-index entry until it committed).
            existing = _existing(workspace, key)
            if existing is None:  # pragma: no cover - the conflicting row cannot vanish once committed
                raise IntegrityError(f"outbox key {key!r} conflicted but is not there")
            return existing
    if render_error is not None:
        raise render_error
    if row.status == Status.QUEUED:
        schedule_delivery(row.id)
    return OutboxResult(outcome=outcome, message_id=str(row.id), status=row.status, detail=row.error)


def message_senders(*, workspace, from_email: str | None, reply_to: str | None) -> tuple[str, str]:
    """Return the From and Reply-To of a message: the step's own, else the workspace's, else the project's
    default sender (InvalidAddress when one cannot be used)."""
    sender = clean_address(from_email or workspace.from_email or settings.DEFAULT_FROM_EMAIL, field="from_email")
    reply = reply_to or workspace.reply_to
    return sender, clean_address(reply, field="reply_to") if reply else ""


def message_compose(
    row: OutboxMessage, *, workspace, contact: Contact, template: EmailTemplate, context: Mapping[str, Any],
    track_opens: bool, track_clicks: bool,
) -> None:
    """Render `template` for `contact` into `row` (subject, parts, tracked links), as it will be sent: the
    unsubscribe link and the tracking tokens are those of `row.id`. Raises TemplateRenderError."""
    tokens = tracking.MessageTokens(row.id)
    unsubscribe = tokens.unsubscribe_url()
    rendered = render_parts(
        template=template,
        variables=message_variables(workspace=workspace, contact=contact, context=context, unsubscribe=unsubscribe),
    )
    tracked = tracking.apply_tracking(
        tokens=tokens, html=rendered.html, text=rendered.text,
        track_opens=track_opens, track_clicks=track_clicks, keep={unsubscribe},
    )  # fmt: skip
    row.subject, row.html, row.text = rendered.subject, tracked.html, tracked.text
    row.links = tracked.links


class HeldContacts:
    """Contacts a caller has locked (SELECT ... FOR UPDATE) in its open transaction and holds as they now are.

    Passed to `email_send` in its SendOptions, it spares each send the locking read of its contact; whether an
    address is suppressed is asked here, for all the contacts `prefetch` names in one query. The caller must
    really hold their row locks (SELECT ... FOR UPDATE in this transaction) and pass them as they now are; a
    contact it did not prefetch is read and locked by `email_send` as usual. Valid for that one transaction
    only: the locks are what make its answers current.
    """

    def __init__(self) -> None:
        self._suppressed: dict[tuple[Any, str], bool] = {}  # (workspace id, email hash) -> suppressed
        self._held: set[Any] = set()

    def holds(self, contact: Contact) -> bool:
        """Whether `contact` is one the caller said it holds (passed to `prefetch`)."""
        return contact.pk in self._held

    def prefetch(self, contacts) -> None:
        """Take these contacts as held (locked and current) and read the suppression of their addresses in one
        query (those not read yet)."""
        wanted: dict[Any, set[str]] = {}
        for contact in contacts:
            self._held.add(contact.pk)
            digest = email_hash(contact.email)
            if (contact.workspace_id, digest) not in self._suppressed:
                wanted.setdefault(contact.workspace_id, set()).add(digest)
        for workspace_id, digests in wanted.items():
            found = set(Suppression.objects.filter(workspace_id=workspace_id, email_hash__in=digests)
                        .values_list("email_hash", flat=True))  # fmt: skip
            self._suppressed.update({(workspace_id, digest): digest in found for digest in digests})

    def suppressed(self, *, workspace, contact: Contact) -> bool:
        if contact.workspace_id != workspace.pk:
            raise Contact.DoesNotExist(f"No contact {contact.pk} in workspace {workspace.pk}.")
        entry = (contact.workspace_id, email_hash(contact.email))
        if entry not in self._suppressed:  # an address changed in this transaction
            self.prefetch([contact])
        return self._suppressed[entry]


class OutboxConflict(Exception):
    """`OutboxBatch.flush` found keys that were already in the outbox: the results it gave for them were wrong,
    so the caller's transaction must roll back (and its work be done again without a batch)."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__(f"{len(keys)} outbox keys already existed: {', '.join(keys[:5])}")
        self.keys = keys


class OutboxBatch:
    """The outbox rows of one transaction, written in one statement at its end instead of one INSERT per send.

    For callers that send many emails in a transaction and hold their contacts (the runtime's batches): what a
    send answers is known before its row is written, except that its key might already exist. A repeat within
    the batch is answered from the batch; one in the database makes `flush` raise OutboxConflict, and the
    caller then rolls back and does its work again without a batch (email_send answers "exists" then).
    Repeats are rare: the runtime's key names the enrollment, node and visit, and commits with the step.
    """

    def __init__(self) -> None:
        self._rows: dict[tuple[Any, str], OutboxMessage] = {}
        self._flushed = False

    def get(self, workspace, key: str) -> OutboxMessage | None:
        return self._rows.get((workspace.pk, key))

    def add(self, row: OutboxMessage) -> None:
        if self._flushed:  # a send after the flush would never be written: a bug of the caller's, said loudly
            raise RuntimeError("This outbox batch was flushed already; a later send needs a batch of its own.")
        self._rows[(row.workspace_id, row.key)] = row

    def flush(self) -> int:
        """INSERT the collected rows in one statement, enqueue the delivery of the queued ones after commit;
        return how many were written. Raises OutboxConflict (nothing to keep: roll back) if a key existed."""
        rows = list(self._rows.values())
        self._rows.clear()
        self._flushed = True
        if not rows:
            return 0
        written = insert_many(rows)
        if len(written) != len(rows):
            raise OutboxConflict(sorted(row.key for row in rows if (row.workspace_id, row.key) not in written))
        for row in rows:
            row._state.adding, row._state.db = False, "default"
            if row.status == Status.QUEUED:
                schedule_delivery(row.id)
        return len(rows)


def _existing(workspace, key: str) -> OutboxResult | None:
    row = OutboxMessage.objects.filter(workspace=workspace, key=key).only("id", "status", "error").first()
    return None if row is None else _exists(row)


def _exists(row: OutboxMessage) -> OutboxResult:
    """What email_send answers for a key that has its row already."""
    return OutboxResult(outcome="exists", message_id=str(row.id), status=row.status, detail=row.error)


def message_recipient(contact: LockedContact) -> str:
    name = single_line(f"{contact.first_name} {contact.last_name}")
    try:
        return formataddr((name, contact.email)) if name else contact.email
    except UnicodeEncodeError:  # a non-ASCII local part (the API refuses them; a row may hold one): Django's
        return contact.email  # builder sends it to the bare address


def _skip_reason(*, contact: LockedContact, suppressed: bool) -> tuple[str, str] | None:
    if contact.status != Contact.Status.SUBSCRIBED:
        return "not_subscribed", f"The contact's status is '{contact.status}'."
    if suppressed:
        return "suppressed", "The address is on the suppression list."
    return None


def email_event_properties(row, **extra) -> dict[str, Any]:
    """Return what every `email.*` event says of its message: an outbox row, or what delivery read of one."""
    return {
        "message_id": str(row.pk),
        "node_id": row.node_id or None,
        "workflow_id": str(row.workflow_id) if row.workflow_id else None,
        **extra,
    }
