"""Email actions: send a template to the contact, inside a delivery window if one is set."""

from __future__ import annotations

import random
from typing import Any, Literal

from pydantic import Field, model_validator

from workflows.engine.content import choose_template, top_topic
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
        template_ids: list[str] | None = Field(
            default=None, min_length=2, max_length=5, title="Candidate templates",
            # Picked like template_id, from the workspace's templates (the builder's reference picker, several).
            json_schema_extra={"x-reference": "templates"},
            description="Candidate templates (2-5, template_id among them): each contact gets the one with the "
            "best predicted engagement (see choose).")
        choose: Literal["best_for_contact"] = Field(
            default="best_for_contact", description="How a candidate is picked: best_for_contact, the best "
            "click rate among contacts who share the contact's top topic (else among all), by Thompson sampling.")
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

        @model_validator(mode="after")
        def _candidates(self):
            if self.template_ids is not None:
                if len(set(self.template_ids)) != len(self.template_ids) or not all(self.template_ids):
                    raise ValueError("template_ids must name different templates")
                if self.template_id not in self.template_ids:
                    raise ValueError("template_id must be one of template_ids (it is the candidate previews show)")
            return self

    def run(self, ctx: StepContext, config: Config) -> Outcome:
        if (timing := send_time_wait(ctx, config, channel="email")) is not None:
            return timing  # the optimal moment is later (within the window, quiet hours and caps)
        # A resumed step was deferred to the window's opening: send now rather than re-check the clock edge.
        if config.window is not None and config.window.on_miss == "wait" and ctx.wait is None:
            opening = window_opening(ctx, config.window, ctx.now)
            if opening > ctx.now:
                return Wait(until=opening, detail={"outside_window": True, "until": opening.isoformat()})
        template_id, choice = config.template_id, None
        if config.template_ids:
            template_id, choice = _choose(ctx, config.template_ids)
        result = ctx.email.send(
            key=ctx.effect_key,
            node_id=ctx.node.id,
            template_id=template_id,
            contact_id=ctx.contact_id,
            from_email=config.from_email,
            reply_to=config.reply_to,
            track_opens=config.track_opens,
            track_clicks=config.track_clicks,
        )
        detail: dict[str, Any] = {"template_id": template_id, "message_id": result.message_id, "status": result.status}
        if choice is not None:
            detail["content_choice"] = choice
        return Advance(detail=detail)


def _choose(ctx: StepContext, candidates: list[str]) -> tuple[str, dict[str, Any]]:
    """Return the candidate for this contact and the step log's account of why. Seeded by the enrollment and the
    effect key, and recorded once per key: a retry sends what the first try chose."""
    topic = top_topic(ctx.contact)
    by_topic, overall = ctx.ports.optimization.content_stats(node_id=ctx.node.id, topic=topic)
    choice = choose_template(candidates, topic=topic, by_topic=by_topic, overall=overall,
                             rng=random.Random(f"{ctx.seed}:{ctx.effect_key}:content"))
    recorded = ctx.ports.optimization.content_choice_record(
        key=ctx.effect_key, node_id=ctx.node.id, template_id=choice.template_id, topic=topic
    )
    detail = choice.as_detail()
    if recorded != choice.template_id:
        detail.update(template_id=recorded, reason=f"{recorded}: chosen by an earlier try of this step.")
    return recorded, detail
