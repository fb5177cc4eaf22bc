"""Rewrite time zones saved before only canonical IANA names were accepted.

"posix/Europe/Paris" and "right/Europe/Paris" become "Europe/Paris"; "Factory", "localtime" and tzdata
directories ("America") become "UTC". Without this, a version published with one of them would no longer load.
The rule is written out here, not imported: a migration must keep meaning what it meant when it was written.

Published versions are immutable (database triggers refuse changes); this repair is the one exception, so the
triggers are switched off for its own transaction only: the names it rewrites meant the same zone, or none that
could load.
"""

from zoneinfo import available_timezones

from django.db import migrations

_PREFIXES = ("posix/", "right/")


def canonical(name, zones):
    if not isinstance(name, str) or name in zones or name == "contact":
        return name
    for prefix in _PREFIXES:
        if name.startswith(prefix) and name[len(prefix):] in zones:
            return name[len(prefix):]
    return "UTC"


def _fixed(config, zones):
    """Return `config` with its time zones canonical (top level and its `window`), or None when unchanged."""
    if not isinstance(config, dict):
        return None
    changed = dict(config)
    if "timezone" in changed:
        changed["timezone"] = canonical(changed["timezone"], zones)
    window = changed.get("window")
    if isinstance(window, dict) and "timezone" in window:
        changed["window"] = {**window, "timezone": canonical(window["timezone"], zones)}
    return changed if changed != config else None


_IMMUTABILITY_TRIGGERS = (("workflows_workflowversion", "workflows_version_immutable"),
                          ("workflows_step", "workflows_step_immutable"))


def _immutability(schema_editor, state: str) -> None:
    # ALTER TABLE refuses to run while deferred constraint checks of this transaction are pending: run them now.
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for table, trigger in _IMMUTABILITY_TRIGGERS:
        schema_editor.execute(f"ALTER TABLE {table} {state} TRIGGER {trigger}")


def forwards(apps, schema_editor):
    _immutability(schema_editor, "DISABLE")
    try:
        _rewrite(apps)
    finally:
        _immutability(schema_editor, "ENABLE")


def _rewrite(apps):
    zones = {name for name in available_timezones() if not name.startswith(_PREFIXES)} - {"Factory", "localtime",
                                                                                       "posixrules"}
    zones.add("UTC")
    for model_name, field in (("Workflow", "settings"), ("WorkflowVersion", "settings"), ("Step", "config")):
        model = apps.get_model("workflows", model_name)
        for row in model.objects.exclude(**{field: {}}).only("pk", field).iterator(chunk_size=500):
            fixed = _fixed(getattr(row, field), zones)
            if fixed is not None:
                model.objects.filter(pk=row.pk).update(**{field: fixed})


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0005_enrollment_crashes"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
