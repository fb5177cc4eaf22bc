"""Processing claims and the workspace timeline index.

`claimed_until` is the dispatcher's lease: an unprocessed event whose lease has expired (worker died, Redis lost
its job) is claimable again. The column has no default, so adding it to the partitioned table rewrites nothing.
"""

from django.db import migrations, models

FORWARD_SQL = """
ALTER TABLE events_event ADD COLUMN claimed_until timestamptz NULL;
-- GET /api/v1/events without a type or contact filter: a workspace's events, newest first.
CREATE INDEX events_event_ws_occurred ON events_event (workspace_id, occurred_at DESC, id DESC);
"""

REVERSE_SQL = """
DROP INDEX IF EXISTS events_event_ws_occurred;
ALTER TABLE events_event DROP COLUMN IF EXISTS claimed_until;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(FORWARD_SQL, reverse_sql=REVERSE_SQL)],
            state_operations=[
                migrations.AddField(
                    model_name="event",
                    name="claimed_until",
                    field=models.DateTimeField(blank=True, null=True),
                ),
            ],
        ),
    ]
