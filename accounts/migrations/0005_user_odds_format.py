from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_username_unique_ci'),
    ]

    operations = [
        migrations.AddField(
            model_name='user',
            name='odds_format',
            field=models.CharField(choices=[('decimal', 'Decimal (2.50)'), ('fractional', 'Fractional (3/2)'), ('american', 'American (+150)')], default='decimal', max_length=10, verbose_name='Odds format'),
        ),
    ]
