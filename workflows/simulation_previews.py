"""What a simulation's messages would look like (test mode, CONTRACT §8): each `send_email` action of the answer
carries the email rendered and addressed as the outbox would store it, each SMS its text with its encoding and
segments (`sms`), each push notification its title, body and URL (`push`), for the contact as the run has it at
that moment, with nothing stored or sent.

The engine stays free of Django: the simulator takes ports that wrap its recording fakes (as node tests do), and
this module gives the one that renders through `templates.previews.email_preview`.
"""

from __future__ import annotations

import uuid
from typing import Any

from contacts.selectors import contact_as_data
from penguinflow.common.errors import InvalidInput
from templates.authoring import contact_for_preview
from templates.models import EmailTemplate
from templates.previews import email_preview
from templates.rendering import TemplateRenderError
from workflows.engine.caps import went_out
from workflows.engine.fakes import FakeWorld
from workflows.engine.ports import EmailResult, MessageResult, PortError
from workflows.push_port import rendered_notification
from workflows.sms_port import sms_preview

__all__ = ["simulation_previews"]


def simulation_previews(*, workspace, workflow_id: str, version: str) -> dict[str, Any]:
    """Return the port wrappers `simulate(previews=...)` takes for a run of `version` of a workflow."""
    enrollment = {"workflow_id": workflow_id, "version": int(version) if version.isdigit() else version}
    return {"email": lambda world, fake: _RenderedEmail(world, fake, workspace, enrollment),
            "sms": lambda world, fake: _RenderedMessage(world, fake, workspace, enrollment, "sms"),
            "push": lambda world, fake: _RenderedMessage(world, fake, workspace, enrollment, "push")}


class _RenderedEmail:
    """The simulator's email port, which also renders each email it records as sent.

    Rendering never changes the run: a template that is gone or does not render is said on the action
    (`email_error`), and the step goes on as the simulation always had it."""

    def __init__(self, world: FakeWorld, fake, workspace, enrollment: dict[str, Any]) -> None:
        self.world, self.fake, self.workspace, self.enrollment = world, fake, workspace, enrollment

    def send(self, *, key: str, template_id: str, from_email: str | None, reply_to: str | None,
             track_opens: bool, track_clicks: bool, **rest: Any) -> EmailResult:
        recorded = len(self.world.actions)
        # The contact as it is when the email goes: a field set by an earlier step shows in the email.
        contact = contact_for_preview(workspace=self.workspace, data=dict(self.world.contact))
        result = self.fake.send(key=key, template_id=template_id, from_email=from_email, reply_to=reply_to,
                                track_opens=track_opens, track_clicks=track_clicks, **rest)
        if len(self.world.actions) > recorded and result.status == "queued":
            # Without the open pixel: a browser showing the preview would fetch it, and a simulation has no
            # message for it to count. Tracked links stay, as the contact would see them.
            self.world.actions[-1].update(self._render(template_id, contact, from_email=from_email,
                                                       reply_to=reply_to, track_opens=False,
                                                       track_clicks=track_clicks))
        return result

    def _render(self, template_id: str, contact, **sending: Any) -> dict[str, Any]:
        template = EmailTemplate.objects.for_workspace(self.workspace).filter(pk=_uuid_or_none(template_id)).first()
        if template is None:
            return {"email_error": f"The email template {template_id} does not exist (deleted?): live, this step "
                                   "would fail."}
        # As the runtime gives templates (workflows.runtime._run_one): the trigger's event, and the enrollment.
        given = self.world.template_context
        context = {"event": given.get("event") or {},
                   "enrollment": {**self.enrollment, **(given.get("enrollment") or {})}}
        try:
            email = email_preview(workspace=self.workspace, template=template, contact=contact, context=context,
                                  **sending)
        except (TemplateRenderError, InvalidInput) as error:
            return {"email_error": f"The email would not render: {error}"}
        except ValueError as error:  # an address no SMTP envelope can carry (delivery's own check)
            return {"email_error": f"The email could not be addressed: {error}"}
        return {"email": email}


class _RenderedMessage:
    """The simulator's SMS or push port, which also renders each message it records as sent (as the live port
    would: Liquid for the contact as the run has it). A text that would not render is said on the action
    (`sms_error`, `push_error`): live, that step would fail."""

    def __init__(self, world: FakeWorld, fake, workspace, enrollment: dict[str, Any], channel: str) -> None:
        self.world, self.fake, self.workspace, self.enrollment = world, fake, workspace, enrollment
        self.channel = channel

    def send(self, **message: Any) -> MessageResult:
        recorded = len(self.world.actions)
        result = self.fake.send(**message)
        if len(self.world.actions) > recorded and went_out(result):
            self.world.actions[-1].update(self._render(message))
        return result

    def _render(self, message: dict[str, Any]) -> dict[str, Any]:
        contact = contact_for_preview(workspace=self.workspace, data=dict(self.world.contact))
        given = self.world.template_context
        context = {"event": given.get("event") or {},
                   "enrollment": {**self.enrollment, **(given.get("enrollment") or {})}}
        try:
            if self.channel == "sms":
                return {"sms": sms_preview(text=message["text"], workspace=self.workspace, contact=contact,
                                           context=context)}
            data = {**context, "contact": contact_as_data(contact)}
            notification = rendered_notification(data, title=message["title"], body=message["body"],
                                                  url=message.get("url"), icon=message.get("icon"))
            return {"push": {"title": notification.title, "body": notification.body, "url": notification.url or None,
                             "icon": notification.icon or None}}
        except PortError as error:
            return {f"{self.channel}_error": str(error)}


def _uuid_or_none(value: Any) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None
