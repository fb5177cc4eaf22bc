"""The runtime's send_sms effect: the text rendered for the contact, the recipient's quiet hours respected (the
step waits for their end), and the SMS stored in the outbox under the step's effect key with consent asked under
the batch's row lock, so a retry never sends again and nobody without consent is sent anything."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import phonenumbers
from django.utils import timezone
from liquid.exceptions import LiquidError
from phonenumbers import timezone as phone_zones

from contacts.consent import reachability
from contacts.models import Contact
from penguinflow.common.errors import InvalidInput
from sms.outbox import sms_send, sms_text_check
from sms.segments import sms_shape
from templates.rendering import contact_variables, text_template, workspace_variables
from workflows.engine.ports import MessageResult, PortError
from workflows.engine.quiet_hours import (
    QuietHours,
    QuietHoursError,
    RecipientQuiet,
    quiet_hours_parse,
    quiet_until,
)
from workflows.engine.timing import zone_or


class LiveSms:
    """The SMS port of a runtime batch (`live_ports`): its contacts are locked by the batch's ContactBook."""

    def __init__(self, book, origin, workspace, *, clock: Callable[[], datetime] = timezone.now) -> None:
        self.book, self.origin, self.workspace, self.clock = book, origin, workspace, clock

    @functools.cached_property
    def quiet_hours(self) -> QuietHours:
        """The workspace's quiet hours, read once per batch."""
        return workspace_quiet_hours(self.workspace)

    def send(self, *, key: str, node_id: str, contact_id: str, text: str, topic: str | None) -> MessageResult:
        contact = self.book.get(contact_id)
        enrollment_id = key.split(":", 1)[0]
        body = sms_render(text=text, workspace=self.workspace, contact=contact,
                          context=self.book.template_context.get(enrollment_id, {}))  # fmt: skip
        if reachability(contact, "sms", topic=topic).ok:
            until = sms_quiet_until(
                self.clock(), workspace=self.workspace, contact=contact, quiet_hours=self.quiet_hours
            )
            if until is not None:  # nothing stored: the step waits and sends when it is run again
                return MessageResult(
                    message_id=None,
                    status="deferred",
                    detail={"reason": "quiet_hours", "until": until.isoformat()},
                )
        try:
            result = sms_send(key=key, workspace=self.workspace, contact=contact, text=body, locked=True,
                              batch=self.book.sms_outbox, node_id=node_id, workflow_id=self.origin.workflow_id,
                              enrollment_id=enrollment_id, topic=topic)  # fmt: skip
        except InvalidInput as error:
            raise PortError(f"The SMS cannot be sent: {error.message}", retryable=False) from error
        detail = {**({"reason": result.reason} if result.reason else {}),
                  "encoding": result.shape.get("encoding"), "segments": result.shape.get("segments")}  # fmt: skip
        status = "suppressed" if result.status == "skipped" else result.status
        return MessageResult(message_id=result.message_id, status=status, detail=detail)


def sms_render(*, text: str, workspace, contact: Contact, context: Mapping[str, Any]) -> str:
    """Render a step's Liquid text for the contact (as email templates see it: `contact`, `workspace`, `event`,
    `enrollment`); a text that cannot render fails the step for good."""
    variables = {key: value for key, value in context.items() if isinstance(key, str)}
    variables.setdefault("event", {})
    variables.setdefault("enrollment", {})
    variables["contact"] = contact_variables(contact)
    variables["workspace"] = workspace_variables(workspace)
    try:
        return text_template(text).render(**variables) if "{" in text else text
    except LiquidError as error:
        raise PortError(f"The SMS text could not be rendered: {error.message}", retryable=False) from error


def sms_preview(*, text: str, workspace, contact: Contact, context: Mapping[str, Any]) -> dict[str, Any]:
    """The SMS a step would send the contact: its text, encoding and segments (the node test's `would`)."""
    body = sms_render(text=text, workspace=workspace, contact=contact, context=context)
    return {"to": contact.phone or None, "text": body, **sms_shape(body).as_dict()}


def workspace_quiet_hours(workspace) -> QuietHours:
    """The workspace's `quiet_hours` setting (`Workspace.settings`), or the default (no SMS 21:00-08:00)."""
    settings = workspace.settings or {}
    try:
        return quiet_hours_parse(settings.get("quiet_hours"))
    except QuietHoursError as error:  # refused when saved; a setting stored otherwise must not stop sending
        raise PortError(
            f"The workspace's quiet hours are invalid: {error.details}", retryable=False
        ) from error


def sms_quiet_until(
    moment: datetime, *, workspace, contact: Contact, quiet_hours: QuietHours | None = None
) -> datetime | None:
    """When an SMS to `contact` may go out if not at `moment` (None: now), in the recipient's zone: the
    contact's own, else that of their number's region when it has one, else the workspace's. `quiet_hours`: the
    workspace's, when the caller has read them already."""
    quiet_hours = quiet_hours or workspace_quiet_hours(workspace)
    if quiet_hours.start == quiet_hours.end and not quiet_hours.regions:
        return None  # no quiet time at all: spare the number's parse
    # Parsing the number (for its region and zone) costs more than the rest of a send's checks: only when needed.
    region, number_zone = (
        _number_region(contact.phone) if quiet_hours.regions or not contact.timezone else (None, None)
    )
    tz = zone_or(contact.timezone or number_zone, fallback=workspace.timezone or "UTC")
    return quiet_until(moment, quiet_hours=quiet_hours, tz=tz, region=region)


def recipient_quiet(*, workspace, phone: str, timezone_name: str) -> RecipientQuiet:
    """The workspace's quiet hours as they apply to a recipient with this number and zone (the simulator's ports
    defer by it): judged as `sms_quiet_until` judges a live send."""
    region, number_zone = _number_region(phone or "")
    tz = zone_or(timezone_name or number_zone, fallback=workspace.timezone or "UTC")
    return RecipientQuiet(workspace_quiet_hours(workspace), tz, region)


@functools.lru_cache(maxsize=4096)
def _number_region(phone: str) -> tuple[str | None, str | None]:
    """The ISO region of an E.164 number and its time zone when the number has exactly one."""
    if not phone:
        return None, None
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None, None
    zones = [name for name in phone_zones.time_zones_for_number(number) if name != "Etc/Unknown"]
    return phonenumbers.region_code_for_number(number), zones[0] if len(zones) == 1 else None


def sms_preview_send(
    *,
    world,
    fake,
    workspace,
    contact: Contact,
    context: Mapping[str, Any],
    key: str,
    node_id: str,
    contact_id: str,
    text: str,
    topic: str | None,
) -> MessageResult:
    """The node test's SMS port: what `LiveSms.send` would answer at the world's clock, acting on nothing; the
    action it records carries the SMS (text, encoding, segments) as it would be stored."""
    preview = sms_preview(text=text, workspace=workspace, contact=contact, context=context)
    if preview["too_long"] or not preview["text"].strip():
        try:
            sms_text_check(preview["text"])
        except InvalidInput as error:
            raise PortError(f"The SMS cannot be sent: {error.message}", retryable=False) from error
    if reachability(contact, "sms", topic=topic).ok:
        until = sms_quiet_until(world.clock(), workspace=workspace, contact=contact)
        if until is not None:
            return MessageResult(
                message_id=None,
                status="deferred",
                detail={"reason": "quiet_hours", "until": until.isoformat(), "sms": preview},
            )
    recorded = len(world.actions)
    result = fake.send(key=key, node_id=node_id, contact_id=contact_id, text=text, topic=topic)
    if len(world.actions) > recorded:
        world.actions[-1]["sms"] = preview
    return result
