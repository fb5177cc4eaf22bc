"""Search contacts by part of their email: a trigram index (pg_trgm), built without locking writes."""

import django.contrib.postgres.indexes
import django.db.models.functions.text
from django.contrib.postgres.operations import AddIndexConcurrently, TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('contacts', '0003_segment_members_as_of'),
        ('workspaces', '0002_webhook_signing_secret'),
    ]

    operations = [
        TrigramExtension(),
        AddIndexConcurrently(
            model_name='contact',
            index=django.contrib.postgres.indexes.GinIndex(django.contrib.postgres.indexes.OpClass(django.db.models.functions.text.Upper('email'), name='gin_trgm_ops'), name='contact_email_trgm'),
        ),
    ]
