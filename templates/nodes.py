"""Email actions: send a template to the contact, inside a delivery window if one is set."""

from __future__ import annotations

from pydantic import Field

from workflows.engine.outcomes import Advance, Outcome, Wait
from workflows.engine.presets import PLACEHOLDER_TEMPLATE, Preset
from workflows.engine.registry import NodeConfig, NodeType, Reference, RetryPolicy, StepContext, node_type
from workflows.engine.send_time import SendTime, SendWithin, send_time_wait
from workflows.engine.types import EmailAddress
from workflows.engine.windows import Window, window_opening

__all__ = ["SendEmail"]


@node_type(
    "send_email",
    kind="action",
    label="Send email",
    description="Send an email template to the contact; with a window, outside it wait for the next opening.",
)
class SendEmail(NodeType):
    presets = (
        Preset("send-email", "Send an email", "Send an email template to the contact.", "email",
               {"template_id": PLACEHOLDER_TEMPLATE},
               {"fill_in": f"Replace {PLACEHOLDER_TEMPLATE} with the id of an email template."}),
        Preset("send-email-business-hours", "Send in business hours",
               "Send an email template on weekdays between 09:00 and 17:00 in the contact's time zone.", "email",
               {"template_id": PLACEHOLDER_TEMPLATE,
                "window": {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00",
                           "timezone": "contact"}},
               {"fill_in": f"Replace {PLACEHOLDER_TEMPLATE} with the id of an email template."}),
    )
    # A mail server or ESP that is down usually comes back within the hour: retry longer, back off further.
    retry = RetryPolicy(max_attempts=8, base_seconds=60, cap_seconds=3 * 3600)
    references = (Reference("template_id", "templates.EmailTemplate", "email template", collection="templates"),)
    ports = ("email",)
    channel = "email"

    class Config(NodeConfig):
        template_id: str = Field(min_length=1, max_length=100)
        from_email: EmailAddress | None = None
        reply_to: EmailAddress | None = None
        window: Window | None = None
        send_time: SendTime = "immediate"
        send_within: SendWithin = "PT24H"
        track_opens: bool = True
        track_clicks: bool = True
        transactional: bool = Field(
            default=False, description="A message the contact asked for (a receipt, a password reset): "
            "exempt from the workspace's frequency caps, and not counted by them.")

    def run(self, ctx: StepContext, config: Config) -> Outcome:
        if (timing := send_time_wait(ctx, config, channel="email")) is not None:
            return timing  # the optimal moment is later (within the window, quiet hours and caps)
        # A resumed step was deferred to the window's opening: send now rather than re-check the clock edge.
        if config.window is not None and config.window.on_miss == "wait" and ctx.wait is None:
            opening = window_opening(ctx, config.window, ctx.now)
            if opening > ctx.now:
                return Wait(until=opening, detail={"outside_window": True, "until": opening.isoformat()})
        result = ctx.email.send(
            key=ctx.effect_key,
            node_id=ctx.node.id,
            template_id=config.template_id,
            contact_id=ctx.contact_id,
            from_email=config.from_email,
            reply_to=config.reply_to,
            track_opens=config.track_opens,
            track_clicks=config.track_clicks,
        )
        return Advance(
            detail={
                "template_id": config.template_id,
                "message_id": result.message_id,
                "status": result.status,
            }
        )
