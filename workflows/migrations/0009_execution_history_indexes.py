"""The execution history's filters and search, one index each (see workflows.execution_query).

Built CONCURRENTLY: on a table of 1,000,000 enrollments a plain CREATE INDEX would block the runtime's writes for
the whole build. The version's own foreign-key index gives way to (version, entered_at), which serves it too.
"""

import django.contrib.postgres.indexes
import django.db.models.deletion
import django.db.models.fields.json
import django.db.models.functions.text
from django.contrib.postgres.operations import AddIndexConcurrently, TrigramExtension
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('contacts', '0004_contact_email_trigram'),
        ('workflows', '0008_canvas_notes'),
        ('workspaces', '0002_webhook_signing_secret'),
    ]

    operations = [
        TrigramExtension(),
        migrations.AlterField(
            model_name='enrollment',
            name='version',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='enrollments', to='workflows.workflowversion'),
        ),
        AddIndexConcurrently(
            model_name='enrollment',
            index=models.Index(fields=['workspace', '-entered_at', '-id'], name='enrollment_ws_entered'),
        ),
        AddIndexConcurrently(
            model_name='enrollment',
            index=models.Index(fields=['workflow', '-entered_at'], name='enrollment_wf_entered'),
        ),
        AddIndexConcurrently(
            model_name='enrollment',
            index=models.Index(fields=['version', '-entered_at'], name='enrollment_version_entered'),
        ),
        AddIndexConcurrently(
            model_name='enrollment',
            index=models.Index(fields=['workspace', 'status', '-entered_at'], name='enrollment_ws_status_entered'),
        ),
        AddIndexConcurrently(
            model_name='enrollment',
            index=models.Index(fields=['workspace', 'current_node_id', '-entered_at'], name='enrollment_ws_node_entered'),
        ),
        AddIndexConcurrently(
            model_name='enrollment',
            index=models.Index(models.F('workspace'), django.db.models.fields.json.KeyTextTransform('type', 'error'), models.OrderBy(models.F('entered_at'), descending=True), condition=models.Q(('error__isnull', False)), name='enrollment_ws_error_type'),
        ),
        AddIndexConcurrently(
            model_name='enrollment',
            index=django.contrib.postgres.indexes.GinIndex(django.contrib.postgres.indexes.OpClass(django.db.models.functions.text.Upper(django.db.models.fields.json.KeyTextTransform('message', 'error')), name='gin_trgm_ops'), condition=models.Q(('error__isnull', False)), name='enrollment_error_trgm'),
        ),
    ]
