"""The annotations the builder's side panel reads in `GET /api/v1/node-types` (pickers, window editor, Liquid
previews, signed durations), and `POST /api/v1/liquid/preview`, which renders a Liquid field for a contact."""

from __future__ import annotations

import jsonschema
import pytest

from tests.factories import ContactFactory
from workflows.engine.registry import registry


def _schema(type_name: str) -> dict:
    node_type = registry.get(type_name)
    assert node_type is not None
    return node_type.describe()["config_schema"]


@pytest.mark.parametrize(("type_name", "path", "collection"), [
    ("send_email", ("template_id",), "templates"),
    ("add_to_campaign", ("campaign_id",), "campaigns"),
    ("remove_from_campaign", ("campaign_id",), "campaigns"),
    ("trigger_segment", ("segment_id",), "segments"),
    ("enroll_in_workflow", ("workflow_id",), "workflows"),
    ("create_task", ("assignee_email",), "members"),
    ("notify", ("to",), "members"),
])
def test_each_reference_names_the_collection_its_picker_lists(type_name, path, collection):
    assert _schema(type_name)["properties"][path[0]]["x-reference"] == collection


def test_a_nested_reference_is_annotated_where_its_object_is_defined():
    schema = _schema("trigger_schedule")
    assert schema["$defs"]["Audience"]["properties"]["segment_id"]["x-reference"] == "segments"


@pytest.mark.parametrize(("type_name", "field", "title"), [
    ("send_email", "template_id", "Email template"),
    ("send_email", "from_email", "From email"),
    ("add_to_campaign", "campaign_id", "Campaign"),
    ("enroll_in_workflow", "workflow_id", "Workflow"),
    ("create_task", "assignee_email", "Assignee"),
    ("webhook", "timeout_s", "Timeout (seconds)"),
    ("webhook", "url", "URL"),
])
def test_fields_carry_the_labels_the_forms_show(type_name, field, title):
    assert _schema(type_name)["properties"][field]["title"] == title


def test_a_config_schema_has_no_class_name_for_a_title():
    assert {"title" in node_type.describe()["config_schema"] for node_type in registry} == {False}


def test_no_field_is_labelled_with_its_title_cased_key():
    """pydantic's default title ("Template Id", "Reply To") reads like a key: every field says it in words."""
    def properties(schema: dict):
        yield from (schema.get("properties") or {}).items()
        for nested in (schema.get("$defs") or {}).values():
            yield from (nested.get("properties") or {}).items()

    for node_type in registry:
        for key, prop in properties(node_type.describe()["config_schema"]):
            if "_" in key:
                assert prop.get("title") != key.replace("_", " ").title(), (node_type.type, key)


def test_every_declared_reference_is_annotated_on_its_property():
    for node_type in registry:
        schema = node_type.describe()["config_schema"]
        for reference in node_type.references:
            assert reference.collection, f"{node_type.type}: {reference.path} names no collection"
            node = schema
            *parents, leaf = reference.path.split(".")
            for key in parents:
                ref = node["properties"][key].get("$ref") or node["properties"][key]["anyOf"][0]["$ref"]
                node = schema["$defs"][ref.rsplit("/", 1)[-1]]
            assert node["properties"][leaf]["x-reference"] == reference.collection


def test_the_window_object_is_edited_by_the_window_editor():
    for type_name in ("send_email", "delay"):
        assert _schema(type_name)["$defs"]["Window"]["x-widget"] == "window"


@pytest.mark.parametrize(("type_name", "fields"), [
    ("notify", {"subject", "message"}),
    ("create_task", {"title", "description"}),
    ("webhook", {"url", "body"}),
    ("update_field", {"value"}),
])
def test_the_texts_rendered_with_liquid_are_marked(type_name, fields):
    properties = _schema(type_name)["properties"]
    assert {name for name, prop in properties.items() if prop.get("x-liquid")} == fields


def test_webhook_header_values_are_marked_liquid():
    assert _schema("webhook")["properties"]["headers"]["additionalProperties"] == {"type": "string", "x-liquid": True}


def test_only_the_date_field_offset_allows_a_negative_duration():
    signed = {
        (node_type.type, name)
        for node_type in registry
        for name, prop in node_type.describe()["config_schema"].get("properties", {}).items()
        if prop.get("x-allows-negative")
    }
    assert signed == {("trigger_date_field", "offset")}


def test_annotated_schemas_stay_valid_json_schema():
    for node_type in registry:
        jsonschema.Draft202012Validator.check_schema(node_type.describe()["config_schema"])


def test_the_api_serves_the_annotations(api):
    types = {entry["type"]: entry for entry in api.get("/api/v1/node-types").json()}
    assert types["send_email"]["config_schema"]["properties"]["template_id"]["x-reference"] == "templates"
    assert types["notify"]["config_schema"]["properties"]["subject"]["x-liquid"] is True


def test_liquid_preview_renders_a_text_for_the_contact(api, workspace):
    contact = ContactFactory(workspace=workspace, first_name="Ada", email="ada@example.com")
    response = api.post("/api/v1/liquid/preview", {
        "value": "Hot lead: {{ contact.first_name }} <{{ contact.email }}>", "contact_id": str(contact.pk)
    }, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"value": "Hot lead: Ada <ada@example.com>"}


def test_liquid_preview_renders_each_text_of_a_json_value(api, workspace):
    contact = ContactFactory(workspace=workspace, first_name="Ada")
    body = {"name": "{{ contact.first_name }}", "count": 2, "tags": ["{{ workspace.slug }}"], "none": None}
    response = api.post("/api/v1/liquid/preview", {"value": body, "contact_id": str(contact.pk)}, format="json")
    assert response.json() == {"value": {"name": "Ada", "count": 2, "tags": ["acme"], "none": None}}


def test_liquid_preview_says_in_words_what_does_not_render(api, workspace):
    contact = ContactFactory(workspace=workspace)
    response = api.post("/api/v1/liquid/preview", {"value": "Hi {{ contact.first_name ", "contact_id": str(contact.pk)},
                        format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "liquid_invalid" and error["message"].startswith("The Liquid cannot be rendered")


def test_liquid_preview_never_renders_another_workspace_contact(api, other_workspace):
    theirs = ContactFactory(workspace=other_workspace, first_name="Secret")
    response = api.post("/api/v1/liquid/preview", {"value": "{{ contact.first_name }}", "contact_id": str(theirs.pk)},
                        format="json")
    assert response.status_code == 404
    assert "Secret" not in response.content.decode()


@pytest.mark.parametrize("body", [{}, {"value": "x"}, {"value": "x", "contact_id": "nope"}])
def test_liquid_preview_refuses_bad_input_with_a_400(api, body):
    assert api.post("/api/v1/liquid/preview", body, format="json").status_code == 400


def test_annotation_keys_are_extension_keywords():
    # Validators ignore x- keys: a config valid before the annotations stays valid.
    jsonschema.validate({"subject": "Hi", "to": "workspace_admins"}, _schema("notify"))
