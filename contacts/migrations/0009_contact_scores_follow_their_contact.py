"""Contact scores lose their foreign key: a trigger deletes a deleted contact's scores instead, after the score
writes in flight (contacts.score_writes)."""


import django.db.models.deletion
from django.db import migrations, models

# contacts.score_writes explains the design; its SCORE_WRITES_LOCK is the first key here (a test holds them equal).
TRIGGER = """
CREATE FUNCTION contacts_scores_follow_deleted_contacts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Wait for the score writes in flight in these workspaces, in one order (two deletions never deadlock)...
    PERFORM pg_advisory_xact_lock(1935623027, hashtext(w::text))
    FROM (SELECT DISTINCT workspace_id AS w FROM gone ORDER BY 1) AS workspaces;
    -- ...then delete the deleted contacts' scores, theirs included (each statement here sees what committed).
    DELETE FROM contacts_contactscores s USING gone g WHERE s.contact_id = g.id;
    RETURN NULL;
END $$;
CREATE TRIGGER contacts_scores_follow_deleted_contacts AFTER DELETE ON contacts_contact
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION contacts_scores_follow_deleted_contacts();
"""
UNTRIGGER = """
DROP TRIGGER contacts_scores_follow_deleted_contacts ON contacts_contact;
DROP FUNCTION contacts_scores_follow_deleted_contacts();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('contacts', '0008_contact_scores_table'),
    ]

    operations = [
        migrations.AlterField(
            model_name='contactscores',
            name='contact',
            field=models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='scores', serialize=False, to='contacts.contact'),
        ),
        migrations.RunSQL(TRIGGER, reverse_sql=UNTRIGGER),
    ]
