"""Empty the time zones of contacts saved before only canonical IANA names were accepted ("posix/Europe/Paris"
becomes "Europe/Paris"; "Factory", "localtime" and tzdata directories become empty, which means the workflow's)."""

from zoneinfo import available_timezones

from django.db import migrations

_PREFIXES = ("posix/", "right/")


def forwards(apps, schema_editor):
    zones = {name for name in available_timezones() if not name.startswith(_PREFIXES)} - {"Factory", "localtime",
                                                                                       "posixrules"}
    zones.add("UTC")
    Contact = apps.get_model("contacts", "Contact")
    wrong = Contact.objects.exclude(timezone="").exclude(timezone__in=zones)
    for contact in wrong.only("pk", "timezone").iterator(chunk_size=500):
        name = contact.timezone
        fixed = next((name[len(p):] for p in _PREFIXES if name.startswith(p) and name[len(p):] in zones), "")
        Contact.objects.filter(pk=contact.pk).update(timezone=fixed)


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
