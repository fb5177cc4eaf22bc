"""What contacts do: the event log, range-partitioned by `occurred_at` (weekly partitions + a default one).

Django cannot declare a partitioned table, so `Event` is unmanaged and the table is created by migration 0001 in
SQL. Its real primary key is (id, occurred_at), as PostgreSQL requires the partition key in it; `id` alone comes
from one sequence and is unique, which is all the ORM needs.
"""

from __future__ import annotations

from django.contrib.postgres.indexes import BrinIndex
from django.db import models

from penguinflow.common.models import WorkspaceQuerySet


class Event(models.Model):
    class Source(models.TextChoices):
        API = "api", "Ingestion API"
        TRACKING = "tracking", "Tracking pixel or click"
        ESP = "esp", "ESP webhook"
        SYSTEM = "system", "PenguinFlow itself"
        WEBHOOK = "webhook", "Inbound workflow webhook"
        WEB = "web", "Website tracking script"

    id = models.BigAutoField(primary_key=True)
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.DO_NOTHING, related_name="+")
    contact_id = models.UUIDField(null=True, blank=True)
    type = models.CharField(max_length=128)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    properties = models.JSONField(default=dict)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.API)
    client_id = models.CharField(max_length=128, null=True, blank=True, help_text="The producer's id (dedupe).")
    flags = models.JSONField(default=dict, blank=True, help_text="e.g. {'bot': true} for scanner hits.")
    processed_at = models.DateTimeField(null=True, blank=True)
    # The dispatcher's lease on an unprocessed event; once it has passed, the event is claimable again.
    claimed_until = models.DateTimeField(null=True, blank=True)
    # Poison handling (events.processing): failures are counted and retried with backoff, then the event is parked.
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times processing this event failed.")
    last_error = models.TextField(null=True, blank=True)
    parked_at = models.DateTimeField(null=True, blank=True,
                                     help_text="Given up on after repeated failures; replay to retry.")

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        managed = False
        db_table = "events_event"
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class EventKey(models.Model):
    """The dedupe key of an event: (workspace, producer id) is unique across all partitions.

    A unique index on the partitioned table would have to include `occurred_at`, so a repeat with another
    timestamp would slip through; this small unpartitioned table is the global guard.

    Every keyed event writes a row here, so the table carries only what ingestion can afford: the unique index
    (which also serves workspace lookups) and a BRIN index on `created_at` for retention (keys arrive in time
    order). No database foreign key: its per-row check cost a quarter of a batch insert's time in PostgreSQL,
    and the workspace is the one the API key resolved; deleting a workspace still deletes its keys (the ORM's
    cascade).
    """

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+",
                                  db_constraint=False, db_index=False)
    key = models.CharField(max_length=160)
    event_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="event_key_unique")]
        indexes = [BrinIndex(fields=["created_at"], name="event_key_created_brin")]

    def __str__(self) -> str:
        return self.key
