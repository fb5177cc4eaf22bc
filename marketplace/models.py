"""Templates that workspaces save and share (the shipped ones are files: ``marketplace.catalogue``), their versions,
the install records that analytics count, and the aggregated statistics the catalogue shows."""

from __future__ import annotations

import uuid

from django.db import models

from penguinflow.common.models import WorkspaceScopedModel


class WorkflowTemplate(WorkspaceScopedModel):
    """A template saved by a workspace (its author). Its content is in its versions; the newest is current.

    Visibility: ``workspace`` (the author's only), ``organization`` (the author's and those that share an admin with
    it), ``community`` (everyone, once staff approved it). Moderation applies to community templates only.
    """

    class Visibility(models.TextChoices):
        WORKSPACE = "workspace", "This workspace"
        ORGANIZATION = "organization", "Workspaces of the organization"
        COMMUNITY = "community", "Community (public, moderated)"

    class Moderation(models.TextChoices):
        NOT_SUBMITTED = "not_submitted", "Not submitted"
        PENDING = "pending", "Pending review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    TRANSITIONS = {
        Moderation.NOT_SUBMITTED: {Moderation.PENDING},
        Moderation.PENDING: {Moderation.APPROVED, Moderation.REJECTED},
        Moderation.APPROVED: {Moderation.PENDING},  # a new version goes back to review
        Moderation.REJECTED: {Moderation.PENDING},
    }

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=120)
    category = models.CharField(max_length=32)
    description = models.TextField()
    summary = models.JSONField(
        default=dict, help_text="The list's requires and parameters, kept with the current version."
    )
    search_text = models.TextField(
        blank=True, help_text="Name, description and keywords, lower case, for search."
    )
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.WORKSPACE)
    moderation_status = models.CharField(
        max_length=16, choices=Moderation.choices, default=Moderation.NOT_SUBMITTED
    )
    moderation_reason = models.TextField(blank=True, help_text="Why it was rejected; shown to its authors.")
    moderated_at = models.DateTimeField(null=True, blank=True)
    moderated_by = models.CharField(max_length=200, blank=True)
    source_workflow = models.ForeignKey(
        "workflows.Workflow", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    current_version = models.PositiveIntegerField(default=1)
    # A copy of TemplateStats.installs, so that the catalogue sorts by popularity without a join per row.
    installs = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["visibility", "moderation_status"], name="template_visibility"),
            # The catalogue's two orders over the community's templates (marketplace.selectors.catalogue_list).
            models.Index(
                fields=["visibility", "moderation_status", "-installs", "name"], name="template_popular"
            ),
            models.Index(
                fields=["visibility", "moderation_status", "-created_at", "name"], name="template_newest"
            ),
            models.Index(fields=["category"], name="template_category"),
        ]

    def __str__(self) -> str:
        return self.slug


class WorkflowTemplateVersion(models.Model):
    """One immutable version of a saved template: the template document (docs/templates.md) as JSON."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    template = models.ForeignKey(WorkflowTemplate, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    document = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["template", "number"], name="template_version_unique")]

    def __str__(self) -> str:
        return f"{self.template_id} v{self.number}"


class TemplateInstall(WorkspaceScopedModel):
    """A workflow made from a template (shipped or saved), for analytics and for "a newer version exists"."""

    template_slug = models.CharField(max_length=80, db_index=True)
    template_version = models.PositiveIntegerField()
    workflow = models.ForeignKey("workflows.Workflow", null=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return f"{self.template_slug} v{self.template_version} in {self.workspace_id}"


class TemplateStats(models.Model):
    """A template's figures across every workspace, refreshed by ``template_stats_refresh``.

    Rates are shown only above a minimum sample (``marketplace.analytics``); ``sole_workspace`` is set when all the
    figures come from one workspace, whose own figures it may see.
    """

    template_slug = models.CharField(max_length=80, primary_key=True)
    installs = models.PositiveIntegerField(default=0)
    published = models.PositiveIntegerField(default=0)
    workspaces = models.PositiveIntegerField(default=0)
    sole_workspace = models.UUIDField(null=True, blank=True)
    enrollments = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    goals = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.template_slug
