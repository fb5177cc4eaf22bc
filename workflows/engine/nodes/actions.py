"""Workflow-side actions: tasks for people, notifications, outbound webhooks, enrollment in another workflow.

They act only through the engine's ports, so they live with the engine's own node types; the domain actions
(tags, fields, campaigns, email) live in the apps that own what they change.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, WithJsonSchema, field_validator

from workflows.engine.durations import parse_duration
from workflows.engine.outcomes import Advance, Outcome
from workflows.engine.presets import PLACEHOLDER_WORKFLOW, Preset
from workflows.engine.registry import NodeConfig, NodeType, Reference, RetryPolicy, StepContext, node_type
from workflows.engine.types import Duration, EmailAddress

__all__ = ["RESERVED_WEBHOOK_HEADERS", "CreateTask", "EnrollInWorkflow", "Notify", "Webhook", "webhook_header_problem"]

# Schema annotations the builder reads (JSON Schema extension keywords): a text rendered with Liquid for the
# contact (the builder previews it), and a value naming people of the workspace (a picker of /api/v1/members).
LIQUID: dict[str, Any] = {"x-liquid": True}
MEMBERS: dict[str, Any] = {"x-reference": "members"}
LiquidText = Annotated[str, WithJsonSchema({"type": "string", "x-liquid": True})]

# Notifications and outbound webhooks ship their side effects with a later issue.
NOT_YET = "its side effects ship with a later PenguinFlow version"


@node_type(
    "create_task",
    kind="action",
    label="Create task",
    description="Create a task for a person on the team (e.g. 'Call this lead'), optionally due after a while.",
)
class CreateTask(NodeType):
    presets = (
        Preset("create-task-call", "Call the lead", "Create a task for a salesperson to call the contact.",
               "team", {"title": "Call {{ contact.first_name }}", "assignee_email": "sales@example.com",
                        "due_in": "P1D"},
               {"fill_in": "Replace the assignee with a team member's address."}),
    )
    ports = ("tasks",)

    class Config(NodeConfig):
        title: str = Field(min_length=1, max_length=200, json_schema_extra=LIQUID)
        description: str = Field(default="", max_length=10_000, json_schema_extra=LIQUID)
        assignee_email: EmailAddress | None = Field(default=None, title="Assignee", json_schema_extra=MEMBERS)
        due_in: Duration | None = None

    def run(self, ctx: StepContext, config: Config) -> Outcome:
        due_at = ctx.now + parse_duration(config.due_in) if config.due_in else None
        task_id = ctx.tasks.create_task(
            key=ctx.effect_key,
            contact_id=ctx.contact_id,
            title=config.title,
            description=config.description,
            assignee_email=config.assignee_email,
            due_at=due_at,
        )
        return Advance(
            detail={
                "task_id": task_id,
                "title": config.title,
                "due_at": due_at.isoformat() if due_at else None,
            }
        )


@node_type(
    "notify",
    kind="action",
    label="Notify",
    description="Email a notification to people on the team (a list of addresses, or the workspace admins).",
)
class Notify(NodeType):
    presets = (
        Preset("notify-admins", "Notify the admins", "Email the workspace admins about the contact.", "team",
               {"to": "workspace_admins", "subject": "Hot lead: {{ contact.email }}"}),
    )
    ports = ("notify",)

    class Config(NodeConfig):
        to: list[EmailAddress] | Literal["workspace_admins"] = Field(
            description="Email addresses, or 'workspace_admins'", json_schema_extra=MEMBERS
        )
        subject: str = Field(min_length=1, max_length=200, json_schema_extra=LIQUID)
        message: str = Field(default="", max_length=10_000, json_schema_extra=LIQUID)

        @field_validator("to")
        @classmethod
        def _someone(cls, value: Any) -> Any:
            if isinstance(value, list) and not 1 <= len(value) <= 50:
                raise ValueError("give between 1 and 50 addresses")
            return value

    def run(self, ctx: StepContext, config: Config) -> Outcome:
        to = config.to if isinstance(config.to, str) else list(config.to)
        sent = ctx.notifications.notify(
            key=ctx.effect_key,
            contact_id=ctx.contact_id,
            to=to,
            subject=config.subject,
            message=config.message,
        )
        # `to` as configured ("workspace_admins" stays so); `recipients` whom it went to at run time.
        return Advance(detail={"to": to, "recipients": sent["to"], "subject": sent["subject"],
                               "message_ids": sent["message_ids"]})


# Headers the webhook sets itself: the signature's (a config must not forge or drop them), and those that frame
# the HTTP message or the connection (overriding them would let a config smuggle a second request).
RESERVED_WEBHOOK_HEADERS = frozenset({
    "webhook-id", "webhook-timestamp", "webhook-signature", "host", "content-length", "transfer-encoding",
    "connection", "keep-alive", "te", "trailer", "upgrade", "expect", "proxy-authorization", "proxy-connection",
})
# RFC 9110 token characters: what a header name may hold.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def webhook_header_problem(name: str, value: str) -> str | None:
    """Why a header (as written, or as rendered) cannot be sent, or None."""
    if not _HEADER_NAME.fullmatch(name):
        return f"the header name {name!r} is not a valid HTTP header name"
    if name.lower() in RESERVED_WEBHOOK_HEADERS:
        return f"the header {name!r} is set by PenguinFlow and cannot be given"
    if any(char in value for char in "\r\n\x00"):
        return f"the value of header {name!r} contains a line break or NUL"
    try:
        value.encode("latin-1")  # what HTTP/1.1 header values can carry
    except UnicodeEncodeError:
        return f"the value of header {name!r} has characters a header cannot carry (percent-encode them)"
    return None


@node_type(
    "webhook",
    kind="action",
    label="Webhook",
    description="Call an external URL (signed per Standard Webhooks); Liquid in the URL, headers and body's "
                "strings. The answer (status, headers, up to 64 KiB of body) is kept on the step.",
)
class Webhook(NodeType):
    presets = (
        Preset("post-to-crm", "Send to a CRM", "POST the contact to another system's URL.", "integration",
               {"url": "https://crm.example.com/hooks/penguinflow", "method": "POST",
                "body": {"email": "{{ contact.email }}"}},
               {"fill_in": "Replace the URL with the receiving system's endpoint."}),
    )
    # Receivers fail in bursts (deploys, rate limits): six tries over about half an hour.
    retry = RetryPolicy(max_attempts=6, base_seconds=30, cap_seconds=900)
    ports = ("webhooks",)

    class Config(NodeConfig):
        url: str = Field(min_length=8, max_length=2000, title="URL", json_schema_extra=LIQUID)
        method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
        headers: dict[str, LiquidText] = Field(default_factory=dict, max_length=50)
        body: Any = Field(default=None, json_schema_extra=LIQUID)
        timeout_s: int = Field(default=10, ge=1, le=30, title="Timeout (seconds)")

        @field_validator("url")
        @classmethod
        def _http_url(cls, value: str) -> str:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("must be an http:// or https:// URL with a host")
            return value

        @field_validator("headers")
        @classmethod
        def _sendable_headers(cls, value: dict[str, str]) -> dict[str, str]:
            for name, text in value.items():
                if "{" in name:
                    continue  # a Liquid name is checked once rendered
                problem = webhook_header_problem(name, text)
                if problem:
                    raise ValueError(problem)
            return value

    def run(self, ctx: StepContext, config: Config) -> Outcome:
        result = ctx.webhooks.call(
            key=ctx.effect_key,
            contact_id=ctx.contact_id,
            url=config.url,
            method=config.method,
            headers=dict(config.headers),
            body=config.body,
            timeout_s=config.timeout_s,
        )
        return Advance(detail={"url": config.url, "method": config.method, "status_code": result.status_code,
                               **result.detail})


@node_type(
    "enroll_in_workflow",
    kind="action",
    label="Enroll in workflow",
    description="Enroll the contact in another workflow (its own re-enrollment rules apply).",
)
class EnrollInWorkflow(NodeType):
    presets = (
        Preset("enroll-in-workflow", "Start another workflow", "Enroll the contact in another workflow.",
               "workflow", {"workflow_id": PLACEHOLDER_WORKFLOW},
               {"fill_in": f"Replace {PLACEHOLDER_WORKFLOW} with the id of a workflow."}),
    )
    references = (Reference("workflow_id", "workflows.Workflow", "workflow", collection="workflows"),)
    ports = ("workflows",)

    class Config(NodeConfig):
        workflow_id: str = Field(min_length=1, max_length=100)

    def run(self, ctx: StepContext, config: Config) -> Outcome:
        enrolled = ctx.workflows.enroll(
            key=ctx.effect_key, contact_id=ctx.contact_id, workflow_id=config.workflow_id
        )
        return Advance(detail={"workflow_id": config.workflow_id, "enrolled": bool(enrolled)})
