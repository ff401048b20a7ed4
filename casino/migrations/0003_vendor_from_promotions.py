# A vendor (game studio) belongs with its games: the model moves from promotions to
# casino, so casino no longer depends on promotions. Same rows, table renamed; the
# content type moves too, so permissions and staff groups keep working.
import django.db.models.deletion
from django.db import migrations, models


def move_content_type(apps, schema_editor, *, source="promotions", target="casino"):
    """Keep the model's content type (and so its permissions and the groups holding them).

    A placeholder the target may already have (made by a ``migrate`` run that stopped
    between the two apps' steps) is dropped: the source row is the one in use."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    types = ContentType.objects.using(schema_editor.connection.alias)
    moving = types.filter(app_label=source, model="vendor").first()
    if moving is None:
        return
    types.filter(app_label=target, model="vendor").delete()
    moving.app_label = target
    moving.save(update_fields=["app_label"])


def move_content_type_back(apps, schema_editor):
    move_content_type(apps, schema_editor, source="casino", target="promotions")


class Migration(migrations.Migration):
    dependencies = [
        ("casino", "0002_initial"),
        ("promotions", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE promotions_vendor RENAME TO casino_vendor",
                    reverse_sql="ALTER TABLE casino_vendor RENAME TO promotions_vendor",
                ),
            ],
            state_operations=[
                migrations.CreateModel(
                    name="Vendor",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("version", models.BigIntegerField(default=0, editable=False)),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("slug", models.SlugField(unique=True)),
                        ("name", models.CharField(max_length=100)),
                    ],
                    options={"ordering": ["name"]},
                ),
                migrations.AlterField(
                    model_name="game",
                    name="vendor",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="games",
                        to="casino.vendor",
                    ),
                ),
            ],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
