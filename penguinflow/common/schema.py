"""The OpenAPI schema (drf-spectacular): our auth classes, the contract's error body, and the error answers.

The schema is the API: clients generate their types from it and a fuzz test (tests/api/test_schema_fuzz.py)
holds the app to it. So every operation lists each error status it can really answer, with the contract's
error body (CONTRACT §2) as the `Error` component:

- the ones every DRF view can answer follow from the operation's own shape (`AutoSchema.error_statuses`);
- the ones only a service knows about (409 on a stale revision, 422 on an invalid publish) are declared on the
  view with `error_responses(...)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import available_timezones

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from penguinflow.common.validators import is_valid_timezone


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "penguinflow.common.auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A workspace API key: `Authorization: Bearer <key>`."}


class SessionAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "penguinflow.common.auth.WorkspaceSessionAuthentication"
    name = "session"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid", "description": "The admin's session login."}


# --- the error body --------------------------------------------------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="A stable snake_case code, e.g. `validation_error`, `not_found`.")
    message = serializers.CharField(help_text="A sentence for a person: what happened and what to do next.")
    details = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        help_text="For validation errors, field paths (`graph.nodes[0].id`) mapped to messages; otherwise "
                  "facts about the error (`limit_bytes`, `current_revision`, `errors`).",
    )


class ErrorSerializer(serializers.Serializer):
    """`{"error": {"code", "message", "details"}}`: every 4xx and 5xx of the API (CONTRACT §2)."""

    error = ErrorDetailSerializer()


ERROR_DESCRIPTIONS = {
    400: "Malformed JSON, or a request that failed validation: `details` maps field paths to messages.",
    401: "Missing or invalid API key (or no session).",
    403: "Logged in, but the session's role in the workspace does not allow this, or the API key lacks the "
         "scope the request needs (`insufficient_scope`; `details.required_scope` names it).",
    404: "Not found, or not in your workspace.",
    406: "The `Accept` header rules out JSON, the only format this API answers in.",
    409: "Conflict with the current state (a duplicate, a stale revision, a transition not allowed now), or an "
         "`Idempotency-Key` already used for another request (`idempotency_key_reused`) or still running "
         "(`idempotency_key_in_use`).",
    413: "The body is over this endpoint's size limit (`details.limit_bytes`).",
    415: "The body is not `application/json`.",
    422: "Well-formed, but not allowed now: `details` says why.",
    429: "Throttled: retry after the `Retry-After` header's seconds.",
}


def error_response(status: int, description: str | None = None) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description or ERROR_DESCRIPTIONS[status])


def error_responses(*statuses: int, descriptions: dict[int, str] | None = None) -> dict[int, OpenApiResponse]:
    """Declare the error statuses only a view's service knows about, e.g. `error_responses(409, 422)`."""
    descriptions = descriptions or {}
    return {status: error_response(status, descriptions.get(status)) for status in statuses}


IDEMPOTENCY_KEY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    "description": "Run this change at most once (kept 24 hours, per API key): a repeat with the same method, "
                   "path and body answers the first answer (header `Idempotent-Replayed: true`) without running "
                   "again; the same key with another body is a 409. Printable ASCII without spaces, e.g. a UUID.",
}


class AutoSchema(SpectacularAutoSchema):
    """Add to each operation the error answers it can give, with the contract's error body.

    A view may replace the derived set with `error_statuses = {"POST": {...}}` when it answers outside DRF's
    machinery (the events ingestion view), and name hand-written components in `schema_components` (for bodies
    no serializer describes, or functions that build them) that its `extend_schema` then `$ref`s.
    """

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        for name, component in getattr(self.view, "schema_components", {}).items():
            register_component(self, name, component)
        if self.honours_idempotency_key():
            operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY_PARAMETER)
        responses = operation["responses"]
        for status in sorted(self.error_statuses(operation)):
            responses.setdefault(str(status), self._get_response_for_code(error_response(status), str(status)))
        for code, response in responses.items():
            if code.isdigit() and int(code) in ERROR_DESCRIPTIONS and not response.get("description"):
                response["description"] = ERROR_DESCRIPTIONS[int(code)]
        operation["responses"] = dict(sorted(responses.items()))
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and parameter.get("schema", {}).get("type") == "string":
                # Filters read `?status=` as "no filter" (django-filter's rule, kept by the hand-written ones).
                parameter["allowEmptyValue"] = True
        return operation

    def _get_request_for_media_type(self, serializer, direction="request"):
        schema, required = super()._get_request_for_media_type(serializer, direction)
        if isinstance(serializer, dict):
            # A hand-written body is required when an empty one would not do (drf-spectacular says never).
            required = bool({"required", "oneOf", "anyOf"} & set(self._hand_written(schema)))
        return schema, required

    def _hand_written(self, schema: dict[str, Any]) -> dict[str, Any]:
        if "$ref" not in schema:
            return schema
        component = getattr(self.view, "schema_components", {}).get(schema["$ref"].rsplit("/", 1)[1], {})
        return component() if callable(component) else component

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (direction == "request" and isinstance(field, serializers.CharField) and field.trim_whitespace
                and not field.allow_blank and schema.get("type") == "string"
                and not {"pattern", "format", "enum"} & set(schema)):
            # DRF trims the value before it refuses a blank one: "  " is as blank as "".
            schema["pattern"] = r"\S"
        return schema

    def honours_idempotency_key(self) -> bool:
        """Whether `penguinflow.common.idempotency` applies: a change under /api/v1/ by an authenticated sender."""
        return (self.method in {"POST", "PUT", "PATCH", "DELETE"} and self.path.startswith("/api/v1/")
                and bool(self.view.get_authenticators()))

    def error_statuses(self, operation: dict[str, Any]) -> set[int]:
        # An invalid Idempotency-Key is a 400; one reused with another body, or still running, a 409.
        keyed = {400, 409} if self.honours_idempotency_key() else set()
        declared = getattr(self.view, "error_statuses", {}).get(self.method)
        if declared is not None:
            return set(declared) | keyed
        locations = {parameter["in"] for parameter in operation.get("parameters", [])}
        # DRF's content negotiation refuses an Accept header that rules JSON out, on every view.
        statuses = {406}
        if operation.get("requestBody"):
            statuses |= {400, 413, 415}
        if "query" in locations:
            statuses.add(400)
        if "path" in locations:
            statuses.add(404)
        if self.view.get_authenticators():
            # 403: a role that does not allow the request (penguinflow.common.permissions), or a user of no workspace.
            statuses |= {401, 403}
        if self.view.get_throttles():
            statuses.add(429)
        return statuses | keyed


# --- fields whose schema drf-spectacular cannot guess ----------------------------------------------------------


def one_of_keys(schemas: dict[str, dict[str, Any]], **common: Any) -> dict[str, Any]:
    """`oneOf` objects that each carry exactly one of the given keys (the others left out): `{"id"} | {"email"}`."""
    absent = {"not": {}}
    return {"oneOf": [
        {"type": "object", "required": [key], **common,
         "properties": {**{other: absent for other in schemas}, key: schema}}
        for key, schema in schemas.items()
    ]}


# Any JSON value; null only where the field allows it (drf-spectacular's `{}` would allow it everywhere).
ANY_JSON_VALUE = {
    "anyOf": [
        {"type": "object", "additionalProperties": {}},
        {"type": "array", "items": {}},
        {"type": "string"},
        {"type": "number"},
        {"type": "boolean"},
    ],
}


class JSONFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "rest_framework.fields.JSONField"

    def map_serializer_field(self, auto_schema, direction):
        if self.target.allow_null:
            return {}
        return dict(ANY_JSON_VALUE)


class StorableJSONFieldSchema(JSONFieldSchema):
    target_class = "penguinflow.common.validators.StorableJSONField"
    optional = True


class StrictJSONObjectFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "penguinflow.common.validators.StrictJSONObjectField"

    def map_serializer_field(self, auto_schema, direction):
        schema = {"type": "object", "additionalProperties": {}}
        return {**schema, "nullable": True} if self.target.allow_null else schema


def time_zone_schema() -> dict[str, Any]:
    """The `TimeZone` component: every name the API's time zone check accepts, so clients can offer a choice."""
    return {
        "type": "string",
        "enum": sorted(name for name in available_timezones() if is_valid_timezone(name)),
        "description": "An IANA time zone, e.g. `Europe/Paris`.",
    }


def component_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


class TimeZoneFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "penguinflow.common.validators.TimeZoneField"

    def map_serializer_field(self, auto_schema, direction):
        register_component(auto_schema, "TimeZone", time_zone_schema)
        if self.target.allow_blank:
            return {"oneOf": [component_ref("TimeZone"), {"type": "string", "enum": [""]}],
                    "description": "An IANA time zone, or empty for none."}
        return component_ref("TimeZone")


def register_component(auto_schema, name: str, schema: dict[str, Any] | Callable[[], dict[str, Any]]) -> None:
    """Add a hand-written component to the schema being generated (once: later calls find it there)."""
    component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name)
    if component in auto_schema.registry:
        return
    component.schema = schema() if callable(schema) else schema
    auto_schema.registry.register(component)


def pydantic_schema(model) -> dict[str, Any]:
    """Return a pydantic model's JSON Schema as an OpenAPI 3.0 schema: its `$defs` written in place (drf-spectacular
    names the components itself: a `#/$defs/...` reference would point nowhere in the document), and in the
    dialect of OpenAPI 3.0 (`openapi_30`)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node):
        if isinstance(node, dict):
            target = node.get("$ref", "")
            if target.startswith("#/$defs/"):
                return inline({**defs[target.rsplit("/", 1)[-1]], **{k: v for k, v in node.items() if k != "$ref"}})
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    return openapi_30(inline(schema))


# Keywords whose value is a schema, a list of schemas, or a map of names to schemas: the walk of `openapi_30`
# goes through these only (a property may be named `const` or `type`; a `default` or an `enum` holds data).
_SUBSCHEMA = ("items", "additionalProperties", "not")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf")
_SUBSCHEMA_MAPS = ("properties",)


def openapi_30(schema: dict[str, Any]) -> dict[str, Any]:
    """Return a JSON Schema (draft 2020-12, as pydantic writes it) in the dialect of OpenAPI 3.0, the version of
    our document: a nullable value is `nullable: true` (not a `null` type, alone or in a list); `const` is a
    one-value `enum`; numeric `exclusiveMinimum`/`exclusiveMaximum` are a bound with a boolean; a map whose keys
    follow a pattern (`patternProperties`, unknown to 3.0) is a map of any key, the pattern said in words (the
    server still refuses other keys, with a 400)."""
    node = dict(schema)
    for keyword in _SUBSCHEMA:
        if isinstance(node.get(keyword), dict):
            node[keyword] = openapi_30(node[keyword])
    for keyword in _SUBSCHEMA_LISTS:
        if keyword in node:
            node[keyword] = [openapi_30(option) for option in node[keyword]]
    for keyword in _SUBSCHEMA_MAPS:
        if keyword in node:
            node[keyword] = {name: openapi_30(option) for name, option in node[keyword].items()}
    if "patternProperties" in node:
        patterns = node.pop("patternProperties")
        if len(patterns) != 1 or node.get("additionalProperties") not in (None, False):
            raise ValueError(f"OpenAPI 3.0 cannot say these patternProperties: {sorted(patterns)}")
        (pattern, value), = patterns.items()
        node["additionalProperties"] = openapi_30(value)
        node["description"] = " ".join(filter(None, [node.get("description"), f"Keys match `{pattern}`."]))
    if "const" in node:
        node["enum"] = [node.pop("const")]
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if not isinstance(node.get(exclusive), bool) and exclusive in node:
            node[bound], node[exclusive] = node[exclusive], True
    if isinstance(node.get("type"), list):
        types = [kind for kind in node["type"] if kind != "null"]
        if len(types) != 1:
            raise ValueError(f"OpenAPI 3.0 has no schema of several types: {node['type']}")
        node["nullable"] = node.get("nullable", False) or len(types) < len(node["type"])
        node["type"] = types[0]
    for keyword in _SUBSCHEMA_LISTS:
        options = node.get(keyword, [])
        if any(option == {"type": "null"} for option in options):
            rest = [option for option in options if option != {"type": "null"}]
            node["nullable"] = True
            if len(rest) == 1:
                del node[keyword]
                node = {**rest[0], **node}  # the option's constraints, with the field's title and description
            else:
                node[keyword] = rest
    return node
