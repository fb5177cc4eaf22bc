"""The catalogue's answers: a template's list entry and its detail, as the API and the screens read them."""

from __future__ import annotations

from typing import Any

from marketplace.checks import example_values, template_graph, template_installed
from marketplace.manifest import TemplateManifest
from marketplace.models import TemplateStats, WorkflowTemplate
from marketplace.selectors import CatalogueEntry, ListedTemplate, manifest_summary
from marketplace.stats import stats_shown
from workflows import version_graphs
from workflows.engine.simulator import simulate

__all__ = ["detail_of", "list_item_of"]


def list_item_of(row: ListedTemplate, stats: TemplateStats | None, *, workspace) -> dict[str, Any]:
    summary = row.summary
    return {
        "slug": row.slug,
        "name": row.name,
        "category": row.category,
        "description": row.description,
        "outcome": summary.get("outcome", ""),
        "source": row.source,
        "version": summary.get("version", 1),
        "email_count": summary.get("emails", 0),
        "requires": summary.get("requires", []),
        "parameters": summary.get("parameters", []),
        "stats": stats_shown(stats, workspace=workspace),
    }


_paths: dict[tuple[str, int], tuple[dict[str, Any], ...]] = {}


def _sample_path(manifest: TemplateManifest) -> tuple[dict[str, Any], ...]:
    """Return the sample scenario's simulated path, run once per template version (versions are immutable, slugs
    unique, and the run is deterministic)."""
    key = (manifest.slug, manifest.version)
    if key not in _paths:
        _paths[key] = _run_sample(manifest)
    return _paths[key]


def _run_sample(manifest: TemplateManifest) -> tuple[dict[str, Any], ...]:
    installed = template_installed(manifest, example_values(manifest))
    sample = installed.sample
    result = simulate(
        graph=version_graphs.parse_graph(installed.graph),
        settings=version_graphs.parse_settings(installed.settings),
        contact=sample["contact"],
        start=sample["start"],
        events=sample["events"],
        until=sample["until"],
    )
    return tuple(result.as_dict()["path"])


def _moderation(stored: WorkflowTemplate | None, workspace) -> dict[str, Any] | None:
    if stored is None or stored.workspace_id != workspace.pk:
        return None
    return {
        "visibility": stored.visibility,
        "status": stored.moderation_status,
        "reason": stored.moderation_reason,
    }


def detail_of(
    entry: CatalogueEntry, stats: TemplateStats | None, install: dict[str, Any], *, workspace
) -> dict[str, Any]:
    """Return ``GET /api/v1/workflow-templates/{slug}``: the list entry plus the graph (laid out, placeholders in
    it), settings, emails, the sample with its simulated path, and what installing here needs."""
    manifest = entry.manifest
    row = ListedTemplate(
        manifest.slug,
        manifest.name,
        manifest.category,
        manifest.description,
        entry.source,
        manifest_summary(manifest),
        entry.created_at,
    )
    versions = (
        [
            {"number": v.number, "created_at": v.created_at.isoformat()}
            for v in entry.stored.versions.order_by("number")
        ]
        if entry.stored is not None
        else [{"number": manifest.version, "created_at": None}]
    )
    return list_item_of(row, stats, workspace=workspace) | {
        "version": entry.version,
        "graph": template_graph(manifest),
        "settings": manifest.settings,
        "emails": [email.model_dump() for email in manifest.emails],
        "sample": manifest.sample.model_dump() | {"path": list(_sample_path(manifest))},
        "install": install,
        "moderation": _moderation(entry.stored, workspace),
        "versions": versions,
    }
