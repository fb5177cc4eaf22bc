"""Lighter writes of enrollments and step runs: no database check of a step run's enrollment or of an enrollment's
version (Django still cascades and protects), and no index on the enrollment's created_at, which nothing reads.

Dropping the constraints is instant; the index is dropped concurrently, so that a large table's reads and writes
never wait for it (hence not atomic, like 0009)."""

import django.db.models.deletion
from django.contrib.postgres.operations import RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('workflows', '0016_enrollment_and_step_log_indexes_once'),
    ]

    operations = [
        RemoveIndexConcurrently(
            model_name='enrollment',
            name='enrollment_ws_created',
        ),
        migrations.AlterField(
            model_name='enrollment',
            name='version',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='enrollments', to='workflows.workflowversion'),
        ),
        migrations.AlterField(
            model_name='steprun',
            name='enrollment',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='step_runs', to='workflows.enrollment'),
        ),
    ]
