"""The checks every template passes before anyone can install it: the shipped ones at start and in tests, the
submitted ones before moderation.

A template passes when its placeholders and its manifest agree (every placeholder declared with the right kind,
every declared segment, campaign, workflow, email and parameter used), its graph validates as publishing judges it
in the engine, its emails parse as Liquid within their budget, and its sample scenario simulates to the expected
path and status. ``template_problems`` returns ``{path: message}``; empty means it passes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from marketplace.layout import graph_from_steps
from marketplace.manifest import TemplateManifest
from marketplace.placeholders import Ref, placeholders_in, placeholders_replace
from penguinflow.common.errors import InvalidInput
from templates.authoring import template_syntax_errors
from templates.rendering import template_budget_errors
from workflows import version_graphs
from workflows.engine.conditions import check_rule
from workflows.engine.errors import EngineInputError
from workflows.engine.registry import registry
from workflows.engine.simulator import simulate

__all__ = ["Installed", "example_values", "path_visits", "template_graph", "template_problems"]

# Example values of required parameters without an ``example``, by type, for the checks' sample run.
# The placeholder kind of each model a node type's config may name (``Reference.model``).
KIND_OF_MODEL = {
    "templates.EmailTemplate": "email",
    "contacts.Segment": "segment",
    "campaigns.Campaign": "campaign",
    "workflows.Workflow": "workflow",
}

_EXAMPLES = {
    "duration": "P1D",
    "text": "Example",
    "number": 1,
    "tag": "example",
    "email": "sales@example.com",
    "emails": ["sales@example.com"],
    "url": "https://hooks.example.com/penguinflow",
}


@dataclass(frozen=True)
class Installed:
    """A template with its placeholders replaced: the builder's graph, the settings and the sample."""

    graph: dict[str, Any]
    settings: dict[str, Any]
    sample: dict[str, Any]


def template_graph(manifest: TemplateManifest) -> dict[str, Any]:
    """Return the template's graph in the builder's form, placeholders still in it."""
    if manifest.steps is not None:
        return graph_from_steps(manifest.steps)
    return manifest.graph.model_dump() if manifest.graph is not None else {"nodes": [], "edges": []}


def node_config(node: dict[str, Any]) -> dict[str, Any]:
    """Return a builder node's ``data.config``, or an empty one where the node is not shaped as one."""
    data = node.get("data")
    config = data.get("config") if isinstance(data, dict) else None
    return config if isinstance(config, dict) else {}


def example_values(manifest: TemplateManifest) -> dict[Ref, Any]:
    """Return a value for every declared placeholder: stable made-up ids for objects, defaults or examples."""
    values: dict[Ref, Any] = {}
    for requirement in manifest.requires:
        if requirement.is_resource:
            values[(requirement.kind, requirement.id)] = str(
                uuid.uuid5(uuid.NAMESPACE_URL, f"{manifest.slug}/{requirement.id}")
            )
    for email in manifest.emails:
        values[("email", email.id)] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{manifest.slug}/email/{email.id}"))
    for parameter in manifest.parameters:
        value = parameter.default if parameter.default is not None else parameter.example
        values[("param", parameter.id)] = value if value is not None else _EXAMPLES[parameter.type]
    return values


def template_installed(manifest: TemplateManifest, values: dict[Ref, Any]) -> Installed:
    """Return the graph, settings and sample with ``values`` in place of their placeholders."""
    return Installed(
        graph=placeholders_replace(template_graph(manifest), values),
        settings=placeholders_replace(manifest.settings, values),
        sample=placeholders_replace(manifest.sample.model_dump(), values),
    )


def _manifest_problems(manifest: TemplateManifest) -> dict[str, str]:
    """Name the placeholders the manifest does not declare and the declarations nothing uses."""
    problems: dict[str, str] = {}
    declared: dict[Ref, str] = {(r.kind, r.id): "requires" for r in manifest.requires if r.is_resource}
    declared |= {("email", e.id): "emails" for e in manifest.emails}
    declared |= {("param", p.id): "parameters" for p in manifest.parameters}
    kinds = {r.id: r.kind for r in manifest.requires} | {e.id: "email" for e in manifest.emails}
    kinds |= {p.id: "param" for p in manifest.parameters}
    found = placeholders_in(
        {
            "steps": [s.model_dump() for s in manifest.steps or []],
            "graph": manifest.graph.model_dump() if manifest.graph is not None else {},
            "settings": manifest.settings,
            "sample": manifest.sample.model_dump(),
        }
    )
    found += placeholders_in({"emails": [e.model_dump() for e in manifest.emails]})
    used = set()
    for (kind, key), path in found:
        used.add((kind, key))
        if (kind, key) in declared:
            continue
        if key in kinds:
            problems[path] = f"'${{{kind}.{key}}}' names a {kinds[key]}; write '${{{kinds[key]}.{key}}}'."
        else:
            problems[path] = f"'${{{kind}.{key}}}' is not declared in requires, emails or parameters."
    for index, email in enumerate(manifest.emails):
        for (kind, _key), where in placeholders_in(email.model_dump()):
            if kind != "param":
                problems[f"emails[{index}].{where}"] = "Emails may only use ${param.*} placeholders."
    for ref, section in declared.items():
        if ref not in used:
            index = [item.id for item in getattr(manifest, section)].index(ref[1])
            problems[f"{section}[{index}]"] = f"'{ref[1]}' is declared but the workflow never uses it."
    return problems


def _reference_problems(manifest: TemplateManifest) -> dict[str, str]:
    """Name the config values that should name an object of the workspace and hold anything but a placeholder of
    that object's kind: a template that names a workspace's own object would need what its manifest does not say."""
    problems = {}
    for index, node in enumerate(template_graph(manifest).get("nodes", [])):
        node_type = registry.get(str(node.get("type", "")))
        config = node_config(node)
        for reference in node_type.references if node_type is not None else ():
            value = reference.value_in(config)
            kind = KIND_OF_MODEL.get(reference.model)
            if value in (None, "") and reference.optional:
                continue
            found = placeholders_in(value) if isinstance(value, str) else []
            if not (len(found) == 1 and found[0][0][0] == kind and value == f"${{{kind}.{found[0][0][1]}}}"):
                problems[f"graph.nodes[{index}].data.config.{reference.path}"] = (
                    f"Must be a placeholder of a declared {reference.noun}, e.g. '${{{kind}.<id>}}'; "
                    "a template cannot name one workspace's own objects."
                )
        candidates = config.get("template_ids") if node.get("type") == "send_email" else None
        for position, value in enumerate(candidates if isinstance(candidates, list) else []):
            found = placeholders_in(value) if isinstance(value, str) else []
            if not (len(found) == 1 and found[0][0][0] == "email" and value == f"${{email.{found[0][0][1]}}}"):
                problems[f"graph.nodes[{index}].data.config.template_ids[{position}]"] = (
                    "Must be a placeholder of a declared email template, e.g. '${email.<id>}'; "
                    "a template cannot name one workspace's own objects."
                )
    for index, requirement in enumerate(manifest.requires):
        if requirement.kind == "segment":
            errors = (
                check_rule(requirement.rule) if requirement.rule is not None else ["A segment needs a rule."]
            )
            if errors:
                problems[f"requires[{index}].rule"] = "; ".join(errors)
    return problems


def _email_problems(manifest: TemplateManifest, values: dict[Ref, Any]) -> dict[str, str]:
    problems = {}
    for index, email in enumerate(manifest.emails):
        parts = placeholders_replace(
            {"subject": email.subject, "html": email.html, "text": email.text}, values
        )
        errors = template_syntax_errors(**parts) or template_budget_errors(**parts)
        problems |= {f"emails[{index}].{part}": message for part, message in errors.items()}
    return problems


def path_visits(path: list[dict[str, Any]]) -> list[str]:
    """Return the nodes a simulated path visits, a wait and its wake-up counting as one visit."""
    visits: list[str] = []
    for entry in path:
        if entry.get("outcome") == "not_entered":
            continue
        if visits and visits[-1] == entry["node_id"]:
            continue
        visits.append(entry["node_id"])
    return visits


def _run_problems(manifest: TemplateManifest, values: dict[Ref, Any]) -> dict[str, str]:
    """Validate the graph as the engine judges it before publishing, then run the sample scenario."""
    installed = template_installed(manifest, values)
    try:
        graph = version_graphs.parse_graph(installed.graph)
        settings = version_graphs.parse_settings(installed.settings)
    except InvalidInput as error:
        return error.details or {"graph": error.message}
    report = version_graphs.validation_report(graph, settings)
    if report["errors"]:
        return {f"graph.errors[{index}]": error["message"] for index, error in enumerate(report["errors"])}
    sample = installed.sample
    segments = [value for (kind, _), value in values.items() if kind == "segment"]
    try:
        result = simulate(
            graph=graph,
            settings=settings,
            contact=sample["contact"],
            start=sample["start"],
            events=sample["events"],
            until=sample["until"],
            segments_existing=segments,
        )
    except EngineInputError as error:
        return {f"sample.{path}": message for path, message in error.details.items()} or {
            "sample": error.message
        }
    problems = {}
    visits = path_visits(result.as_dict()["path"])
    if visits != sample["expected_path"]:
        problems["sample.expected_path"] = f"The sample run took {visits}, not {sample['expected_path']}."
    if result.status != sample["expected_status"]:
        problems["sample.expected_status"] = (
            f"The sample run ended {result.status}, not {sample['expected_status']}."
        )
    return problems


def template_problems(manifest: TemplateManifest) -> dict[str, str]:
    """Return ``{path: message}`` for everything that stops the template from installing and running as shown."""
    problems = _manifest_problems(manifest) | _reference_problems(manifest)
    if problems:
        return problems
    values = example_values(manifest)
    return _email_problems(manifest, values) | _run_problems(manifest, values)
