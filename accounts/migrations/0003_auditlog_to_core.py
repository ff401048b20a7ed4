# AuditLog now belongs to core (core.0001 renamed its table); only the state moves here.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_responsible_gaming"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="AuditLog")]),
    ]
