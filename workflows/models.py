"""Workflows ("sequences"), their versions as Step/Connection rows, enrollments and the step log."""

from __future__ import annotations

import secrets
import uuid

from django.contrib.postgres.indexes import BrinIndex, GinIndex, OpClass
from django.db import models
from django.db.models import F
from django.db.models.fields.json import KT
from django.db.models.functions import Upper

from penguinflow.common.models import WorkspaceScopedModel
from workflows.engine import statuses as enrollment_statuses


class Workflow(WorkspaceScopedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        ARCHIVED = "archived", "Archived"

    TRANSITIONS = {
        Status.DRAFT: {Status.ACTIVE, Status.ARCHIVED},
        Status.ACTIVE: {Status.PAUSED, Status.ARCHIVED},
        Status.PAUSED: {Status.ACTIVE, Status.ARCHIVED},
        Status.ARCHIVED: set(),
    }

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    # The settings of the published version in force (copied at publish); the draft's own settings live on its
    # version row, so that a published version's settings are as immutable as its graph.
    settings = models.JSONField(default=dict, blank=True)
    published_version = models.PositiveIntegerField(null=True, blank=True)
    # The secret part of the workflow's inbound webhook URL (trigger_webhook): /api/v1/hooks/<token>.
    webhook_token = models.CharField(max_length=64, unique=True, default=secrets.token_urlsafe, editable=False)

    class Meta:
        indexes = [models.Index(fields=["workspace", "status"], name="workflow_ws_status")]

    def __str__(self) -> str:
        return self.name


class WorkflowVersion(models.Model):
    """A graph of one workflow: the single mutable draft (number NULL) or an immutable published version."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(null=True, blank=True, help_text="Empty for the draft.")
    revision = models.PositiveIntegerField(default=1, help_text="Bumped by every draft save (optimistic locking).")
    settings = models.JSONField(default=dict, blank=True)
    # The canvas's sticky notes (workflows.canvas_notes): kept with the graph, never read by the engine.
    notes = models.JSONField(default=list, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # Who published it, as they were named then (a user, or an API key): the history outlives accounts and keys.
    published_by = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workflow"], condition=models.Q(number__isnull=True), name="workflow_version_one_draft"
            ),
            models.UniqueConstraint(
                fields=["workflow", "number"],
                condition=models.Q(number__isnull=False),
                name="workflow_version_unique_number",
            ),
        ]
        ordering = ["workflow", "-number"]

    def __str__(self) -> str:
        return f"{self.workflow} {'draft' if self.is_draft else f'v{self.number}'}"

    @property
    def is_draft(self) -> bool:
        return self.number is None


class Step(models.Model):
    """A node of a version's graph; field names match the engine's row shape (`Graph.from_rows`)."""

    version = models.ForeignKey(WorkflowVersion, on_delete=models.CASCADE, related_name="steps")
    node_id = models.CharField(max_length=64)
    type = models.CharField(max_length=64)
    label = models.CharField(max_length=200, blank=True)
    config = models.JSONField(default=dict, blank=True)
    position_x = models.FloatField(default=0)
    position_y = models.FloatField(default=0)
    extra = models.JSONField(default=dict, blank=True, help_text="Other builder data of the node, kept verbatim.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "node_id"], name="step_unique_node_per_version")]
        ordering = ["version", "id"]

    def __str__(self) -> str:
        return f"{self.node_id} ({self.type})"


class Connection(models.Model):
    """An edge of a version's graph: from a node's branch (React Flow's sourceHandle) to a node."""

    version = models.ForeignKey(WorkflowVersion, on_delete=models.CASCADE, related_name="connections")
    edge_id = models.CharField(max_length=64)
    source_node_id = models.CharField(max_length=64)
    target_node_id = models.CharField(max_length=64)
    branch = models.CharField(max_length=64, default="default")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "edge_id"], name="connection_unique_edge_per_version")]
        ordering = ["version", "id"]

    def __str__(self) -> str:
        return f"{self.source_node_id}[{self.branch}] → {self.target_node_id}"


# The live statuses as the database conditions spell them (plain strings, in the table's order).
_LIVE_VALUES = [status.value for status in enrollment_statuses.LIVE_STATUSES]


class Enrollment(WorkspaceScopedModel):
    """One contact's run through one version: the single source of truth of where it stands.

    Its statuses and their moves are the engine's (`workflows.engine.statuses`): the choices, `LIVE_STATUSES`,
    `TRANSITIONS` and the conditions of the constraints below are built from that table.
    """

    Status = models.TextChoices(
        "Status",
        [(status.name, (status.value, status.label)) for status in enrollment_statuses.EnrollmentStatus],
        module=__name__,
        qualname="Enrollment.Status",
    )
    LIVE_STATUSES = tuple(map(Status, _LIVE_VALUES))
    TRANSITIONS = enrollment_statuses.TRANSITIONS

    # Every write of an enrollment maintains each of its indexes, so none is kept twice: the foreign keys below
    # are served by the composite indexes of Meta that start with them (Django would add one more each).
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False)
    # Not indexed: nothing reads enrollments by creation time (the history orders by entered_at), and the
    # workspace's own lookups (its deletion) are served by enrollment_ws_entered, which starts with it.
    created_at = models.DateTimeField(auto_now_add=True)
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="enrollments", db_index=False)
    # No constraint in the database (Django still RESTRICTs a version with enrollments): a version is never deleted
    # while enrollments point at it, and the constraint's check ran once per row for every write that changes the
    # version (a migration's move: 7% of its database CPU), as a query of its own. RESTRICT, not PROTECT: deleting
    # the workflow or the workspace takes the enrollments with it (PROTECT refused even that).
    version = models.ForeignKey(WorkflowVersion, on_delete=models.RESTRICT, related_name="enrollments",
                                db_index=False, db_constraint=False)
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="enrollments",
                                db_index=False)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status(enrollment_statuses.INITIAL_STATUS)
    )
    current_node_id = models.CharField(max_length=64, blank=True)
    entered_at = models.DateTimeField()
    next_run_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Not indexed: the due claim is also the reaper, and an unindexed lease stamp can be a HOT update.
    lease_owner = models.CharField(max_length=128, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    step_count = models.PositiveIntegerField(default=0)
    context = models.JSONField(default=dict, blank=True, help_text="The engine's state (JSON) between steps.")
    trigger_event_id = models.BigIntegerField(null=True, blank=True)
    trigger_node_id = models.CharField(max_length=64, blank=True)
    # The event type a waiting enrollment waits for (wait_for_event), so arriving events find it by index.
    waiting_for = models.CharField(max_length=128, blank=True)
    # What makes an entry unique under the re-enrollment rule: "once" for `never` (so the unique constraint
    # refuses a second entry), otherwise the entry's own id. Enforced by the database, not by timing.
    entry_key = models.CharField(max_length=64)
    goal = models.CharField(max_length=200, blank=True)
    error = models.JSONField(null=True, blank=True)
    # Times running this enrollment raised outside any step (workflows.crashes.enrollment_crash_record).
    crashes = models.PositiveSmallIntegerField(default=0, db_default=0)


    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "contact"],
                condition=models.Q(status__in=_LIVE_VALUES),
                name="enrollment_one_live_per_contact",
            ),
            models.UniqueConstraint(fields=["workflow", "contact", "entry_key"], name="enrollment_unique_entry"),
        ]
        indexes = [
            models.Index(
                fields=["next_run_at"],
                condition=models.Q(status__in=_LIVE_VALUES),
                name="enrollment_due_live",
            ),
            models.Index(fields=["workflow", "status"], name="enrollment_workflow_status"),
            models.Index(fields=["contact", "-entered_at"], name="enrollment_contact"),
            # The history's filters, each served by one index in list order (workflows.execution_query).
            models.Index(fields=["workspace", "-entered_at", "-id"], name="enrollment_ws_entered"),
            models.Index(fields=["workflow", "-entered_at"], name="enrollment_wf_entered"),
            models.Index(fields=["version", "-entered_at"], name="enrollment_version_entered"),
            models.Index(fields=["workspace", "status", "-entered_at"], name="enrollment_ws_status_entered"),
            models.Index(fields=["workspace", "current_node_id", "-entered_at"], name="enrollment_ws_node_entered"),
            models.Index(F("workspace"), KT("error__type"), F("entered_at").desc(), name="enrollment_ws_error_type",
                         condition=models.Q(error__isnull=False)),
            GinIndex(OpClass(Upper(KT("error__message")), name="gin_trgm_ops"), name="enrollment_error_trgm",
                     condition=models.Q(error__isnull=False)),
            models.Index(
                fields=["contact", "waiting_for"],
                condition=models.Q(status=enrollment_statuses.EnrollmentStatus.WAITING.value)
                & ~models.Q(waiting_for=""),
                name="enrollment_event_waiters",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.workflow_id} ({self.status})"


class StepRun(models.Model):
    """The audit trail: one row per execution of one step of one enrollment."""

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"
        WAITING = "waiting", "Waiting"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Served by steprun_enrollment_sequence, which starts with it: a second index would be written by every step.
    # No constraint in the database, as on the events table: every step's row is written by the transaction that
    # holds its enrollment (so the enrollment exists), and enrollments are deleted through Django, which deletes
    # their step runs first. The constraint's check was a query per inserted row, at commit, for every step the
    # runtime runs and every move a migration logs.
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="step_runs", db_index=False,
                                   db_constraint=False)
    node_id = models.CharField(max_length=64)
    type = models.CharField(max_length=64)
    attempt = models.PositiveIntegerField(default=1)
    visit = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices)
    branch = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    error_type = models.CharField(max_length=200, blank=True)
    error_message = models.TextField(blank=True)
    error_traceback = models.TextField(blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    # Steps of one batch share a timestamp; this database sequence keeps their order (rows insert in order).
    sequence = models.BigIntegerField(
        db_default=models.Func(models.Value("workflows_steprun_sequence"), function="nextval"), editable=False
    )

    class Meta:
        indexes = [
            models.Index(fields=["enrollment", "sequence"], name="steprun_enrollment_sequence"),
            models.Index(
                fields=["status", "error_type"], condition=models.Q(status="failed"), name="steprun_failed"
            ),
        ]
        ordering = ["enrollment", "sequence"]

    def __str__(self) -> str:
        return f"{self.node_id} #{self.attempt} {self.status}"


class WorkflowCounter(models.Model):
    """Analytics kept incrementally: one counter per (version, key), bumped in the same transaction as the change.

    Keys: `enrollments.<status>`, `node.<node id>.entered|succeeded|failed|waiting`, `goals.reached`,
    `split.<node id>.<variant>.entered|goal_reached`, `trigger.<node id>.not_entered` (entries a trigger refused
    because its filter could not be evaluated). Reading analytics never scans enrollments or step runs.
    """

    version = models.ForeignKey(WorkflowVersion, on_delete=models.CASCADE, related_name="counters")
    key = models.CharField(max_length=200)
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "key"], name="workflow_counter_unique")]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class WorkflowDailyCounter(models.Model):
    """Counters by UTC day, for the charts: `entries` (enrollments started) and `goals.reached`, bumped with the
    all-time counters (`workflows.counters.DAILY_KEYS`), in the same upsert round. A day is a row per version and
    key: a year of a workflow's charts is 730 rows per version, read by one index range."""

    version = models.ForeignKey(WorkflowVersion, on_delete=models.CASCADE, related_name="daily_counters",
                                db_index=False)
    day = models.DateField()
    key = models.CharField(max_length=64)
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "day", "key"], name="workflow_daily_counter_unique")]

    def __str__(self) -> str:
        return f"{self.day} {self.key}={self.value}"


class TriggerCursor(models.Model):
    """How far a time-based trigger (schedule, date field, inactivity) of a version has fired."""

    version = models.ForeignKey(WorkflowVersion, on_delete=models.CASCADE, related_name="trigger_cursors")
    node_id = models.CharField(max_length=64)
    fired_until = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "node_id"], name="trigger_cursor_unique")]

    def __str__(self) -> str:
        return f"{self.node_id} until {self.fired_until:%Y-%m-%d %H:%M}"


class VersionMigration(models.Model):
    """A job that moves the live enrollments of older versions onto a newer one (CONTRACT §17).

    The plan (`moves`: one rule per old node, as `workflows.engine.migration` makes them) is fixed when the job
    is made; the enrollments it still has to move are its items. Each batch moves enrollments and deletes their
    items in one transaction, so a crash loses or repeats nothing: the job resumes with the items left.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="migrations")
    to_version = models.ForeignKey(WorkflowVersion, on_delete=models.CASCADE, related_name="+")
    from_versions = models.JSONField(help_text="The numbers of the versions whose enrollments move.")
    moves = models.JSONField(help_text="Per old version and node: where its contacts go and what their timer does.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    total = models.PositiveIntegerField(default=0)
    moved = models.PositiveIntegerField(default=0)
    exited = models.PositiveIntegerField(default=0)
    # Contacts that reached a node without a move after the plan was made (a removed node nobody stood at then):
    # they stay on their version, and are counted here.
    left = models.PositiveIntegerField(default=0)
    # Who applies it now: a process takes over a job whose lease ran out (its applier died).
    lease_owner = models.CharField(max_length=128, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status"], name="version_migration_status",
                                condition=models.Q(status="running"))]

    def __str__(self) -> str:
        return f"{self.workflow_id} → v{self.to_version_id} ({self.status})"


class VersionMigrationItem(models.Model):
    """An enrollment a migration still has to move (deleted in the transaction that moves it)."""

    id = models.BigAutoField(primary_key=True)
    migration = models.ForeignKey(VersionMigration, on_delete=models.CASCADE, related_name="items",
                                  db_index=False)
    enrollment_id = models.UUIDField()

    class Meta:
        indexes = [models.Index(fields=["migration", "id"], name="version_migration_item_order")]

    def __str__(self) -> str:
        return f"{self.enrollment_id} in {self.migration_id}"


class SendLedgerEntry(models.Model):
    """A message that went out to a contact from a workflow step: the send ledger frequency caps count
    (`workflows.engine.caps`). Written in the transaction of the step that sent it, under the contact's row lock.

    A check reads one contact's rows of the last period by the index (contact, sent_at), which carries the
    channel and key, so it reads no table page. Rows older than the longest period a cap may have (P366D) are
    deleted hourly by the scheduler (`send_ledger_forget`), through the BRIN index on `sent_at`.
    """

    id = models.BigAutoField(primary_key=True)
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+", db_index=False)
    channel = models.CharField(max_length=8)
    sent_at = models.DateTimeField()
    # The step's effect key: a step run again (a retry by hand) does not record its message twice.
    key = models.CharField(max_length=200)

    class Meta:
        indexes = [
            models.Index(fields=["contact", "sent_at"], include=["channel", "key"], name="send_ledger_contact_at"),
            BrinIndex(fields=["sent_at"], name="send_ledger_sent_at_brin"),
        ]
        constraints = [models.UniqueConstraint(fields=["key", "channel"], name="send_ledger_key_channel")]

    def __str__(self) -> str:
        return f"{self.channel} to {self.contact_id} at {self.sent_at:%Y-%m-%d %H:%M}"


class EngagementHour(models.Model):
    """How often a contact engaged on a channel in one local hour of the week (0 = Monday 00:00): the evidence of
    send-time optimization (`workflows.engine.send_time`). Kept incrementally by event processing
    (`workflows.engagement_hours`), so choosing a send time reads a few rows, never the event log. Sparse: an hour
    the contact never engaged in has no row."""

    id = models.BigAutoField(primary_key=True)
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+", db_index=False)
    channel = models.CharField(max_length=8)
    hour = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "channel", "hour"], name="engagement_hour_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.channel} hour {self.hour}: {self.count}"


class WorkspaceEngagementHour(models.Model):
    """The workspace's engagements on a channel by local hour of the week: the prior every contact's send-time
    model is shrunk towards (the fallback for contacts with little or no history)."""

    id = models.BigAutoField(primary_key=True)
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False)
    channel = models.CharField(max_length=8)
    hour = models.PositiveSmallIntegerField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "channel", "hour"], name="workspace_engagement_hour"),
        ]

    def __str__(self) -> str:
        return f"{self.workspace_id} {self.channel} hour {self.hour}: {self.count}"


class SplitAllocationChange(models.Model):
    """A change of an optimizing split's allocation, with its reason (`workflows.engine.bandit`): what the
    analytics show on the split node. The latest row of a node is its allocation in force (and its winner)."""

    id = models.BigAutoField(primary_key=True)
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="+", db_index=False)
    node_id = models.CharField(max_length=200)
    goal = models.CharField(max_length=200)
    at = models.DateTimeField()
    shares = models.JSONField()
    probability_best = models.JSONField()
    winner = models.CharField(max_length=64, blank=True)
    reason = models.TextField()
    # The variant that reached the confidence and the split's entries then: the stopping rule's memory.
    candidate = models.CharField(max_length=64, blank=True)
    candidate_entries = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["workflow", "node_id", "-id"], name="split_allocation_latest")]

    def __str__(self) -> str:
        return f"{self.workflow_id} {self.node_id} at {self.at:%Y-%m-%d %H:%M}"


class SuggestionDecision(models.Model):
    """What a marketer did with a path suggestion (`workflows.suggestions`): applied or dismissed. A decided
    suggestion is no longer listed; the rows also give the acceptance rate per kind."""

    class Status(models.TextChoices):
        APPLIED = "applied"
        DISMISSED = "dismissed"

    id = models.BigAutoField(primary_key=True)
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="+", db_index=False)
    suggestion_id = models.CharField(max_length=32)
    kind = models.CharField(max_length=40)
    status = models.CharField(max_length=16, choices=Status.choices)
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workflow", "suggestion_id"], name="suggestion_decided_once")]

    def __str__(self) -> str:
        return f"{self.workflow_id} {self.kind} {self.status}"


class ContentChoice(models.Model):
    """A template a send step chose among its candidates for one contact (`workflows.engine.content`), and
    whether the contact clicked it: the evidence of content recommendations. One row per step effect key, so a
    retry finds the first try's choice and sends the same template."""

    id = models.BigAutoField(primary_key=True)
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="+", db_index=False)
    node_id = models.CharField(max_length=200)
    key = models.CharField(max_length=300, unique=True)
    template_id = models.CharField(max_length=100)
    # The contact's top topic when the step chose (empty: none): the choices of similar contacts are those
    # with the same topic.
    topic = models.CharField(max_length=64, blank=True)
    clicked = models.BooleanField(default=False)
    chosen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["workflow", "node_id"], name="content_choice_node")]

    def __str__(self) -> str:
        return f"{self.key}: {self.template_id}"
