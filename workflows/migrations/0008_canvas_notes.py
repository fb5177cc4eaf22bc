from django.db import migrations, models

# A published version's notes are as immutable as the rest of it (0002): the trigger's function now compares them too.
_FUNCTION = """
CREATE OR REPLACE FUNCTION workflows_refuse_published_version_change() RETURNS trigger AS $$
BEGIN
    IF OLD.number IS NOT NULL AND (
        NEW.number IS DISTINCT FROM OLD.number OR NEW.settings IS DISTINCT FROM OLD.settings
        OR NEW.workflow_id IS DISTINCT FROM OLD.workflow_id{notes}
    ) THEN
        RAISE EXCEPTION 'published workflow version % is immutable', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0007_version_published_by"),
    ]

    operations = [
        migrations.AddField(
            model_name="workflowversion",
            name="notes",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.RunSQL(
            _FUNCTION.format(notes=" OR NEW.notes IS DISTINCT FROM OLD.notes"),
            reverse_sql=_FUNCTION.format(notes=""),
        ),
    ]
