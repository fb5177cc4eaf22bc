from django.db import migrations

# Published versions are immutable (ARCHITECTURE, Guarantees): the database itself refuses to change a published
# version's settings or number, or the steps and connections of a published version. Deleting a whole workflow
# (and so its versions) stays possible; that is an explicit, guarded service.
SQL = """
CREATE FUNCTION workflows_refuse_published_row_change() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM workflows_workflowversion v WHERE v.id = OLD.version_id AND v.number IS NOT NULL) THEN
        RAISE EXCEPTION 'published workflow versions are immutable (% of version %)', TG_TABLE_NAME, OLD.version_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER workflows_step_immutable BEFORE UPDATE ON workflows_step
    FOR EACH ROW EXECUTE FUNCTION workflows_refuse_published_row_change();
CREATE TRIGGER workflows_connection_immutable BEFORE UPDATE ON workflows_connection
    FOR EACH ROW EXECUTE FUNCTION workflows_refuse_published_row_change();

CREATE FUNCTION workflows_refuse_published_version_change() RETURNS trigger AS $$
BEGIN
    IF OLD.number IS NOT NULL AND (
        NEW.number IS DISTINCT FROM OLD.number OR NEW.settings IS DISTINCT FROM OLD.settings
        OR NEW.workflow_id IS DISTINCT FROM OLD.workflow_id
    ) THEN
        RAISE EXCEPTION 'published workflow version % is immutable', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER workflows_version_immutable BEFORE UPDATE ON workflows_workflowversion
    FOR EACH ROW EXECUTE FUNCTION workflows_refuse_published_version_change();
"""

REVERSE = """
DROP TRIGGER IF EXISTS workflows_version_immutable ON workflows_workflowversion;
DROP TRIGGER IF EXISTS workflows_connection_immutable ON workflows_connection;
DROP TRIGGER IF EXISTS workflows_step_immutable ON workflows_step;
DROP FUNCTION IF EXISTS workflows_refuse_published_version_change();
DROP FUNCTION IF EXISTS workflows_refuse_published_row_change();
"""


class Migration(migrations.Migration):
    dependencies = [("workflows", "0001_initial")]

    operations = [migrations.RunSQL(SQL, reverse_sql=REVERSE)]
