"""`crm_create` and `crm_update`: write the contact (or a deal) into the workspace's CRM (HubSpot, Salesforce or
Pipedrive, through a connector of /api/v1/connectors).

`fields` maps the CRM's own field names to Liquid texts over the contact and the enrollment, e.g. HubSpot
``{"email": "{{ contact.email }}", "firstname": "{{ contact.first_name }}"}``, Salesforce
``{"Email": ..., "LastName": ...}``, Pipedrive ``{"name": ..., "email": ...}``.

What the step keeps: the record's id and its address in the CRM, on the step and in the enrollment's variables,
``crm_contact_id`` / ``crm_contact_url`` (``crm_deal_id`` / ``crm_deal_url`` for a deal), or ``<variable>`` /
``<variable>_url`` when the step names its own variable. Later steps read ``enrollment.vars.crm_contact_id``.

Which record `crm_update` changes, in this order: the id in the enrollment variable (``variable``, by default
``crm_<object>_id``, as an earlier crm_create or crm_update of the enrollment wrote it); otherwise, for a
contact only, the CRM's contact with the contact's email (found by a search in the CRM; none found fails the
step saying so). A deal without a stored id fails the step: deals have no key a contact shares.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema, field_validator

from connectors.kinds import CATEGORY_CRM, KINDS
from workflows.engine.nodes.actions import Webhook
from workflows.engine.outcomes import Advance, Fail, Outcome
from workflows.engine.presets import Preset
from workflows.engine.registry import NodeConfig, NodeType, Reference, StepContext, node_type
from workflows.engine.variables import VAR_NAME

__all__ = ["CRM_OBJECTS", "CrmCreate", "CrmUpdate", "id_variable", "url_variable"]

CRM_OBJECTS = ("contact", "deal")
PLACEHOLDER_CONNECTOR = "<connector-id>"
_FILL_IN = {"fill_in": "Choose your CRM connector and use your CRM's field names (HubSpot: email, firstname, "
                       "dealstage; Salesforce: Email, LastName, StageName; Pipedrive: name, email, stage_id)."}
MAX_FIELDS = 50
LiquidText = Annotated[str, WithJsonSchema({"type": "string", "x-liquid": True, "maxLength": 2000})]
CONNECTOR = Reference("connector_id", "connectors.Connector", "CRM connector", collection="connectors",
                      where=(("kind__in", tuple(key for key, kind in KINDS.items() if kind.category == CATEGORY_CRM)),),
                      unfit="it is a social account; choose a CRM connector (HubSpot, Salesforce or Pipedrive).")


def id_variable(object_name: str, variable: str | None) -> str:
    """The enrollment variable that holds the record's id: the step's own name, or ``crm_<object>_id``."""
    return variable or f"crm_{object_name}_id"


def url_variable(object_name: str, variable: str | None) -> str:
    """The enrollment variable that holds the record's URL: ``<variable>_url``, or ``crm_<object>_url``."""
    return f"{variable}_url" if variable else f"crm_{object_name}_url"


class CrmConfig(NodeConfig):
    connector_id: str = Field(min_length=1, max_length=100,
                              description="A CRM connector of the workspace (/api/v1/connectors): HubSpot, "
                                          "Salesforce or Pipedrive.")
    object: Literal["contact", "deal"] = Field(
        default="contact", description="What to write: a contact (a Pipedrive person) or a deal (a Salesforce "
                                       "opportunity).")
    fields: dict[str, LiquidText] = Field(
        min_length=1, max_length=MAX_FIELDS,
        description="The CRM's field names and their values, Liquid over the contact: {\"email\": "
                    "\"{{ contact.email }}\", \"firstname\": \"{{ contact.first_name }}\"}.")
    variable: str | None = Field(
        default=None, max_length=64,
        description="The enrollment variable that holds the record's id (its address in <variable>_url); "
                    "crm_contact_id or crm_deal_id when empty.")

    @field_validator("fields")
    @classmethod
    def _field_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not name.strip() or len(name) > 100 or "{" in name:
                raise ValueError(f"{name!r} is not a CRM field name: a name of 1 to 100 characters, no Liquid")
        return value

    @field_validator("variable")
    @classmethod
    def _variable_name(cls, value: str | None) -> str | None:
        if value and not VAR_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not a variable name: letters, digits and _, not starting with a digit")
        return value or None


def _written(ctx: StepContext, config: CrmConfig, *, create: bool, record_id: str | None) -> Outcome:
    result = ctx.ports.crm.write(key=ctx.effect_key, contact_id=ctx.contact_id, connector_id=config.connector_id,
                                 object=config.object, fields=dict(config.fields), record_id=record_id,
                                 create=create)
    detail: dict[str, Any] = {"connector_id": config.connector_id, "object": config.object,
                              "record_id": result.record_id, "url": result.url, **result.detail}
    if result.simulated:
        detail["simulated"] = True
    written = {id_variable(config.object, config.variable): result.record_id,
               url_variable(config.object, config.variable): result.url}
    return Advance(detail={**detail, "vars": written}, vars=written)


_RETRY = Webhook.retry  # CRMs fail as receivers do: rate limits (429 with Retry-After) and outages in bursts.


@node_type(
    "crm_create",
    kind="action",
    label="Create in CRM",
    description="Create a contact or a deal in the workspace's CRM (HubSpot, Salesforce, Pipedrive), its fields "
                "mapped from the contact with Liquid. The record's id and URL go to the step and to "
                "enrollment.vars.crm_contact_id / crm_contact_url (crm_deal_… for a deal, or the variable named).",
)
class CrmCreate(NodeType):
    presets = (
        Preset("crm-create-contact", "Create the contact in the CRM", "Copy the contact into your CRM; its id "
               "is kept as enrollment.vars.crm_contact_id.", "integration",
               {"connector_id": PLACEHOLDER_CONNECTOR, "object": "contact",
                "fields": {"email": "{{ contact.email }}", "firstname": "{{ contact.first_name }}",
                           "lastname": "{{ contact.last_name }}"}}, _FILL_IN),
    )
    retry = _RETRY
    ports = ("crm",)
    references = (CONNECTOR,)
    Config = CrmConfig

    def run(self, ctx: StepContext, config: CrmConfig) -> Outcome:
        return _written(ctx, config, create=True, record_id=None)


@node_type(
    "crm_update",
    kind="action",
    label="Update in CRM",
    description="Update a contact or a deal in the workspace's CRM. The record: the id an earlier CRM step of "
                "the enrollment stored (enrollment.vars.crm_contact_id / crm_deal_id, or the variable named); "
                "otherwise, for a contact, the CRM's contact with the contact's email.",
)
class CrmUpdate(NodeType):
    presets = (
        Preset("crm-update-contact", "Update the contact in the CRM", "Mark the contact as a customer in your "
               "CRM (found by the id stored earlier, or by email).", "integration",
               {"connector_id": PLACEHOLDER_CONNECTOR, "object": "contact",
                "fields": {"lifecyclestage": "customer"}}, _FILL_IN),
    )
    retry = _RETRY
    ports = ("crm",)
    references = (CONNECTOR,)
    Config = CrmConfig

    def run(self, ctx: StepContext, config: CrmConfig) -> Outcome:
        stored = ctx.vars.get(id_variable(config.object, config.variable))
        if stored in (None, "") and config.object == "deal":
            name = id_variable(config.object, config.variable)
            return Fail(f"No deal to update: enrollment.vars.{name} is empty. Put a crm_create of the deal (or a "
                        "step that stores its id in that variable) before this step.",
                        detail={"error": {"type": "NoRecordId", "message": f"{name} is empty"}})
        return _written(ctx, config, create=False, record_id=None if stored in (None, "") else str(stored))
