"""Schemas of the workflow API's JSON documents that no serializer describes (OpenAPI 3.0 components).

The graph, the settings and the simulation request are validated by the engine's own models
(`workflows.engine.graph`, `workflows.engine.simulator`), not by DRF; these components state the same rules for
clients. What JSON Schema cannot state is said in the descriptions: a JsonLogic rule's operations, unique node
ids, the catalogue of node types and their configs (`GET /api/v1/node-types`).
"""

from __future__ import annotations

from typing import Any

from penguinflow.common.schema import ANY_JSON_VALUE, one_of_keys, time_zone_schema
from workflows.engine.types import EVENT_TYPE_PATTERN


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


# Durations the engine reads (`workflows.engine.durations`): PnW, or PnDTnHnMnS with at least one part.
DURATION_PATTERN = r"^P(?:\d{1,6}W|(?=\d|T\d)(?:\d{1,6}D)?(?:T(?=\d)(?:\d{1,6}H)?(?:\d{1,6}M)?(?:\d{1,6}S)?)?)$"
# The simulation's horizon: longer than zero and at most P3660D (a subset of the grammar, stated in days).
UNTIL_PATTERN = r"^P(?:[1-9]\d{0,2}D|[1-9]\d?W|T[1-9]\d{0,3}[HM])$"

# Any JSON value is stored; `validate` (and so `publish`) reports a rule with unknown operations.
RULE = {**ANY_JSON_VALUE, "description": 'A JsonLogic rule (CONTRACT §7), or `{"js": "<expression>"}` (§7a), '
                                          "which is compiled and stored as its JsonLogic."}

GRAPH_NODE = {
    "type": "object",
    "required": ["id", "type"],
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 64, "description": "Unique in the graph."},
        "type": {"type": "string", "minLength": 1, "maxLength": 64,
                 "description": "A node type of `GET /api/v1/node-types`."},
        "position": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}}},
        "data": {
            "type": "object",
            "additionalProperties": {},
            "description": "The builder's data; `config` is checked against the node type's `config_schema` when "
                           "the graph is validated. Other keys are kept as they are.",
            "properties": {
                "label": nullable({"type": "string", "maxLength": 200}),
                "config": nullable({"type": "object", "additionalProperties": {}}),
            },
        },
    },
}

GRAPH_EDGE = {
    "type": "object",
    "required": ["id", "source", "target"],
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 64, "description": "Unique in the graph."},
        "source": {"type": "string", "minLength": 1, "maxLength": 64},
        "target": {"type": "string", "minLength": 1, "maxLength": 64},
        "sourceHandle": nullable({"type": "string", "maxLength": 64,
                                  "description": "The branch: `default` when left out (or empty)."}),
    },
}

GRAPH = {
    "type": "object",
    "description": "React Flow's own shape (CONTRACT §5). A draft may be incomplete: `validate` reports what "
                   "`publish` would refuse.",
    "properties": {
        "nodes": {"type": "array", "items": ref("GraphNode")},
        "edges": {"type": "array", "items": ref("GraphEdge")},
        "notes": {"type": "array", "maxItems": 100, "items": ref("GraphNote"),
                  "description": "The canvas's sticky notes: kept with the draft and its published versions, never "
                                 "run. Left out of answers when there are none."},
    },
}

GRAPH_NOTE = {
    "type": "object",
    "required": ["id", "text", "position"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 64,
               "description": "Unique among the graph's notes (a repeat is a 400)."},
        "text": {"type": "string", "maxLength": 5000},
        "position": {"type": "object", "required": ["x", "y"], "additionalProperties": False,
                     "properties": {"x": {"type": "number", "minimum": -1_000_000, "maximum": 1_000_000},
                                    "y": {"type": "number", "minimum": -1_000_000, "maximum": 1_000_000}}},
        "width": {"type": "number", "minimum": 80, "maximum": 2000, "default": 220},
        "height": {"type": "number", "minimum": 60, "maximum": 2000, "default": 140},
    },
}

EXIT_CONDITION = {
    "description": "Leave the workflow at once when `event` arrives (optionally matching `filter`) or `rule` holds; "
                   "with `goal`, it also counts as a conversion.",
    "oneOf": [
        {
            "type": "object",
            "required": ["event"],
            "additionalProperties": False,
            "properties": {
                "event": {"type": "string", "minLength": 3, "maxLength": 128, "pattern": EVENT_TYPE_PATTERN},
                "filter": nullable(ref("Rule")),
                "goal": nullable({"type": "string", "minLength": 1, "maxLength": 200}),
            },
        },
        {
            "type": "object",
            "required": ["rule"],
            "additionalProperties": False,
            "properties": {
                "rule": ref("Rule"),
                "goal": nullable({"type": "string", "minLength": 1, "maxLength": 200}),
            },
        },
    ],
}

WORKFLOW_SETTINGS = {
    "type": "object",
    "additionalProperties": False,
    "description": "CONTRACT §5; every key may be left out for its default.",
    "properties": {
        "reenrollment": {
            "oneOf": [
                {"type": "object", "additionalProperties": False,
                 "properties": {"mode": {"type": "string", "enum": ["never", "always"], "default": "never"},
                                "after": nullable({"type": "string", "pattern": DURATION_PATTERN})}},
                {"type": "object", "additionalProperties": False, "required": ["mode", "after"],
                 "properties": {"mode": {"type": "string", "enum": ["after"]},
                                "after": {"type": "string", "pattern": DURATION_PATTERN,
                                          "description": "The minimum gap since the last entry."}}},
            ],
        },
        "exit_conditions": {"type": "array", "items": ref("ExitCondition")},
        "on_exit_enroll": nullable({"type": "string", "minLength": 1,
                                    "description": "A workflow id: a goal exit moves the contact into it."}),
        "timezone": ref("TimeZone"),
        "max_steps_per_enrollment": {"type": "integer", "minimum": 1, "maximum": 100_000, "default": 1000},
    },
}

# Settings as the API answers them: every key, with its default filled in.
WORKFLOW_SETTINGS_STORED = {
    "type": "object",
    "required": ["reenrollment", "exit_conditions", "on_exit_enroll", "timezone", "max_steps_per_enrollment"],
    "properties": {
        "reenrollment": {
            "type": "object",
            "required": ["mode", "after"],
            "properties": {"mode": {"type": "string", "enum": ["never", "always", "after"]},
                           "after": nullable({"type": "string"})},
        },
        "exit_conditions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["event", "filter", "rule", "goal"],
                "properties": {"event": nullable({"type": "string"}), "filter": {"nullable": True},
                               "rule": {"nullable": True}, "goal": nullable({"type": "string"})},
            },
        },
        "on_exit_enroll": nullable({"type": "string"}),
        "timezone": {"type": "string"},
        "max_steps_per_enrollment": {"type": "integer"},
    },
}

SIMULATED_EVENT = {
    "type": "object",
    "required": ["type"],
    "additionalProperties": False,
    "not": {"required": ["after", "at"]},
    "description": "Happens `after` a duration from `start`, or `at` a moment (not both); at `start` otherwise.",
    "properties": {
        "type": {"type": "string", "minLength": 3, "maxLength": 128, "pattern": EVENT_TYPE_PATTERN},
        "after": nullable({"type": "string", "pattern": DURATION_PATTERN}),
        "at": nullable({"type": "string", "format": "date-time"}),
        "properties": {"type": "object", "additionalProperties": {}},
    },
}

SIMULATED_CONTACT = {
    "type": "object",
    "additionalProperties": {},
    "description": "The imaginary contact; other attributes are kept and visible to rules and templates.",
    "properties": {
        "id": nullable({"type": "string"}),
        "email": nullable({"type": "string"}),
        "timezone": nullable(ref("TimeZone")),
        "status": {"type": "string", "enum": ["subscribed", "unsubscribed", "bounced", "complained"]},
        "score": {"type": "number"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "fields": {"type": "object", "additionalProperties": {}},
        "segments": {"type": "array", "items": {"type": "string"}, "description": "Segment ids the contact is in."},
    },
}

SIMULATION_REQUEST = {
    "type": "object",
    "description": "CONTRACT §8. Nothing is stored or sent.",
    "properties": {
        "version": {"type": "string", "pattern": r"^(?:draft|[1-9]\d{0,8})$", "default": "draft",
                    "description": "`draft`, or the number of a published version."},
        "contact": ref("SimulatedContact"),
        "start": {"type": "string", "format": "date-time", "description": "Defaults to now."},
        "events": {"type": "array", "maxItems": 1000, "items": ref("SimulatedEvent")},
        "until": {"type": "string", "pattern": UNTIL_PATTERN, "default": "P60D",
                  "description": "How long after `start` the run stops: longer than zero, at most P3660D."},
        "seed": {"type": "integer", "minimum": 0, "maximum": 2**31, "default": 0,
                 "description": "Seeds the random choices (splits), for repeatable runs."},
    },
}

ENROLL_REQUEST = {
    "type": "object",
    "description": "Contacts, a segment's members, or both. Unknown, erased and suppressed contacts are skipped.",
    "anyOf": [{"required": ["contacts"], "properties": {"contacts": {"minItems": 1}}}, {"required": ["segment_id"]}],
    "properties": {
        "contacts": {
            "type": "array",
            "maxItems": 1000,
            "items": one_of_keys({
                "id": {"type": "string", "maxLength": 64, "pattern": r"\S"},
                "email": {"type": "string", "format": "email", "maxLength": 254},
            }),
        },
        "segment_id": {"type": "string", "format": "uuid"},
    },
}

COMPONENTS = {
    "Rule": RULE,
    "TimeZone": time_zone_schema,
    "GraphNode": GRAPH_NODE,
    "GraphEdge": GRAPH_EDGE,
    "GraphNote": GRAPH_NOTE,
    "Graph": GRAPH,
    "ExitCondition": EXIT_CONDITION,
    "WorkflowSettingsRequest": WORKFLOW_SETTINGS,
    "WorkflowSettings": WORKFLOW_SETTINGS_STORED,
    "SimulatedEvent": SIMULATED_EVENT,
    "SimulatedContact": SIMULATED_CONTACT,
    "SimulationRequest": SIMULATION_REQUEST,
    "EnrollRequest": ENROLL_REQUEST,
}
