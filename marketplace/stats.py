"""Template analytics: installs, workflows published from a template, and the completion and goal rates of their
enrollments, aggregated over every workspace that installed it.

No workspace's figures may be read through a template's: rates are shown only when at least
``MIN_ENROLLMENTS`` enrollments from at least ``MIN_WORKSPACES`` workspaces stand behind them, or when all of them
come from the workspace looking (its own figures). Counts of installs are shown always (they say nothing about any
one workspace's contacts).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, F, Q

from marketplace.models import TemplateInstall, TemplateStats, WorkflowTemplate
from workflows.models import Enrollment

__all__ = [
    "MIN_ENROLLMENTS",
    "MIN_WORKSPACES",
    "stats_shown",
    "template_stats_count_install",
    "template_stats_refresh",
]

MIN_ENROLLMENTS = 30
MIN_WORKSPACES = 3


def template_stats_count_install(*, slug: str) -> None:
    """Count one more install of ``slug`` at once (the rest waits for the next refresh)."""
    _, created = TemplateStats.objects.get_or_create(template_slug=slug, defaults={"installs": 1})
    if not created:
        TemplateStats.objects.filter(pk=slug).update(installs=F("installs") + 1)
    WorkflowTemplate.objects.filter(slug=slug).update(installs=F("installs") + 1)


def template_stats_refresh(*, slugs: Iterable[str] | None = None) -> int:
    """Recount the figures of ``slugs`` (every installed template when None) from installs and enrollments."""
    installs = TemplateInstall.objects.all()
    if slugs is not None:
        installs = installs.filter(template_slug__in=list(slugs))
    by_slug: dict[str, dict[str, Any]] = {}
    for slug, workspace_id, workflow_id, published in installs.values_list(
        "template_slug", "workspace_id", "workflow_id", "workflow__published_version"
    ):
        entry = by_slug.setdefault(
            slug, {"installs": 0, "published": 0, "workspaces": set(), "workflows": {}}
        )
        entry["installs"] += 1
        if workflow_id is not None and published is not None:
            entry["published"] += 1
            entry["workflows"][workflow_id] = workspace_id
    for slug, entry in by_slug.items():
        counts = Enrollment.objects.filter(workflow_id__in=list(entry["workflows"])).aggregate(
            total=Count("id"),
            completed=Count("id", filter=Q(status="completed")),
            goals=Count("id", filter=~Q(goal="")),
        )
        contributing = {
            entry["workflows"][w]
            for w in Enrollment.objects.filter(workflow_id__in=list(entry["workflows"]))
            .values_list("workflow_id", flat=True)
            .distinct()
        }
        WorkflowTemplate.objects.filter(slug=slug).update(installs=entry["installs"])
        TemplateStats.objects.update_or_create(
            template_slug=slug,
            defaults={
                "installs": entry["installs"],
                "published": entry["published"],
                "workspaces": len(contributing),
                "sole_workspace": next(iter(contributing)) if len(contributing) == 1 else None,
                "enrollments": counts["total"],
                "completed": counts["completed"],
                "goals": counts["goals"],
            },
        )
    return len(by_slug)


def stats_shown(stats: TemplateStats | None, *, workspace) -> dict[str, Any]:
    """Return a template's ``stats`` as the catalogue shows them to ``workspace``."""
    if stats is None:
        return {
            "installs": 0,
            "published": 0,
            "enrollments": None,
            "completion_rate": None,
            "goal_rate": None,
            "rates_hidden_because": "No workflow made from it has run yet.",
        }
    shown: dict[str, Any] = {"installs": stats.installs, "published": stats.published}
    own = stats.sole_workspace is not None and stats.sole_workspace == workspace.pk
    if stats.enrollments >= MIN_ENROLLMENTS and (stats.workspaces >= MIN_WORKSPACES or own):
        shown |= {
            "enrollments": stats.enrollments,
            "completion_rate": round(stats.completed / stats.enrollments, 3),
            "goal_rate": round(stats.goals / stats.enrollments, 3),
            "rates_hidden_because": None,
        }
    else:
        shown |= {
            "enrollments": None,
            "completion_rate": None,
            "goal_rate": None,
            "rates_hidden_because": f"Rates are shown from {MIN_ENROLLMENTS} enrollments in "
            f"{MIN_WORKSPACES} workspaces, so that no workspace's own figures show.",
        }
    return shown
