"""Scores move from a column of the contact to a table of their own (ContactScores): the scores written so far go
with them, then the column goes."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('contacts', '0007_contact_interests'),
    ]

    operations = [
        migrations.CreateModel(
            name='ContactScores',
            fields=[
                ('contact', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='scores', serialize=False, to='contacts.contact')),
                ('predictions', models.JSONField(db_default={}, default=dict, help_text='{"churn_risk": {"score": 0-100 | null, "reasons": [...], "model_version", "scored_at"}, ...}; a null score means not enough data.')),
            ],
            options={
                'verbose_name_plural': 'contact scores',
            },
        ),
        migrations.RunSQL(
            "INSERT INTO contacts_contactscores (contact_id, predictions) "
            "SELECT id, predictions FROM contacts_contact WHERE predictions <> '{}'::jsonb",
            reverse_sql="UPDATE contacts_contact c SET predictions = s.predictions FROM contacts_contactscores s "
                        "WHERE s.contact_id = c.id",
        ),
        migrations.RemoveField(
            model_name='contact',
            name='predictions',
        ),
    ]
