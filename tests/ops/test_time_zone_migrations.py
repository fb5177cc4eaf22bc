"""Time zones saved before only canonical IANA names were accepted are rewritten, so published versions load."""

from __future__ import annotations

import importlib

from django.apps import apps
from django.db import connection

from contacts.models import Contact
from tests.engine.graphs import chain, node
from tests.factories import ContactFactory
from tests.workflows.builders import publish
from workflows.live_versions import versions_load
from workflows.models import Step, Workflow, WorkflowVersion

workflows_migration = importlib.import_module("workflows.migrations.0006_canonical_time_zones")
contacts_migration = importlib.import_module("contacts.migrations.0002_canonical_time_zones")


def test_stored_non_canonical_zones_are_rewritten_and_the_version_loads_again(workspace):
    workflow = publish(workspace, [node("t", "trigger_manual"),
                                   node("d", "delay", {"duration": "PT1H", "window": {
                                       "days": ["mon"], "start": "09:00", "end": "17:00",
                                       "timezone": "Europe/Paris"}})],
                       chain("t", "d"), settings={"timezone": "UTC"})
    version = WorkflowVersion.objects.get(workflow=workflow, number=1)
    step = Step.objects.get(version=version, node_id="d")
    with connection.schema_editor() as editor:  # as an older version stored them, before the names were checked
        workflows_migration._immutability(editor, "DISABLE")
        WorkflowVersion.objects.filter(pk=version.pk).update(settings={**version.settings, "timezone": "America"})
        Step.objects.filter(pk=step.pk).update(config={**step.config, "window": {**step.config["window"],
                                                                                 "timezone": "posix/Europe/Paris"}})
        workflows_migration._immutability(editor, "ENABLE")
    Workflow.objects.filter(pk=workflow.pk).update(settings={"timezone": "right/Asia/Tokyo"})
    odd = [ContactFactory(workspace=workspace, timezone=name) for name in ("posix/Europe/Paris", "Factory", "Etc")]
    fine = ContactFactory(workspace=workspace, timezone="Europe/Paris")

    with connection.schema_editor() as editor:
        workflows_migration.forwards(apps, editor)
        contacts_migration.forwards(apps, editor)

    assert WorkflowVersion.objects.get(pk=version.pk).settings["timezone"] == "UTC"
    assert Workflow.objects.get(pk=workflow.pk).settings["timezone"] == "Asia/Tokyo"
    assert Step.objects.get(pk=step.pk).config["window"]["timezone"] == "Europe/Paris"
    assert [Contact.objects.get(pk=c.pk).timezone for c in odd] == ["Europe/Paris", "", ""]
    assert Contact.objects.get(pk=fine.pk).timezone == "Europe/Paris"
    assert version.pk in versions_load([version.pk])
