"""SMS actions: send a text (Liquid) to the contact's phone, inside a delivery window if one is set, and never
in the recipient's quiet hours (the SMS port defers the step to their end)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator

from sms.segments import MAX_CHARACTERS, sms_shape
from workflows.engine.outcomes import Advance, Outcome, Wait
from workflows.engine.presets import Preset
from workflows.engine.quiet_hours import QuietPolicy, quiet_outcome
from workflows.engine.registry import NodeConfig, NodeType, RetryPolicy, StepContext, node_type
from workflows.engine.send_time import SendTime, SendWithin, send_time_wait
from workflows.engine.windows import Window, window_opening

__all__ = ["SendSms"]

# The builder edits the text with the Liquid editor and shows its encoding and segments as it is typed.
SMS_TEXT = {"x-liquid": True, "x-sms-segments": True}


@node_type(
    "send_sms",
    kind="action",
    label="Send SMS",
    description="Send a text message to the contact's phone (they must have opted in to SMS); outside the "
    "workspace's quiet hours, and with a window, inside it.",
)
class SendSms(NodeType):
    channel: ClassVar[str | None] = "sms"
    presets = (
        Preset("send-sms", "Send an SMS", "Text the contact (with their SMS consent).", "sms",
               {"text": "Hi {{ contact.first_name | default: 'there' }}, your order has shipped. Reply STOP to opt out."}),
        Preset("send-sms-reminder", "SMS reminder", "A transactional reminder: exempt from frequency caps.",
               "sms", {"text": "Reminder: your appointment is tomorrow at {{ event.properties.time }}.",
                       "transactional": True}),
    )  # fmt: skip
    # A provider that is down usually comes back within the hour: retry longer, back off further.
    retry = RetryPolicy(max_attempts=8, base_seconds=60, cap_seconds=3 * 3600)
    ports = ("sms",)

    class Config(NodeConfig):
        text: str = Field(
            min_length=1,
            max_length=5000,
            json_schema_extra=SMS_TEXT,
            description="Liquid; at most 1,600 characters and 10 segments once rendered",
        )
        window: Window | None = None
        send_time: SendTime = "immediate"
        send_within: SendWithin = "PT24H"
        transactional: bool = Field(
            default=False, description="Exempt from frequency caps (quiet hours still apply)"
        )
        topic: str | None = Field(
            default=None,
            min_length=1,
            max_length=100,
            description="Contacts who opted out of this topic are not sent it",
        )
        quiet_hours: QuietPolicy = Field(
            default="defer",
            description="In the recipient's quiet hours: wait for their end (defer), or go on without sending "
            "(skip; in a Send message step, the next channel is tried)",
        )

        @field_validator("text")
        @classmethod
        def _sendable(cls, text: str) -> str:
            if not text.strip():
                raise ValueError("the text is empty")
            if "{" not in text:  # no Liquid: its length is known now rather than at the first send
                shape = sms_shape(text)
                if shape.too_long:
                    raise ValueError(
                        f"the text takes {shape.segments} {shape.encoding} segments and "
                        f"{shape.characters} characters: at most 10 segments and {MAX_CHARACTERS}"
                    )
            return text

    def run(self, ctx: StepContext, config: Config) -> Outcome:
        if (timing := send_time_wait(ctx, config, channel="sms")) is not None:
            return timing  # the optimal moment is later (within the window, quiet hours and caps)
        # A resumed step was deferred to the window's opening: send now rather than re-check the clock edge.
        if config.window is not None and config.window.on_miss == "wait" and ctx.wait is None:
            opening = window_opening(ctx, config.window, ctx.now)
            if opening > ctx.now:
                return Wait(until=opening, detail={"outside_window": True, "until": opening.isoformat()})
        result = ctx.ports.sms.send(
            key=ctx.effect_key,
            node_id=ctx.node.id,
            contact_id=ctx.contact_id,
            text=config.text,
            topic=config.topic,
        )
        if result.status == "deferred":  # the recipient's quiet hours: wait for their end, or skip by choice
            return quiet_outcome(config.quiet_hours, result.detail)
        return Advance(detail={"message_id": result.message_id, "status": result.status, **result.detail})
