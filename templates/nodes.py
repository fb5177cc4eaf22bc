"""Email actions: send a template to the contact, inside a delivery window if one is set."""

from __future__ import annotations

from pydantic import Field

from workflows.engine.outcomes import Advance, Outcome, Wait
from workflows.engine.registry import NodeConfig, NodeType, Reference, RetryPolicy, StepContext, node_type
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
    # A mail server or ESP that is down usually comes back within the hour: retry longer, back off further.
    retry = RetryPolicy(max_attempts=8, base_seconds=60, cap_seconds=3 * 3600)
    references = (Reference("template_id", "templates.EmailTemplate", "email template"),)
    ports = ("email",)

    class Config(NodeConfig):
        template_id: str = Field(min_length=1, max_length=100)
        from_email: EmailAddress | None = None
        reply_to: EmailAddress | None = None
        window: Window | None = None
        track_opens: bool = True
        track_clicks: bool = True

    def run(self, ctx: StepContext, config: Config) -> Outcome:
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
