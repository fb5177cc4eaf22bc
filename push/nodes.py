"""Web push actions: a notification to every browser of the contact, inside a delivery window if one is set, and
outside the recipient's quiet hours (deferred to their end, or skipped when the step says so)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from workflows.engine.outcomes import Advance, Outcome, Wait
from workflows.engine.presets import Preset
from workflows.engine.quiet_hours import QuietPolicy, quiet_outcome
from workflows.engine.registry import NodeConfig, NodeType, RetryPolicy, StepContext, node_type
from workflows.engine.send_time import SendTime, SendWithin, send_time_wait
from workflows.engine.windows import Window, window_opening

__all__ = ["SendPush"]

LIQUID: dict[str, Any] = {"x-liquid": True}


def _http_url_or_liquid(value: str | None) -> str | None:
    """A URL of the config: http(s) with a host, unless Liquid writes its start (checked once rendered)."""
    if value is None or value.startswith("{"):
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


@node_type(
    "send_push",
    kind="action",
    label="Send push notification",
    description="Show a web push notification in every browser the contact allowed; a click opens the URL (and "
    "is recorded as push.clicked). Contacts without a browser or push consent are skipped; none is shown in "
    "their quiet hours.",
)
class SendPush(NodeType):
    presets = (
        Preset(
            "send-push",
            "Send a push notification",
            "Show a notification in the contact's browsers.",
            "push",
            {
                "title": "Hello {{ contact.first_name | default: 'there' }}",
                "body": "Something new for you.",
                "url": "https://example.com/",
            },
            {"fill_in": "Write the title and text, and the page a click opens."},
        ),
    )
    # Push services recover quickly; delivery retries by itself, so the step retries only what failed to store.
    retry = RetryPolicy(max_attempts=5, base_seconds=30, cap_seconds=900)
    ports = ("push",)
    channel = "push"

    class Config(NodeConfig):
        title: str = Field(min_length=1, max_length=200, json_schema_extra=LIQUID)
        body: str = Field(default="", max_length=1000, json_schema_extra=LIQUID)
        url: str | None = Field(
            default=None,
            max_length=2000,
            title="URL",
            json_schema_extra=LIQUID,
            description="The page a click opens (through a tracked link).",
        )
        icon: str | None = Field(default=None, max_length=2000, title="Icon URL", json_schema_extra=LIQUID)
        window: Window | None = None
        send_time: SendTime = "immediate"
        send_within: SendWithin = "PT24H"
        transactional: bool = Field(
            default=False, description="Exempt from frequency caps (receipts, alerts)."
        )
        topic: str | None = Field(
            default=None,
            max_length=64,
            description="The subscription topic: contacts who opted out of it are skipped.",
        )
        quiet_hours: QuietPolicy = Field(
            default="defer",
            description="In the recipient's quiet hours: wait for their end (defer), or go on without sending "
            "(skip; in a Send message step, the next channel is tried)",
        )

        @field_validator("url", "icon")
        @classmethod
        def _urls(cls, value: str | None) -> str | None:
            return _http_url_or_liquid(value)

    def run(self, ctx: StepContext, config: Config) -> Outcome:
        if (timing := send_time_wait(ctx, config, channel="push")) is not None:
            return timing  # the optimal moment is later (within the window, quiet hours and caps)
        if config.window is not None and config.window.on_miss == "wait" and ctx.wait is None:
            opening = window_opening(ctx, config.window, ctx.now)
            if opening > ctx.now:
                return Wait(until=opening, detail={"outside_window": True, "until": opening.isoformat()})
        result = ctx.ports.push.send(
            key=ctx.effect_key, node_id=ctx.node.id, contact_id=ctx.contact_id, title=config.title,
            body=config.body, url=config.url, icon=config.icon, topic=config.topic, check_quiet_hours=True,
        )  # fmt: skip
        if result.status == "deferred":
            return quiet_outcome(config.quiet_hours, result.detail)
        return Advance(detail={"message_id": result.message_id, "status": result.status, **result.detail})
