# A crash counter for enrollments; the database default keeps raw INSERTs (bench, tools) valid.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('workflows', '0004_enrollment_index_diet'),
    ]

    operations = [
        migrations.AddField(
            model_name='enrollment',
            name='crashes',
            field=models.PositiveSmallIntegerField(db_default=0, default=0),
        ),
    ]
