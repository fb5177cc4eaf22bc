"""The runtime's send_push effect: the config's Liquid rendered for the contact, then the push outbox under the
step's effect key (so a retry never sends again), with consent checked on the batch's locked contact, and the
recipient's quiet hours respected as for SMS (the step waits for their end, or skips)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.utils import timezone
from liquid.exceptions import LiquidError

from contacts.consent import reachability
from contacts.selectors import contact_as_data
from penguinflow.common.errors import InvalidInput
from push.outbox import Notification, PushBatch, PushConflict, devices_of, push_send
from templates.outbox import OutboxConflict
from templates.rendering import single_line, text_template
from workflows.engine.ports import MessageResult, PortError
from workflows.sms_port import sms_quiet_until, workspace_quiet_hours


class LivePush:
    def __init__(self, book, origin, workspace, *, clock: Callable[[], datetime] = timezone.now) -> None:
        self.book, self.origin, self.workspace, self.clock = book, origin, workspace, clock
        self._quiet_hours = None  # the workspace's, read at the first send that needs them
        self._devices: dict | None = None  # the browsers of the batch's contacts, read at the first send

    def devices(self, contact) -> list:
        """The contact's browsers: those of every contact of the batch are read in one query (the batch holds
        their row locks, which stores and removals of subscriptions take too)."""
        if self._devices is None:
            self._devices = devices_of(contact.pk for contact in self.book.contacts.values())
        return self._devices.get(contact.pk, [])

    def _batch(self) -> PushBatch | None:
        """The batch's push rows, written with its email outbox (`ContactBook.flush_outbox`); None when the batch
        writes each send by itself (its email does too: the runtime's second try after a conflict)."""
        if self.book.outbox is None:
            return None
        kept = self.book.channel_outboxes.get("push")
        if kept is None:
            kept = self.book.channel_outboxes["push"] = _PushOutbox()
        return kept.batch

    def send(
        self,
        *,
        key: str,
        node_id: str,
        contact_id: str,
        title: str,
        body: str,
        url: str | None,
        icon: str | None,
        topic: str | None,
        check_quiet_hours: bool = False,
    ) -> MessageResult:
        """`check_quiet_hours`: defer in the recipient's quiet hours (send_push asks it; the bench's direct calls
        measure the store alone)."""
        contact = self.book.get(contact_id)
        if check_quiet_hours:
            deferred = self._quiet(contact, topic)
            if deferred is not None:
                return deferred
        data = {
            **self.book.template_context.get(key.split(":", 1)[0], {}),
            "contact": contact_as_data(contact),
        }
        notification = rendered_notification(data, title=title, body=body, url=url, icon=icon, topic=topic)
        if not notification.title:
            raise PortError("The notification's title rendered empty for this contact.", retryable=False)
        try:
            result = push_send(
                key=key,
                workspace=self.workspace,
                contact=contact,
                notification=notification,
                node_id=node_id,
                workflow_id=self.origin.workflow_id,
                held=True,
                devices=self.devices(contact),
                batch=self._batch(),
            )
        except InvalidInput as error:
            raise PortError(
                f"The notification could not be stored: {error.message}", retryable=False
            ) from error
        if result.reason:  # nothing went out, now or the first time this key was sent
            return MessageResult(message_id=None, status="suppressed", detail={"reason": result.reason})
        return MessageResult(
            message_id=result.message_id,
            status="queued",
            detail={"devices": len(result.message_ids), "message_ids": result.message_ids},
        )


    def _quiet(self, contact, topic: str | None) -> MessageResult | None:
        """A deferral when the contact, reachable by push, is in their quiet hours (judged as for SMS: their zone,
        and their number's region for the regional rules); nothing is stored, the step runs again at the end."""
        if not reachability(contact, "push", topic=topic).ok:
            return None  # push_send records why nothing goes out, at once
        if self._quiet_hours is None:
            self._quiet_hours = workspace_quiet_hours(self.workspace)
        until = sms_quiet_until(self.clock(), workspace=self.workspace, contact=contact, quiet_hours=self._quiet_hours)
        if until is None:
            return None
        return MessageResult(message_id=None, status="deferred",
                             detail={"reason": "quiet_hours", "until": until.isoformat()})  # fmt: skip


class _PushOutbox:
    """The push rows of a runtime batch, flushed by `ContactBook.flush_outbox` as email's are: a key that existed
    is an OutboxConflict, on which the runtime rolls the batch back and runs it again send by send."""

    def __init__(self) -> None:
        self.batch = PushBatch()

    def flush(self) -> None:
        try:
            self.batch.flush()
        except PushConflict as conflict:
            raise OutboxConflict(conflict.keys) from conflict


def rendered_notification(data: dict[str, Any], *, title: str, body: str, url: str | None, icon: str | None,
                          topic: str | None = None) -> Notification:
    """Render a send_push config's Liquid with `data` (`contact`, `event`, `enrollment`); PortError (for good)
    when a text does not render or a URL is no http(s) URL once rendered."""
    return Notification(
        title=single_line(_render(title, data, "title"))[:255], body=_render(body, data, "body")[:4000],
        url=_rendered_url(url, data, "url"), icon=_rendered_url(icon, data, "icon"), topic=topic or "",
    )  # fmt: skip


def _render(text: str, data: dict[str, Any], what: str) -> str:
    if not text or "{" not in text:
        return text or ""
    try:
        return text_template(text).render(**data)
    except LiquidError as error:
        raise PortError(
            f"The notification's {what} could not be rendered: {error.message}", retryable=False
        ) from error


def _rendered_url(url: str | None, data: dict[str, Any], what: str) -> str:
    """Render a URL of the config; one that is not http(s) with a host once rendered fails the step for good."""
    if not url:
        return ""
    value = _render(url, data, what).strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(value) > 2000:
        raise PortError(
            f"The notification's {what} is not an http(s) URL once rendered: {value[:200]!r}.",
            retryable=False,
        )
    return value
