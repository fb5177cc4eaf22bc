"""Contact actions: tags, fields, status and score.

Each action calls the ContactsPort with the step's effect key, then mirrors the change into the contact data the
enrollment is running with, so that later conditions of the same run see it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from workflows.engine.outcomes import Advance, Outcome
from workflows.engine.presets import Preset
from workflows.engine.registry import NodeConfig, NodeType, RetryPolicy, StepContext, node_type

__all__ = ["AddTag", "ChangeStatus", "RemoveTag", "UpdateField", "UpdateScore"]

# Contact attributes that update_field changes in place; any other name is a custom field (contact.fields).
CONTACT_ATTRIBUTES = ("first_name", "last_name", "timezone", "external_id")


# Contact actions write inside the batch's own transaction: what fails transiently there passes within seconds.
CONTACT_RETRY = RetryPolicy(max_attempts=3, base_seconds=5, cap_seconds=60)


class TagConfig(NodeConfig):
    tag: str = Field(min_length=1, max_length=64)


@node_type("add_tag", kind="action", label="Add tag", description="Add a tag to the contact.")
class AddTag(NodeType):
    presets = (
        Preset("add-tag", "Tag the contact", "Add a tag, e.g. to mark a lead as engaged.", "contact",
               {"tag": "engaged"}, {"fill_in": "Replace 'engaged' with the tag."}),
    )
    retry = CONTACT_RETRY
    ports = ("contacts",)
    Config = TagConfig

    def run(self, ctx: StepContext, config: TagConfig) -> Outcome:
        ctx.contacts.add_tag(key=ctx.effect_key, contact_id=ctx.contact_id, tag=config.tag)
        tags = ctx.contact.setdefault("tags", [])
        if config.tag not in tags:
            tags.append(config.tag)
        return Advance(detail={"tag": config.tag})


@node_type("remove_tag", kind="action", label="Remove tag", description="Remove a tag from the contact.")
class RemoveTag(NodeType):
    presets = (
        Preset("remove-tag", "Untag the contact", "Remove a tag, e.g. once a trial has ended.", "contact",
               {"tag": "trial"}, {"fill_in": "Replace 'trial' with the tag."}),
    )
    retry = CONTACT_RETRY
    ports = ("contacts",)
    Config = TagConfig

    def run(self, ctx: StepContext, config: TagConfig) -> Outcome:
        ctx.contacts.remove_tag(key=ctx.effect_key, contact_id=ctx.contact_id, tag=config.tag)
        tags = ctx.contact.get("tags") or []
        if config.tag in tags:
            tags.remove(config.tag)
        return Advance(detail={"tag": config.tag})


@node_type(
    "update_field",
    kind="action",
    label="Update field",
    description=(
        "Set, increment or unset a contact field (first_name, last_name, timezone, external_id, or a custom "
        "field). A text value may use Liquid, e.g. '{{ event.properties.plan }}'."
    ),
)
class UpdateField(NodeType):
    presets = (
        Preset("set-field", "Set a field", "Set a contact field, here from the triggering event.", "contact",
               {"field": "plan", "value": "{{ event.properties.plan }}", "op": "set"},
               {"fill_in": "Replace 'plan' with the field and the value with a text (Liquid allowed)."}),
        Preset("increment-field", "Count in a field", "Add one to a number field, e.g. to count purchases.",
               "contact", {"field": "purchases", "value": 1, "op": "increment"},
               {"fill_in": "Replace 'purchases' with a number field."}),
        Preset("clear-field", "Clear a field", "Remove a field's value from the contact.", "contact",
               {"field": "trial_ends_on", "op": "unset"}, {"fill_in": "Replace 'trial_ends_on' with the field."}),
    )
    retry = CONTACT_RETRY
    ports = ("contacts",)
    class Config(NodeConfig):
        field: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
        # A text value is rendered with Liquid for the contact (LiveContacts._render); numbers are kept as given.
        value: Any = Field(default=None, json_schema_extra={"x-liquid": True})
        op: Literal["set", "increment", "unset"] = Field(default="set", title="Operation")

        @model_validator(mode="after")
        def _value_fits_op(self) -> UpdateField.Config:
            if self.op == "set" and self.value is None:
                raise ValueError("'set' needs a value (use op 'unset' to clear the field)")
            if self.op == "increment" and (
                isinstance(self.value, bool) or not isinstance(self.value, (int, float))
            ):
                raise ValueError("'increment' needs a number as value")
            return self

    def run(self, ctx: StepContext, config: Config) -> Outcome:
        stored = ctx.contacts.update_field(
            key=ctx.effect_key,
            contact_id=ctx.contact_id,
            field=config.field,
            value=config.value,
            op=config.op,
        )
        target = ctx.contact if config.field in CONTACT_ATTRIBUTES else ctx.contact.setdefault("fields", {})
        if config.op == "unset":
            target.pop(config.field, None)
        else:
            target[config.field] = stored
        return Advance(detail={"field": config.field, "op": config.op, "value": stored})


@node_type("change_status", kind="action", label="Change status", description="Change the contact's status.")
class ChangeStatus(NodeType):
    presets = (
        Preset("unsubscribe", "Unsubscribe the contact", "Stop all marketing email to the contact.", "contact",
               {"status": "unsubscribed"}),
    )
    retry = CONTACT_RETRY
    ports = ("contacts",)
    class Config(NodeConfig):
        status: Literal["subscribed", "unsubscribed", "bounced", "complained"]

    def run(self, ctx: StepContext, config: Config) -> Outcome:
        ctx.contacts.change_status(key=ctx.effect_key, contact_id=ctx.contact_id, status=config.status)
        previous = ctx.contact.get("status")
        ctx.contact["status"] = config.status
        return Advance(detail={"status": config.status, "previous": previous})


@node_type(
    "update_score",
    kind="action",
    label="Update score",
    description="Add to the contact's score (delta, may be negative) or set it.",
)
class UpdateScore(NodeType):
    presets = (
        Preset("add-score", "Add to the score", "Add 10 points to the contact's score.", "contact",
               {"delta": 10}, {"fill_in": "Change 10 (a negative number lowers the score)."}),
        Preset("reset-score", "Reset the score", "Set the contact's score back to 0.", "contact", {"set": 0}),
    )
    retry = CONTACT_RETRY
    ports = ("contacts",)
    class Config(NodeConfig):
        delta: int | None = Field(default=None, ge=-1_000_000, le=1_000_000, title="Change by")
        set_to: int | None = Field(default=None, alias="set", ge=-1_000_000, le=1_000_000)

        @model_validator(mode="after")
        def _exactly_one(self) -> UpdateScore.Config:
            if (self.delta is None) == (self.set_to is None):
                raise ValueError("give exactly one of 'delta' or 'set'")
            return self

    def run(self, ctx: StepContext, config: Config) -> Outcome:
        score = ctx.contacts.update_score(
            key=ctx.effect_key, contact_id=ctx.contact_id, delta=config.delta, set_to=config.set_to
        )
        previous = ctx.contact.get("score")
        ctx.contact["score"] = score
        return Advance(detail={"score": score, "previous": previous})
