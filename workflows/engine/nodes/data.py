"""Steps whose answers feed later steps: an HTTP call and a lookup of the workspace's own data.

Both map their JSON answer into the enrollment's variables (``map: {var_name: "$.json.path"}``, paths per
``workflows.engine.variables``); later rules, expressions and templates read them as ``enrollment.vars.<name>``.
A path the answer does not have fails the step with the path and what the answer held there: mapping a guess
would let the next steps act on nothing. In test mode no call is made, so mapped variables are null and the
step says so.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import Field, field_validator

from workflows.engine.nodes.actions import LIQUID, Webhook
from workflows.engine.outcomes import Advance, Fail, Outcome
from workflows.engine.presets import Preset
from workflows.engine.registry import NodeConfig, NodeType, Reference, StepContext, node_type
from workflows.engine.variables import MAX_VARS, VAR_NAME, MissingPath, answer_mapped, path_problem, value_at

__all__ = ["LOOKUP_SOURCES", "HttpRequest", "Lookup"]

_CREDENTIAL = re.compile(r"\{\{-?\s*credential\b")

MAP_SCHEMA: dict[str, Any] = {
    "description": "Variables to write, each from a path of the JSON answer: {\"plan\": \"$.data.plan\"}. Read "
                   "them later as enrollment.vars.<name>.",
    "x-vars-map": True,
}


def _checked_map(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_VARS:
        raise ValueError(f"map at most {MAX_VARS} variables")
    for name, path in value.items():
        if not VAR_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a variable name: letters, digits and _, not starting with a digit")
        problem = path_problem(path)
        if problem:
            raise ValueError(f"the path of {name!r} ({path!r}) is invalid: {problem}")
    return value


def _simulated_value(answer: Any, path: str) -> Any:
    """A simulated answer is a stand-in: a path it lacks says nothing about the real answer, so it maps to null."""
    try:
        return value_at(answer, path)
    except MissingPath:
        return None


def _mapped(answer: Any, mapping: dict[str, str], *, simulated: bool, detail: dict[str, Any]) -> Outcome:
    """Advance with the mapped variables, or fail naming the path the answer lacks."""
    if not mapping:
        return Advance(detail=detail)
    if simulated:
        written = {name: _simulated_value(answer, path) for name, path in mapping.items()}
        return Advance(detail={**detail, "vars": written}, vars=written)
    try:
        written = answer_mapped(answer, mapping)
    except MissingPath as missing:
        reason = (f"The answer has no value at a mapped path ({missing}). Check the path against the answer "
                  "kept on this step, or make the other side always send it.")
        return Fail(reason, detail={**detail, "error": {"type": "MissingPath", "message": str(missing)}})
    return Advance(detail={**detail, "vars": written}, vars=written)


@node_type(
    "http_request",
    kind="action",
    label="HTTP request",
    description="Call an API and keep parts of its JSON answer as variables (enrollment.vars.<name>) for the "
                "next steps. Liquid in the URL, headers and body's strings; {{ credential }} in a header is "
                "the secret of the chosen credential. Sent with an Idempotency-Key derived from the step.",
)
class HttpRequest(NodeType):
    presets = (
        Preset("fetch-plan", "Fetch the contact's plan", "GET the contact's account from your API and keep its "
               "plan for a later condition.", "integration",
               {"url": "https://api.example.com/accounts?email={{ contact.email | url_encode }}",
                "method": "GET", "map": {"plan": "$.data.plan"}},
               {"fill_in": "Replace the URL and map the answer's fields you need. For an API that needs a token, "
                           "choose a credential and add the header Authorization: Bearer {{ credential }}."}),
    )
    # The webhook action's policy: the other side fails in bursts (deploys, rate limits).
    retry = Webhook.retry
    ports = ("http",)
    references = (Reference("credential_id", "workspaces.Credential", "credential", optional=True,
                            collection="credentials"),)

    class Config(Webhook.Config):
        method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
        map: dict[str, str] = Field(default_factory=dict, json_schema_extra=MAP_SCHEMA)
        credential_id: str | None = Field(
            default=None, max_length=100,
            description="A credential of the workspace (/api/v1/credentials): {{ credential }} in a header value "
                        "is its secret. It is sent in headers only and never kept on the step.")

        @field_validator("map")
        @classmethod
        def _valid_map(cls, value: dict[str, str]) -> dict[str, str]:
            return _checked_map(value)

    def problems(self, config: Config):
        in_headers = any(_CREDENTIAL.search(value) for value in config.headers.values())
        if in_headers and not config.credential_id:
            yield ("error", "credential_missing",
                   "A header uses {{ credential }} but no credential is chosen: set credential_id.")
        elsewhere = json.dumps([config.url, config.body, list(config.headers)])
        if _CREDENTIAL.search(elsewhere):
            yield ("error", "credential_outside_headers",
                   "{{ credential }} can be used in header values only (the URL and body are kept on the step).")

    def run(self, ctx: StepContext, config: Config) -> Outcome:
        answer = ctx.ports.http.request(
            key=ctx.effect_key,
            contact_id=ctx.contact_id,
            url=config.url,
            method=config.method,
            headers=dict(config.headers),
            body=config.body,
            credential_id=config.credential_id,
            timeout_s=config.timeout_s,
        )
        detail = {"url": config.url, "method": config.method, "status_code": answer.status_code, **answer.detail}
        if answer.simulated:
            detail["simulated"] = True
        elif config.map and answer.json_problem:
            return Fail(f"The answer cannot be mapped: {answer.json_problem}",
                        detail={**detail, "error": {"type": "AnswerNotJson", "message": answer.json_problem}})
        return _mapped(answer.json, dict(config.map), simulated=answer.simulated, detail=detail)


LOOKUP_SOURCES = ("recent_events", "campaigns", "contact")


@node_type(
    "lookup",
    kind="action",
    label="Look up",
    description="Read the workspace's own data into variables: the contact's recent events (key: an event "
                "type, optional), its campaigns, or another contact by email (key: a Liquid text). Answers: "
                "recent_events {count, events: [{type, properties, occurred_at}], last} (at most 20, newest "
                "first); campaigns {count, ids, campaigns: [{id, name, status, membership, joined_at}]}; contact "
                "{found, contact}.",
)
class Lookup(NodeType):
    presets = (
        Preset("lookup-last-order", "Last order", "Keep the contact's last order event for later steps.", "data",
               {"source": "recent_events", "key": "order.completed",
                "map": {"orders": "$.count", "last_order_total": "$.last.properties.total"}}),
        Preset("lookup-referrer", "Referrer's name", "Read the contact who referred this one.", "data",
               {"source": "contact", "key": "{{ contact.fields.referrer_email }}",
                "map": {"referrer_found": "$.found", "referrer_name": "$.contact.first_name"}},
               {"fill_in": "Use the field that holds the other contact's email."}),
    )
    ports = ("lookup",)

    class Config(NodeConfig):
        source: Literal["recent_events", "campaigns", "contact"] = Field(
            description="What to read: the contact's recent events, its campaigns, or another contact by email.")
        key: str | None = Field(
            default=None, max_length=500, json_schema_extra=LIQUID,
            description="recent_events: an event type (all types when empty); contact: the other contact's email "
                        "(Liquid, e.g. {{ contact.fields.referrer_email }}); campaigns: not used.")
        map: dict[str, str] = Field(min_length=1, json_schema_extra=MAP_SCHEMA)

        @field_validator("map")
        @classmethod
        def _valid_map(cls, value: dict[str, str]) -> dict[str, str]:
            return _checked_map(value)

    def problems(self, config: Config):
        if config.source == "contact" and not (config.key or "").strip():
            yield ("error", "lookup_key_missing", "A lookup of a contact needs key: the contact's email (Liquid).")

    def run(self, ctx: StepContext, config: Config) -> Outcome:
        answer = ctx.ports.lookup.lookup(
            key=ctx.effect_key, contact_id=ctx.contact_id, source=config.source, lookup_key=config.key
        )
        detail: dict[str, Any] = {"source": config.source, "key": config.key}
        if answer.simulated:
            detail["simulated"] = True
        return _mapped(answer.data, dict(config.map), simulated=answer.simulated, detail=detail)
