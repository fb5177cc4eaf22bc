"""Poison events: count failed attempts and park an event that keeps failing, with its error.

`attempts` counts the times processing this event raised; `last_error` keeps the latest; `parked_at` is set when
the event is given up on (it also gets `processed_at`, so it leaves the queue and the partial index of unprocessed
events). A person replays a parked event from the admin or the API. The constant default adds `attempts` to the
partitioned table without rewriting it (PostgreSQL 11+).
"""

from django.db import migrations, models

FORWARD_SQL = """
ALTER TABLE events_event ADD COLUMN attempts smallint NOT NULL DEFAULT 0;
ALTER TABLE events_event ADD COLUMN last_error text NULL;
ALTER TABLE events_event ADD COLUMN parked_at timestamptz NULL;
CREATE INDEX events_event_parked ON events_event (workspace_id, parked_at DESC, id DESC) WHERE parked_at IS NOT NULL;
"""

REVERSE_SQL = """
DROP INDEX IF EXISTS events_event_parked;
ALTER TABLE events_event DROP COLUMN IF EXISTS parked_at;
ALTER TABLE events_event DROP COLUMN IF EXISTS last_error;
ALTER TABLE events_event DROP COLUMN IF EXISTS attempts;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0003_eventkey_diet"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(FORWARD_SQL, reverse_sql=REVERSE_SQL)],
            state_operations=[
                migrations.AddField(
                    model_name="event",
                    name="attempts",
                    field=models.PositiveSmallIntegerField(default=0, help_text="Times processing this event failed."),
                ),
                migrations.AddField(
                    model_name="event",
                    name="last_error",
                    field=models.TextField(blank=True, null=True),
                ),
                migrations.AddField(
                    model_name="event",
                    name="parked_at",
                    field=models.DateTimeField(blank=True, null=True,
                                               help_text="Given up on after repeated failures; replay to retry."),
                ),
            ],
        ),
    ]
