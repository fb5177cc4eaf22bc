"""The admin serves every model to staff, and its actions go through services."""

from __future__ import annotations

import logging

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from tests.factories import CampaignFactory, ContactFactory, EmailTemplateFactory, SegmentFactory, UserFactory
from workflows.models import Enrollment, Workflow, WorkflowVersion

APP_LABELS = {"workspaces", "contacts", "campaigns", "templates", "events", "workflows"}


@pytest.fixture
def staff_client(client, db):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


@pytest.fixture
def populated(workspace):
    from workflows.services import workflow_create

    contact = ContactFactory(workspace=workspace)
    SegmentFactory(workspace=workspace)
    CampaignFactory(workspace=workspace)
    EmailTemplateFactory(workspace=workspace)
    workflow = workflow_create(
        workspace=workspace, name="W",
        graph={"nodes": [{"id": "n1", "type": "trigger_manual", "position": {"x": 0, "y": 0},
                          "data": {"config": {}}}], "edges": []},
    )
    version = WorkflowVersion.objects.get(workflow=workflow)
    Enrollment.objects.create(workspace=workspace, workflow=workflow, version=version, contact=contact,
                              entered_at=timezone.now(), status="waiting", entry_key="once")
    from contacts.services import contact_tags_change

    contact_tags_change(contact=contact, add=["vip"])  # an event to list
    return workflow


def our_models():
    return [model for model in admin.site._registry if model._meta.app_label in APP_LABELS]


def test_every_model_of_ours_is_registered():
    from django.apps import apps

    ours = {m for m in apps.get_models() if m._meta.app_label in APP_LABELS}
    assert ours - set(admin.site._registry) == set()


@pytest.mark.parametrize("model", our_models(), ids=lambda m: m._meta.label)
def test_changelist_and_change_pages_render(staff_client, populated, model):
    opts = model._meta
    response = staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert response.status_code == 200
    response = staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist") + "?q=a")
    assert response.status_code == 200
    obj = model._default_manager.first()
    if obj is not None:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        assert staff_client.get(url).status_code == 200


def test_status_is_never_editable_by_hand(staff_client, populated):
    url = reverse("admin:workflows_workflow_change", args=[populated.pk])
    html = staff_client.get(url).content.decode()
    assert 'name="status"' not in html


def test_pause_and_resume_actions_call_services(staff_client, populated):
    Workflow.objects.filter(pk=populated.pk).update(status="active")
    url = reverse("admin:workflows_workflow_changelist")
    page = staff_client.get(url).content.decode()
    pause = next(name for name in _action_names(page) if "pause" in name)
    resume = next(name for name in _action_names(page) if "resume" in name)
    staff_client.post(url, {"action": pause, "_selected_action": [str(populated.pk)]})
    assert Workflow.objects.get(pk=populated.pk).status == "paused"
    staff_client.post(url, {"action": resume, "_selected_action": [str(populated.pk)]})
    assert Workflow.objects.get(pk=populated.pk).status == "active"


def test_refused_action_reports_and_changes_nothing(staff_client, populated):
    url = reverse("admin:workflows_workflow_changelist")
    page = staff_client.get(url).content.decode()
    resume = next(name for name in _action_names(page) if "resume" in name)
    response = staff_client.post(url, {"action": resume, "_selected_action": [str(populated.pk)]}, follow=True)
    assert Workflow.objects.get(pk=populated.pk).status == "draft"
    assert "Only a paused workflow" in response.content.decode()


def test_cancel_enrollment_action(staff_client, populated):
    enrollment = Enrollment.objects.get(workflow=populated)
    url = reverse("admin:workflows_enrollment_changelist")
    page = staff_client.get(url).content.decode()
    cancel = next(name for name in _action_names(page) if "cancel" in name)
    staff_client.post(url, {"action": cancel, "_selected_action": [str(enrollment.pk)]})
    enrollment.refresh_from_db()
    assert enrollment.status == "cancelled"
    assert enrollment.next_run_at is None and enrollment.finished_at is not None


def _action_names(page: str) -> list[str]:
    import re

    return re.findall(r'<option value="(action_[^"]+)"', page)


class _SuperuserRequest:
    class user:  # stands for request.user
        is_active = is_staff = is_superuser = True

        @staticmethod
        def has_perm(perm, obj=None) -> bool:
            return True


def _read_only_models():
    """Our models whose admin refuses "add" even to a superuser (logs, audit rows, published versions)."""
    return [model for model, model_admin in admin.site._registry.items()
            if model._meta.app_label in APP_LABELS and not model_admin.has_add_permission(_SuperuserRequest())]


@pytest.mark.parametrize("model", _read_only_models(), ids=lambda m: m._meta.label)
def test_add_page_of_a_read_only_model_is_refused_on_one_log_line(staff_client, model, caplog):
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
    assert f'href="{add}"' not in staff_client.get(changelist).content.decode()  # not offered

    with caplog.at_level(logging.INFO):
        response = staff_client.get(add)  # typed or bookmarked

    assert response.status_code == 403
    (refusal,) = [record for record in caplog.records if record.name == "django.request"]
    assert refusal.levelname == "WARNING"
    assert refusal.getMessage() == f"Forbidden (Permission denied): {add}"
    assert [record for record in caplog.records if record.exc_info or record.exc_text] == []


@pytest.fixture
def terminal():
    """What the console handlers (ours, and any Django adds) would print for a django.request record."""
    import io

    stream = io.StringIO()
    handlers = {handler for name in ("django.request", "django", "")
                for handler in logging.getLogger(name).handlers if type(handler) is logging.StreamHandler}
    previous = {handler: handler.setStream(stream) for handler in handlers}
    yield stream
    for handler, old in previous.items():
        handler.setStream(old)


def test_refusal_reaches_the_terminal_once_without_a_traceback(staff_client, settings, terminal):
    settings.DEBUG = True  # as under `make run`, where Django's own console handler printed it a second time
    add = reverse("admin:events_event_add")

    assert staff_client.get(add).status_code == 403

    printed = terminal.getvalue()
    assert "Traceback" not in printed and "PermissionDenied" not in printed
    (line,) = [line for line in printed.splitlines() if "Forbidden" in line]
    assert line.endswith(f" WARNING django.request Forbidden (Permission denied): {add}")


def test_server_errors_keep_their_traceback(caplog):
    try:
        raise RuntimeError("boom")
    except RuntimeError as error:
        logging.getLogger("django.request").error("Internal Server Error: /x", exc_info=error,
                                                  extra={"status_code": 500})
    (record,) = [record for record in caplog.records if record.name == "django.request"]
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError


def test_a_workspace_whose_workflows_ran_is_deleted_from_the_admin_with_everything_in_it(staff_client, workspace):
    from penguinflow.workspaces.models import Workspace
    from tests.engine.graphs import chain, node
    from tests.workflows.builders import publish, run_due
    from workflows.enrollment_starts import Entry, enrollments_start
    from workflows.live_versions import published_version_of
    from workflows.models import StepRun

    workflow = publish(workspace, [node("t", "trigger_manual"), node("d", "delay", {"duration": "P1D"})],
                       chain("t", "d"))
    contacts = [ContactFactory(workspace=workspace) for _ in range(2)]
    enrollments_start(version=published_version_of(workflow), entries=[Entry(c.pk, "t") for c in contacts])
    run_due()  # both wait at the delay: step runs, counters and events behind them
    url = reverse("admin:workspaces_workspace_delete", args=[workspace.pk])
    assert staff_client.get(url).status_code == 200  # the confirmation lists what goes with it
    response = staff_client.post(url, {"post": "yes"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not Workspace.objects.filter(pk=workspace.pk).exists()
    assert not Workflow.objects.filter(pk=workflow.pk).exists()
    assert not Enrollment.objects.filter(workflow_id=workflow.pk).exists()
    assert not StepRun.objects.filter(enrollment__workflow_id=workflow.pk).exists()
