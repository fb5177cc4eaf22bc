"""Testing a node before publishing (`POST /api/v1/node-types/{type}/test`, CONTRACT §5a): the runtime's side.

The engine's `node_test` answers; this module gives it what the runtime knows: the contact (a stored one with
its real history and segments, or attributes given inline), the workspace's objects, and previews that show
an action's effect as it would really be made (the rendered email with its headers and tracked links) while
acting on nothing. A config that publishing would refuse (a deleted template, a campaign of another
workspace) is answered with the same errors `validate` gives.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.utils import timezone
from pydantic import ValidationError

from contacts.activity import ActivityReader
from contacts.models import Contact
from contacts.selectors import contact_as_data
from penguinflow.common.errors import InvalidInput, NotAllowedNow, NotFound
from templates.authoring import contact_for_preview
from templates.models import EmailTemplate
from templates.previews import email_preview
from templates.rendering import TemplateRenderError
from workflows.email_port import as_port_error
from workflows.engine.errors import pydantic_details
from workflows.engine.fakes import FakeWorld
from workflows.engine.graph import Graph, Node, freeze
from workflows.engine.node_test import TEST_NODE, node_test
from workflows.engine.ports import EmailResult, MessageResult, PortError, WebhookResult
from workflows.engine.quiet_hours import RecipientQuiet
from workflows.engine.registry import registry
from workflows.engine.simulator import SimulatedContact
from workflows.notify_port import notify_preview
from workflows.services import node_publish_errors
from workflows.sms_port import recipient_quiet, sms_preview_send
from workflows.webhook_port import webhook_request_preview

__all__ = ["node_type_test"]

SAMPLE_CONTACT_ID = "sample-contact"


def node_type_test(
    *,
    workspace,
    type_name: str,
    config: dict[str, Any],
    contact: dict[str, Any],
    event: dict[str, Any] | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Return `{fires?, reasons?, would}` for a node of `type_name` with `config`; 404 for an unknown type,
    400 for a config, contact or event that is not valid, 422 for a config publishing would refuse."""
    node_type = registry.get(type_name)
    if node_type is None:
        raise NotFound(f"There is no node type '{type_name}' (see GET /api/v1/node-types).")
    try:
        node_type.parse_config(config)
    except ValidationError as error:
        raise InvalidInput(
            "The config is not valid for this node type.", details=pydantic_details(error, prefix="config")
        ) from None
    _refuse_what_publish_refuses(workspace, type_name, config)
    now = now or timezone.now()
    tested = _TestedContact.of(workspace, contact, now)
    event = _event(event, now)
    # What templates may show of the enrollment, as the runtime gives it (workflows.runtime._run_one).
    context = {"event": event or {}, "enrollment": {"id": "test", "entered_at": now.isoformat()}}
    answer = node_test(
        node_type,
        config,
        contact=tested.data,
        event=event,
        now=now,
        activity=tested.activity,
        segments=tested.segments,
        quiet=_tested_quiet(workspace, tested),
        previews={
            "email": lambda world, fake: _PreviewEmail(world, fake, workspace, tested, context),
            "notify": lambda world, fake: _PreviewNotify(world, fake, workspace, tested, context),
            "webhooks": lambda world, fake: _PreviewWebhooks(world, fake, workspace, tested, context),
            "sms": lambda world, fake: _PreviewSms(world, fake, workspace, tested, context),
        },
    )
    return answer.as_dict()


def _refuse_what_publish_refuses(workspace, type_name: str, config: dict[str, Any]) -> None:
    graph = Graph(nodes=(Node(id=TEST_NODE, type=type_name, config=freeze(config)),), edges=())
    errors = node_publish_errors(workspace=workspace, graph=graph)
    if errors:
        raise NotAllowedNow(
            "Publishing would refuse this config: `details.errors` says why.",
            details={"errors": errors},
            code="invalid_config",
        )


def _tested_quiet(workspace, tested: _TestedContact) -> RecipientQuiet | None:
    """The workspace's quiet hours for the tested contact (its number and zone), as a live send judges them."""
    source = tested.stored
    phone = source.phone if source is not None else str(tested.data.get("phone") or "")
    zone = source.timezone if source is not None else str(tested.data.get("timezone") or "")
    try:
        return recipient_quiet(workspace=workspace, phone=phone, timezone_name=zone)
    except PortError:
        return None  # the stored setting does not parse: live, the step would fail; the preview cannot say more


class _TestedContact:
    """The contact a node is tested for: as rules see it, with its history and segments."""

    def __init__(self, data: dict[str, Any], *, stored: Contact | None, activity=None, segments=()) -> None:
        self.data, self.stored, self.activity, self.segments = data, stored, activity, segments

    @classmethod
    def of(cls, workspace, given: dict[str, Any], now: datetime) -> _TestedContact:
        if set(given) == {"id"}:
            stored = Contact.objects.for_workspace(workspace).filter(pk=_uuid_or_none(given["id"])).first()
            if stored is None:
                raise InvalidInput(
                    "The contact is not valid.",
                    details={"contact.id": "No contact with this id in this workspace."},
                )
            activity = ActivityReader(contacts=[(stored.workspace_id, stored.pk)], now=now)
            return cls(contact_as_data(stored), stored=stored, activity=activity)
        try:
            parsed = SimulatedContact.model_validate(given).model_dump()
        except ValidationError as error:
            raise InvalidInput(
                "The contact is not valid.", details=pydantic_details(error, prefix="contact")
            ) from None
        segments = parsed.pop("segments", [])
        parsed["id"] = parsed.get("id") or SAMPLE_CONTACT_ID
        return cls(parsed, stored=None, segments=segments)

    def for_email(self, workspace) -> Contact:
        return (
            self.stored
            if self.stored is not None
            else contact_for_preview(workspace=workspace, data=self.data)
        )


def _uuid_or_none(value: Any) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


def _event(event: dict[str, Any] | None, now: datetime) -> dict[str, Any] | None:
    if event is None:
        return None
    occurred = event.get("occurred_at") or now
    return {
        "type": event["type"],
        "properties": event.get("properties") or {},
        "occurred_at": occurred.isoformat() if isinstance(occurred, datetime) else occurred,
    }


class _PreviewEmail:
    """The simulator's email port, with the email rendered and addressed as the outbox would store it."""

    def __init__(
        self, world: FakeWorld, fake, workspace, contact: _TestedContact, context: dict[str, Any]
    ) -> None:
        self.world, self.fake, self.workspace, self.contact = world, fake, workspace, contact
        self.context = context

    def send(
        self,
        *,
        key: str,
        template_id: str,
        from_email: str | None,
        reply_to: str | None,
        track_opens: bool,
        track_clicks: bool,
        **rest: Any,
    ) -> EmailResult:
        template = (
            EmailTemplate.objects.for_workspace(self.workspace).filter(pk=_uuid_or_none(template_id)).first()
        )
        if template is None:
            raise PortError(f"The email template {template_id} no longer exists (deleted?).", retryable=False)
        try:
            email = email_preview(
                workspace=self.workspace,
                template=template,
                contact=self.contact.for_email(self.workspace),
                context=self.context,
                from_email=from_email,
                reply_to=reply_to,
                track_opens=track_opens,
                track_clicks=track_clicks,
            )
        except (TemplateRenderError, InvalidInput) as error:
            raise as_port_error(error) from error
        result = self.fake.send(
            key=key,
            template_id=template_id,
            from_email=from_email,
            reply_to=reply_to,
            track_opens=track_opens,
            track_clicks=track_clicks,
            **rest,
        )
        if result.status == "queued":
            self.world.actions[-1]["email"] = email
        return result


class _PreviewNotify:
    """The simulator's notify port, with the notification rendered and addressed to the members it would reach
    now (a non-member or a workspace without admins fails the step as it would live)."""

    def __init__(
        self, world: FakeWorld, fake, workspace, contact: _TestedContact, context: dict[str, Any]
    ) -> None:
        self.world, self.fake, self.workspace, self.contact = world, fake, workspace, contact
        self.context = context

    def notify(
        self, *, key: str, contact_id: str, to: list[str] | str, subject: str, message: str
    ) -> dict[str, Any]:
        notification = notify_preview(
            workspace=self.workspace,
            contact=self.contact.for_email(self.workspace),
            to=to,
            subject=subject,
            message=message,
            context=self.context,
        )
        recorded = len(self.world.actions)
        detail = self.fake.notify(key=key, contact_id=contact_id, to=to, subject=subject, message=message)
        if len(self.world.actions) > recorded:
            self.world.actions[-1]["notification"] = notification
        return detail


class _PreviewWebhooks:
    """The simulator's webhook port, with the request built, signed and addressed exactly as the step would send
    it (the builder the live port uses), and not sent."""

    def __init__(
        self, world: FakeWorld, fake, workspace, contact: _TestedContact, context: dict[str, Any]
    ) -> None:
        self.world, self.fake, self.workspace, self.contact = world, fake, workspace, contact
        self.context = context

    def call(
        self,
        *,
        key: str,
        contact_id: str,
        url: str,
        method: str,
        headers: dict[str, str],
        body: Any,
        timeout_s: int,
    ) -> WebhookResult:
        request = webhook_request_preview(
            workspace=self.workspace,
            key=key,
            url=url,
            method=method,
            headers=headers,
            body=body,
            data={**self.context, "contact": self.contact.data},
        )
        recorded = len(self.world.actions)
        result = self.fake.call(
            key=key,
            contact_id=contact_id,
            url=url,
            method=method,
            headers=headers,
            body=body,
            timeout_s=timeout_s,
        )
        if len(self.world.actions) > recorded:
            self.world.actions[-1]["request"] = request
        return result


class _PreviewSms:
    """The simulator's SMS port, with the text rendered for the contact and its encoding and segments shown (as
    the live port would store it), and the recipient's quiet hours applied at the test's `now`."""

    def __init__(
        self, world: FakeWorld, fake, workspace, contact: _TestedContact, context: dict[str, Any]
    ) -> None:
        self.world, self.fake, self.workspace, self.contact = world, fake, workspace, contact
        self.context = context

    def send(self, *, key: str, node_id: str, contact_id: str, text: str, topic: str | None) -> MessageResult:
        contact = self.contact.for_email(self.workspace)
        if self.contact.stored is None:  # given inline: its number and consent as the fake port reads them
            data = self.contact.data
            contact.phone = str(data.get("phone") or "")
            contact.channels = data.get("channels") if isinstance(data.get("channels"), dict) else {}
            contact.topic_opt_outs = [str(t) for t in data.get("topic_opt_outs") or [] if isinstance(t, str)]
        return sms_preview_send(
            world=self.world,
            fake=self.fake,
            workspace=self.workspace,
            contact=contact,
            context=self.context,
            key=key,
            node_id=node_id,
            contact_id=contact_id,
            text=text,
            topic=topic,
        )
