"""The audit log becomes append-only.

Each row keeps its actor's username (filled here for existing rows), and its relations to the
user and the organisation no longer change the row when those are deleted (no SET NULL, no
constraint): on PostgreSQL a trigger then refuses every UPDATE and DELETE of the table. SQLite
(the embedded default) gets no trigger.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

APPEND_ONLY = """
CREATE FUNCTION accounts_auditlog_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'accounts_auditlog is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER accounts_auditlog_append_only
    BEFORE UPDATE OR DELETE ON accounts_auditlog
    FOR EACH ROW EXECUTE FUNCTION accounts_auditlog_append_only();
"""
DROP_APPEND_ONLY = """
DROP TRIGGER accounts_auditlog_append_only ON accounts_auditlog;
DROP FUNCTION accounts_auditlog_append_only();
"""


class PostgresOnlySQL(migrations.RunSQL):
    """RunSQL that does nothing on other databases."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def fill_usernames(apps, schema_editor):
    AuditLog = apps.get_model("accounts", "AuditLog")
    User = apps.get_model(settings.AUTH_USER_MODEL)
    usernames = dict(User.objects.values_list("pk", "username"))
    for actor_id in AuditLog.objects.exclude(actor_id=None).values_list("actor_id", flat=True).distinct():
        AuditLog.objects.filter(actor_id=actor_id).update(actor_username=usernames.get(actor_id, ""))


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_organisation_stripe_customer'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='auditlog',
            name='actor_username',
            field=models.CharField(blank=True, help_text='Kept when the user is deleted', max_length=150),
        ),
        migrations.AlterField(
            model_name='auditlog',
            name='actor',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='auditlog',
            name='organisation',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, to='accounts.organisation'),
        ),
        migrations.RunPython(fill_usernames, migrations.RunPython.noop),
        PostgresOnlySQL(APPEND_ONLY, DROP_APPEND_ONLY),
    ]
