"""Drop two indexes that duplicated others: every step and every migrated enrollment wrote them for nothing.

The step log's foreign key is served by steprun_enrollment_sequence (enrollment_id, sequence). Only its index is
dropped: Django's own AlterField would drop and re-add the foreign key too, which validates the whole step log
under a lock.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("workflows", "0015_merge_0014_content_choices_0014_suggestion_decisions"),
    ]

    operations = [
        migrations.AlterField(
            model_name="enrollment",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="steprun",
                    name="enrollment",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="step_runs",
                        to="workflows.enrollment",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS workflows_steprun_enrollment_id_15ae9d36",
                    "CREATE INDEX workflows_steprun_enrollment_id_15ae9d36 ON workflows_steprun (enrollment_id)",
                ),
            ],
        ),
    ]
