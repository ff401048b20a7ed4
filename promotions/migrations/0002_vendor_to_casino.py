# Vendor moved to casino (casino.0003 renamed its table); only the state moves here.
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("promotions", "0001_initial"),
        ("casino", "0003_vendor_from_promotions"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="vendorpromotion",
                    name="vendor",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="promotions", to="casino.vendor"
                    ),
                ),
                migrations.AlterField(
                    model_name="promotionhistory",
                    name="vendor",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="promotion_history", to="casino.vendor"
                    ),
                ),
                migrations.DeleteModel(name="Vendor"),
            ],
        ),
    ]
