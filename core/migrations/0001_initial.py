# The audit trail moves from accounts to the base layer: same rows, table renamed.
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def move_content_type(apps, schema_editor, *, source="accounts", target="core"):
    """Keep the model's content type (and so its permissions and the groups holding them).

    A placeholder the target may already have (made by a ``migrate`` run that stopped
    between the two apps' steps) is dropped: the source row is the one in use."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    types = ContentType.objects.using(schema_editor.connection.alias)
    moving = types.filter(app_label=source, model="auditlog").first()
    if moving is None:
        return
    types.filter(app_label=target, model="auditlog").delete()
    moving.app_label = target
    moving.save(update_fields=["app_label"])


def move_content_type_back(apps, schema_editor):
    move_content_type(apps, schema_editor, source="core", target="accounts")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0002_responsible_gaming"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE accounts_auditlog RENAME TO core_auditlog",
                    reverse_sql="ALTER TABLE core_auditlog RENAME TO accounts_auditlog",
                ),
            ],
            state_operations=[
                migrations.CreateModel(
                    name="AuditLog",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("action", models.CharField(max_length=100)),
                        ("target", models.CharField(max_length=200)),
                        ("details", models.JSONField(blank=True, default=dict)),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "actor",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={"ordering": ["-id"]},
                ),
            ],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
