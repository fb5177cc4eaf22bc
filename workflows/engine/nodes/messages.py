"""``send_message``: one message to the contact on the first channel that reaches them (CONTRACT §13).

The step tries its channels in order ("preferred" is the contact's ``preferred_channel``). Each channel is sent
by the node type that declares it (``NodeType.channel``: ``send_email`` for email, and whichever types the SMS
and push apps declare), with the channel's config, so a channel's rules (its window, quiet hours, consent,
suppression) hold here as they do in its own step. A channel is skipped, with the reason in the step log, when
it cannot reach the contact: it sends nothing (no address, no consent, unsubscribed, suppressed), a frequency cap
with ``skip`` or quiet hours with ``skip`` (the step's ``quiet_hours``, which holds for every channel that has
quiet hours) stop it, it fails for good (a hard failure), or the step has no config
for it. A channel that defers (a window, quiet hours, a cap with ``defer``) makes the step wait, then that
channel is tried again: deferring is not a reason to use another channel.

With ``fallback_after``, once a channel sent the step waits that long; if the contact did not engage with that
message (an open or a click of the email, a click of the push, a reply to the SMS) the next channel is tried.
Each channel is tried at most once per step (and its effect key makes a send happen once, even if the step runs
again). Progress travels in the wait's detail (``send_message``), so a wait resumes where it left off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails

from workflows.engine.caps import ANY_CHANNEL, CHANNELS, CapReached, went_out
from workflows.engine.durations import parse_duration
from workflows.engine.outcomes import Advance, Exit, Fail, Outcome, Retry, Wait
from workflows.engine.ports import PortError
from workflows.engine.presets import PLACEHOLDER_TEMPLATE, Preset
from workflows.engine.quiet_hours import QuietPolicy
from workflows.engine.registry import NodeConfig, NodeType, Reference, StepContext, node_type, registry
from workflows.engine.send_time import SendTime, SendWithin
from workflows.engine.state import WaitState
from workflows.engine.types import Duration

__all__ = ["ENGAGEMENT", "SendMessage", "channel_sender"]

# What counts as engaging with a message, per channel (the event types of the contact's history).
ENGAGEMENT: dict[str, tuple[str, ...]] = {
    "email": ("email.opened", "email.clicked"),
    "sms": ("sms.received",),
    "push": ("push.clicked",),
}

ChannelChoice = Literal["preferred", "email", "sms", "push"]
# Settings the step decides for every channel: a channel's own would only confuse (and is replaced).
STEP_WIDE = ("transactional", "quiet_hours")


def channel_sender(channel: str) -> NodeType | None:
    """Return the node type that sends on ``channel`` (its ``channel`` names it), or None when none does here."""
    for candidate in registry.all():
        if candidate.kind == "action" and candidate.channel == channel and candidate.available:
            return candidate
    return None


class _Config(NodeConfig):
    channels: list[ChannelChoice] = Field(
        min_length=1,
        max_length=4,
        description="The channels in order; 'preferred' is the contact's preferred channel (skipped if none).",
    )
    email: dict[str, Any] | None = Field(
        default=None, description="The email, as a Send email step's config."
    )
    sms: dict[str, Any] | None = Field(
        default=None, title="SMS", description="The SMS, as a Send SMS step's config."
    )
    push: dict[str, Any] | None = Field(
        default=None, title="Push", description="The push, as a Send push step's config."
    )
    fallback_after: Duration | None = Field(
        default=None,
        description="Wait this long after a channel sent; without an open or click, try the next channel.",
    )
    transactional: bool = Field(
        default=False, description="A message the contact asked for: exempt from the frequency caps."
    )
    quiet_hours: QuietPolicy = Field(
        default="defer",
        description="When SMS or push would reach the contact in their quiet hours: wait for their end "
        "(defer), or try the next channel (skip).",
    )
    # For every channel whose config does not set its own: each channel waits for its own optimal moment.
    send_time: SendTime = "immediate"
    send_within: SendWithin = "PT24H"

    @field_validator("channels")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each channel may be named once")
        return value

    @field_validator("fallback_after")
    @classmethod
    def _positive(cls, value: str | None) -> str | None:
        if value is not None and parse_duration(value).total_seconds() <= 0:
            raise ValueError("must be longer than zero")
        return value

    @model_validator(mode="after")
    def _configured(self) -> _Config:
        missing = [c for c in self.channels if c != "preferred" and getattr(self, c) is None]
        if missing:
            raise ValueError(f"give the config of each channel named: {', '.join(missing)}")
        if not any(getattr(self, channel) is not None for channel in CHANNELS):
            raise ValueError("give the config of at least one channel (email, sms or push)")
        return self


@dataclass(frozen=True)
class MessagePlan:
    """A parsed ``send_message`` config: the config, and each configured channel's sender and parsed config."""

    config: _Config
    senders: Mapping[str, tuple[NodeType, Any]]

    @property
    def transactional(self) -> bool:
        return self.config.transactional


@dataclass
class _Progress:
    """Where the step is: the channel order, the one being tried, what each tried channel did."""

    order: list[str]
    index: int = 0
    attempts: list[dict[str, Any]] | None = None
    phase: Literal["sending", "engagement"] = "sending"
    sent_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "order": self.order,
            "index": self.index,
            "attempts": self.attempts or [],
            "phase": self.phase,
            "sent_at": self.sent_at,
        }

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> _Progress:
        return cls(
            order=list(data["order"]),
            index=int(data["index"]),
            attempts=list(data.get("attempts") or []),
            phase=data.get("phase", "sending"),
            sent_at=data.get("sent_at"),
        )

    def note(self, channel: str, result: str, **detail: Any) -> None:
        self.attempts = [*(self.attempts or []), {"channel": channel, "result": result, **detail}]

    def skip(self, channel: str, reason: str, **detail: Any) -> None:
        self.note(channel, "skipped", reason=reason, **detail)
        self.index += 1


def _order(config: _Config, contact: Mapping[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """Return the channels to try, and the skips of a 'preferred' that names none (or one named later)."""
    order: list[str] = []
    skipped: list[dict[str, Any]] = []
    for choice in config.channels:
        channel = choice
        if choice == "preferred":
            channel = contact.get("preferred_channel") or ""
            if channel not in CHANNELS:
                skipped.append(
                    {"channel": "preferred", "result": "skipped", "reason": "no_preferred_channel"}
                )
                continue
        if channel not in order:
            order.append(channel)
    return order, skipped


@node_type(
    "send_message",
    kind="action",
    label="Send message",
    description="Send one message on the first channel that reaches the contact (email, SMS, push or their "
    "preferred one); optionally try the next if they do not engage within a while.",
)
class SendMessage(NodeType):
    presets = (
        Preset(
            "send-message-preferred",
            "Send on the preferred channel",
            "Send on the contact's preferred channel, else email.",
            "email",
            {"channels": ["preferred", "email"], "email": {"template_id": PLACEHOLDER_TEMPLATE}},
            {
                "fill_in": f"Replace {PLACEHOLDER_TEMPLATE} with the id of an email template; add sms or push "
                "configs for those channels."
            },
        ),
    )
    references = (
        Reference(
            "email.template_id",
            "templates.EmailTemplate",
            "email template",
            optional=True,
            collection="templates",
        ),
    )
    ports = ("email", "sms", "push")
    # Every channel: the runner puts the frequency caps in front of each channel's port for this step.
    channel = ANY_CHANNEL
    Config = _Config

    def parse_config(self, config: Mapping[str, Any]) -> MessagePlan:
        """Return the config with each configured channel's config parsed by its sender's type; errors carry
        the channel in their path (``email.template_id``)."""
        parsed = _Config.model_validate(config)
        senders: dict[str, tuple[NodeType, Any]] = {}
        errors: list[InitErrorDetails] = []
        for channel in CHANNELS:
            raw = getattr(parsed, channel)
            if raw is None:
                continue
            if parsed.send_time == "optimal" and "send_time" not in raw:
                raw = {**raw, "send_time": parsed.send_time, "send_within": parsed.send_within}
            sender = channel_sender(channel)
            if sender is None:
                errors.append(
                    InitErrorDetails(
                        type="value_error",
                        loc=(channel,),
                        input=raw,
                        ctx={"error": f"no node type sends {channel} here"},
                    )
                )
                continue
            if "quiet_hours" in sender.Config.model_fields:
                raw = {**raw, "quiet_hours": parsed.quiet_hours}
            try:
                senders[channel] = (sender, sender.parse_config(raw))
            except ValidationError as error:
                errors += [
                    InitErrorDetails(
                        type=item["type"],
                        loc=(channel, *item["loc"]),
                        input=item["input"],
                        ctx=item.get("ctx", {}),
                    )
                    for item in error.errors(include_url=False)
                ]
        if errors:
            raise ValidationError.from_exception_data("send_message", errors)
        return MessagePlan(parsed, senders)

    def describe(self) -> dict[str, Any]:
        """Return the entry of ``GET /api/v1/node-types`` with each channel's config schema (its sender's) in
        place of a free object, so the builder draws the channels' forms; their ``$defs`` move to the root."""
        described = super().describe()
        schema = described["config_schema"]
        properties = schema.get("properties", {})
        for channel in CHANNELS:
            sender = channel_sender(channel)
            if sender is None or channel not in properties:
                continue
            nested = dict(sender.describe()["config_schema"])
            schema.setdefault("$defs", {}).update(nested.pop("$defs", {}))
            # The step's own `transactional` and `quiet_hours` decide for every channel.
            nested["properties"] = {
                name: prop for name, prop in nested.get("properties", {}).items() if name not in STEP_WIDE
            }
            # In $defs by name, as pydantic puts nested models, so that readers of the schema follow it alike.
            name = f"{channel.capitalize()}Message"
            schema["$defs"][name] = {**nested, "title": sender.label}
            properties[channel] = {
                "$ref": f"#/$defs/{name}",
                "title": sender.label,
                "description": properties[channel].get("description", ""),
            }
        return described

    def run(self, ctx: StepContext, plan: MessagePlan) -> Outcome:
        progress, inner_wait = self._resume(ctx, plan)
        engaged: bool | None = None
        if progress.phase == "engagement":
            if self._engaged(ctx, progress):
                return Advance(detail=_summary(progress, engaged=True))
            engaged = False
            _mark_unengaged(progress)
            progress.phase, progress.sent_at = "sending", None
            progress.index += 1
        while progress.index < len(progress.order):
            channel = progress.order[progress.index]
            if channel not in plan.senders:
                progress.skip(channel, "not_configured")
                continue
            outcome = self._try(ctx, plan, progress, channel, inner_wait)
            inner_wait = None
            if outcome is not None:
                return outcome
        return Advance(detail=_summary(progress, engaged=engaged))

    # --- one channel ------------------------------------------------------------------------------------------

    def _try(
        self, ctx: StepContext, plan: MessagePlan, progress: _Progress, channel: str, inner: WaitState | None
    ) -> Outcome | None:
        """Try ``channel``; return the step's outcome (sent, or waiting), or None to go on to the next channel."""
        sender, config = plan.senders[channel]
        saved = ctx.wait
        ctx.wait = inner
        try:
            outcome = sender.run(ctx, config)
        except CapReached as capped:
            if capped.verdict.policy == "skip":
                progress.skip(channel, "frequency_cap")
                return None
            return _waiting(
                progress, channel, Wait(until=capped.verdict.next_at, detail=capped.verdict.as_detail())
            )
        except PortError as error:
            if error.retryable:
                raise  # the runner retries the step; the channels' effect keys keep what was sent from going twice
            progress.skip(channel, f"failed: {error}")
            return None
        finally:
            ctx.wait = saved
        if isinstance(outcome, Wait):
            return _waiting(progress, channel, outcome)
        if isinstance(outcome, Fail):
            progress.skip(channel, f"failed: {outcome.reason}")
            return None
        if isinstance(outcome, (Retry, Exit)):
            return outcome
        detail = outcome.detail
        if not went_out(detail):
            reason = str(detail.get("reason") or detail.get("skipped") or detail.get("status") or "not_sent")
            progress.skip(channel, reason, **({"until": detail["until"]} if reason == "quiet_hours" else {}))
            return None
        progress.note(channel, "sent", message_id=detail["message_id"], status=detail.get("status", "queued"))
        if plan.config.fallback_after is not None and progress.index + 1 < len(progress.order):
            progress.phase, progress.sent_at = "engagement", ctx.now.isoformat()
            until = ctx.now + parse_duration(plan.config.fallback_after)
            return Wait(
                until=until,
                detail={
                    **_summary(progress),
                    "send_message": progress.as_dict(),
                    "awaiting_engagement": channel,
                    "until": until.isoformat(),
                },
            )
        return Advance(detail=_summary(progress))

    # --- resuming ---------------------------------------------------------------------------------------------

    def _resume(self, ctx: StepContext, plan: MessagePlan) -> tuple[_Progress, WaitState | None]:
        """Return where the step is (a new start, or the stored progress of its wait) and the wait of the channel
        being tried, as that channel's own step would get it back (None: try it afresh)."""
        stored = ctx.wait.detail.get("send_message") if ctx.wait is not None else None
        if not stored:
            order, skipped = _order(plan.config, ctx.contact)
            return _Progress(order=order, attempts=skipped), None
        progress = _Progress.of(stored)
        inner = ctx.wait.detail.get("channel_wait")  # type: ignore[union-attr]
        if progress.phase != "sending" or not inner or inner.get("detail", {}).get("capped"):
            return (
                progress,
                None,
            )  # a cap's deferral checks again from the start, as a channel's own step does
        wait = WaitState(
            node_id=ctx.node.id,
            since=ctx.wait.since,
            until=_moment(inner.get("until")),  # type: ignore[union-attr]
            event=inner.get("event"),
            timeout_at=_moment(inner.get("timeout_at")),
            detail=inner.get("detail") or {},
        )
        return progress, wait

    def _engaged(self, ctx: StepContext, progress: _Progress) -> bool:
        """Return whether the contact engaged with the message the step sent last, since it went out."""
        channel = progress.order[progress.index]
        since = _moment(progress.sent_at)
        if channel == "email":
            return any(
                ctx.activity.email_event(
                    contact_id=ctx.contact_id,
                    event=event,
                    node_id=ctx.node.id,
                    url_contains=None,
                    since=since,
                )
                for event in ENGAGEMENT["email"]
            )
        return any(
            ctx.activity.event_count(contact_id=ctx.contact_id, type=event, since=since) > 0
            for event in ENGAGEMENT.get(channel, ())
        )


def _mark_unengaged(progress: _Progress) -> None:
    """Note on the last sent channel's attempt that the contact did not engage within ``fallback_after``."""
    attempts = progress.attempts or []
    for attempt in reversed(attempts):
        if attempt["result"] == "sent":
            attempt["engaged"] = False
            break


def _waiting(progress: _Progress, channel: str, wait: Wait) -> Wait:
    """Return the step's wait for ``channel``'s own (a window, quiet hours, a cap), keeping the progress."""
    inner = {
        "until": _iso(wait.until),
        "event": wait.event,
        "timeout_at": _iso(wait.timeout_at),
        "detail": dict(wait.detail),
    }
    detail = {
        **_summary(progress),
        "channel": channel,
        "deferred": dict(wait.detail),
        "send_message": progress.as_dict(),
        "channel_wait": inner,
    }
    reason = wait.detail.get("reason")
    if reason:
        detail["reason"] = reason
    return Wait(until=wait.until, event=wait.event, timeout_at=wait.timeout_at, detail=detail)


def _summary(progress: _Progress, *, engaged: bool | None = None) -> dict[str, Any]:
    """Return the step log's account: which channel went out, and why each other one did not."""
    attempts = progress.attempts or []
    sent = [attempt for attempt in attempts if attempt["result"] == "sent"]
    detail: dict[str, Any] = {"attempts": attempts}
    if sent:
        detail.update(
            channel=sent[-1]["channel"], message_id=sent[-1]["message_id"], status=sent[-1]["status"]
        )
    else:
        detail.update(channel=None, status="not_sent")
        reasons = "; ".join(f"{a['channel']}: {a['reason']}" for a in attempts if a["result"] == "skipped")
        detail["reason"] = f"No channel reached the contact ({reasons or 'none to try'})."
    if engaged is not None:
        detail["engaged"] = engaged
    return detail


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
