"""Reads of the catalogue: which templates a workspace sees, found by slug, category or search, and sorted."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.db.models import Q

from marketplace.catalogue import shipped_templates
from marketplace.manifest import TemplateManifest, manifest_parse
from marketplace.models import TemplateInstall, TemplateStats, WorkflowTemplate
from penguinflow.workspaces.models import MANAGER_ROLES, Membership

__all__ = ["CatalogueEntry", "catalogue_entry", "catalogue_list", "organization_workspace_ids"]


@dataclass(frozen=True)
class CatalogueEntry:
    """A template as the catalogue shows it: shipped (``stored`` None) or saved by a workspace."""

    manifest: TemplateManifest
    source: str  # "shipped" | "workspace" | "organization" | "community"
    stored: WorkflowTemplate | None = None
    created_at: str = ""

    @property
    def version(self) -> int:
        return self.stored.current_version if self.stored is not None else self.manifest.version


def organization_workspace_ids(workspace) -> list:
    """Return the workspaces of ``workspace``'s organization: itself and every workspace one of its admins also
    administers, as an owner or an admin (PenguinFlow has no organization object; shared administration is what
    makes one)."""
    admins = Membership.objects.filter(workspace=workspace, role__in=MANAGER_ROLES).values("user")
    ids = set(
        Membership.objects.filter(user__in=admins, role__in=MANAGER_ROLES).values_list(
            "workspace", flat=True
        )
    )
    return sorted(ids | {workspace.pk}, key=str)


def visible_stored(workspace):
    """Return the saved templates ``workspace`` may see: its own (any status), its organization's shared ones and
    the approved community ones."""
    organization = organization_workspace_ids(workspace)
    return WorkflowTemplate.objects.filter(
        Q(workspace=workspace)
        | Q(visibility=WorkflowTemplate.Visibility.ORGANIZATION, workspace__in=organization)
        | Q(
            visibility=WorkflowTemplate.Visibility.COMMUNITY,
            moderation_status=WorkflowTemplate.Moderation.APPROVED,
        )
    )


def _visible_parts(workspace):
    """Return ``visible_stored`` as two disjoint querysets: the approved community templates of other
    workspaces, and the workspace's own and its organization's shared ones."""
    organization = organization_workspace_ids(workspace)
    community = WorkflowTemplate.objects.filter(
        visibility=WorkflowTemplate.Visibility.COMMUNITY,
        moderation_status=WorkflowTemplate.Moderation.APPROVED,
    ).exclude(workspace=workspace)
    near = WorkflowTemplate.objects.filter(
        Q(workspace=workspace)
        | Q(visibility=WorkflowTemplate.Visibility.ORGANIZATION, workspace__in=organization)
    ).exclude(
        Q(
            visibility=WorkflowTemplate.Visibility.COMMUNITY,
            moderation_status=WorkflowTemplate.Moderation.APPROVED,
        )
        & ~Q(workspace=workspace)
    )
    return community, near


def _source(template: WorkflowTemplate, workspace) -> str:
    return _source_of({"workspace_id": template.workspace_id, "visibility": template.visibility}, workspace)


def _source_of(row: dict[str, Any], workspace) -> str:
    if row["workspace_id"] == workspace.pk:
        return "workspace"
    return "organization" if row["visibility"] == WorkflowTemplate.Visibility.ORGANIZATION else "community"


def stored_manifest(template: WorkflowTemplate, number: int | None = None) -> TemplateManifest:
    version = template.versions.get(number=number or template.current_version)
    return manifest_parse(version.document)


def catalogue_entry(*, workspace, slug: str, version: int | None = None) -> CatalogueEntry | None:
    """Return the template ``slug`` if ``workspace`` may see it (its current version unless ``version``)."""
    shipped = shipped_templates().get(slug)
    if shipped is not None:
        if version and version != shipped.version:
            return None
        return CatalogueEntry(manifest=shipped, source="shipped")
    template = visible_stored(workspace).filter(slug=slug).first()
    if template is None or (version and not template.versions.filter(number=version).exists()):
        return None
    return CatalogueEntry(
        manifest=stored_manifest(template, version),
        source=_source(template, workspace),
        stored=template,
        created_at=template.created_at.isoformat(),
    )


@dataclass(frozen=True)
class ListedTemplate:
    """One row of the list: enough to show a card, without reading any template's document."""

    slug: str
    name: str
    category: str
    description: str
    source: str
    summary: dict[str, Any]
    created_at: str
    installs: int = 0


def _shipped_rows(category: str, q: str) -> list[ListedTemplate]:
    rows = []
    for manifest in shipped_templates().values():
        if category and manifest.category != category:
            continue
        text = " ".join([manifest.name, manifest.description, *manifest.keywords, manifest.category]).lower()
        if q and q not in text:
            continue
        rows.append(
            ListedTemplate(
                manifest.slug,
                manifest.name,
                manifest.category,
                manifest.description,
                "shipped",
                manifest_summary(manifest),
                "",
            )
        )
    return rows


def manifest_summary(manifest: TemplateManifest) -> dict[str, Any]:
    """Return the list's ``requires`` and ``parameters`` of a manifest."""
    return {
        "requires": [r.model_dump(exclude={"rule"}) for r in manifest.requires],
        "parameters": [
            p.model_dump(exclude={"example"}) | {"required": p.required} for p in manifest.parameters
        ],
        "emails": len(manifest.emails),
        "outcome": manifest.outcome,
        "version": manifest.version,
    }


def catalogue_list(
    *, workspace, category: str = "", q: str = "", sort: str = "popular", limit: int = 100, offset: int = 0
) -> tuple[int, list[ListedTemplate]]:
    """Return the number of matches and one page of the templates ``workspace`` sees.

    ``popular``: most installed first (ties by name); ``newest``: saved templates newest first, then the shipped.
    The saved ones are sorted and cut in SQL (only the first ``offset + limit`` are read, however many match),
    then merged with the shipped matches, which live in memory.
    """
    q = q.strip().lower()
    order = ("-created_at", "name") if sort == "newest" else ("-installs", "name")
    fields = (
        "slug",
        "name",
        "category",
        "description",
        "visibility",
        "workspace_id",
        "summary",
        "created_at",
        "installs",
    )
    top, total = [], 0
    # The community's templates (most of them, served in order by an index) and the workspace's and its
    # organization's (a few) are two queries: one query with an OR between them would sort every match.
    for stored in _visible_parts(workspace):
        if category:
            stored = stored.filter(category=category)
        if q:
            stored = stored.filter(search_text__contains=q)
        total += stored.count()
        top += [
            ListedTemplate(
                row["slug"],
                row["name"],
                row["category"],
                row["description"],
                _source_of(row, workspace),
                row["summary"],
                row["created_at"].isoformat(),
                row["installs"],
            )
            for row in stored.order_by(*order).values(*fields)[: offset + limit]
        ]
    shipped = _shipped_rows(category, q)
    shipped_installs = dict(
        TemplateStats.objects.filter(template_slug__in=[r.slug for r in shipped]).values_list(
            "template_slug", "installs"
        )
    )
    shipped = [replace(row, installs=shipped_installs.get(row.slug, 0)) for row in shipped]
    rows = top + shipped
    if sort == "newest":
        rows.sort(key=lambda r: (_negated(r.created_at), r.name))
    else:
        rows.sort(key=lambda r: (-r.installs, r.name))
    return total + len(shipped), rows[offset : offset + limit]


def _negated(moment: str) -> tuple[int, ...]:
    """A key that sorts ISO timestamps newest first (and the shipped templates, which have none, last)."""
    return (0, *(-ord(char) for char in moment)) if moment else (1,)


def installs_of(*, workspace, slug: str):
    return TemplateInstall.objects.for_workspace(workspace).filter(template_slug=slug)
