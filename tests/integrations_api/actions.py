"""The action endpoints integrations (Zapier) call, as data: each one's request, a second request that differs
only in its body, and what to count to see whether it ran. docs/integrations-actions.md lists the same actions;
tests/integrations_api/test_actions.py holds the two to each other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from campaigns.models import CampaignMember
from contacts.models import Contact, Segment
from events.models import Event
from tasks.models import Task
from templates.models import OutboxMessage
from tests.engine.graphs import chain, node
from tests.factories import CampaignFactory, ContactFactory, EmailTemplateFactory
from tests.workflows.builders import publish
from workflows.models import Enrollment


@dataclass
class World:
    """One object of each kind an action acts on, in the test's workspace."""

    workspace: Any
    contact: Any
    workflow: Any
    campaign: Any
    template: Any

    def events(self, type_: str) -> int:
        return Event.objects.filter(workspace=self.workspace, type=type_).count()


def world_make(workspace) -> World:
    contact = ContactFactory(workspace=workspace, email="ada@example.com", tags=["old"], fields={"plan": "free"})
    # A long wait after the trigger keeps enrollments live, so that removing them has something to remove.
    workflow = publish(workspace, [node("t", "trigger_manual"), node("d", "delay", {"duration": "P30D"})],
                       chain("t", "d"))
    return World(workspace=workspace, contact=contact, workflow=workflow, campaign=CampaignFactory(workspace=workspace),
                 template=EmailTemplateFactory(workspace=workspace))


@dataclass(frozen=True)
class Action:
    """An action: `request(world)` gives (method, path, body, other body); `effect(world)` counts what it did."""

    name: str
    method: str
    path: Callable[[World], str]
    body: Callable[[World], Any]
    other_body: Callable[[World], Any]
    effect: Callable[[World], int]
    ok: int = 200
    prepare: Callable[[World, Any], None] | None = None  # e.g. enroll the contact before removing it


def _contact(w: World) -> str:
    return f"/api/v1/contacts/{w.contact.pk}"


def _ref(w: World) -> dict:
    return {"contacts": [{"id": str(w.contact.pk)}]}


def _enroll(w: World, api) -> None:
    assert api.post(f"/api/v1/workflows/{w.workflow.pk}/enroll", _ref(w), format="json").status_code == 202


def _campaign_join(w: World, api) -> None:
    assert api.post(f"/api/v1/campaigns/{w.campaign.pk}/add-contacts", _ref(w), format="json").status_code == 200


def _campaign_run(w: World, api) -> None:
    assert api.post(f"/api/v1/campaigns/{w.campaign.pk}/start", format="json").status_code == 200


def _workflow_pause(w: World, api) -> None:
    assert api.post(f"/api/v1/workflows/{w.workflow.pk}/pause", format="json").status_code == 200


ACTIONS: list[Action] = [
    Action("create a contact", "POST", lambda w: "/api/v1/contacts", lambda w: {"email": "new@example.com"},
           lambda w: {"email": "other@example.com"}, lambda w: Contact.objects.count(), ok=201),
    Action("update a contact", "PATCH", _contact, lambda w: {"first_name": "Grace"},
           lambda w: {"first_name": "Ada"}, lambda w: w.events("contact.updated")),
    Action("find or create a contact", "POST", lambda w: "/api/v1/contacts/find-or-create",
           lambda w: {"email": "found@example.com"}, lambda w: {"email": "else@example.com"},
           lambda w: Contact.objects.count(), ok=201),
    Action("add tags", "POST", lambda w: f"{_contact(w)}/tags", lambda w: {"add": ["vip"]},
           lambda w: {"add": ["other"]}, lambda w: w.events("contact.tagged")),
    Action("remove tags", "POST", lambda w: f"{_contact(w)}/tags", lambda w: {"remove": ["old"]},
           lambda w: {"remove": ["vip"]}, lambda w: w.events("contact.untagged")),
    Action("set a field", "POST", lambda w: f"{_contact(w)}/set-field", lambda w: {"field": "plan", "value": "pro"},
           lambda w: {"field": "plan", "value": "team"}, lambda w: w.events("contact.updated")),
    Action("change status", "PATCH", _contact, lambda w: {"status": "bounced"}, lambda w: {"status": "subscribed"},
           lambda w: w.events("contact.updated")),
    # Counted by the score itself: a second run would add 5 again.
    Action("update score", "POST", lambda w: f"{_contact(w)}/score", lambda w: {"delta": 5}, lambda w: {"delta": 6},
           lambda w: Contact.objects.get(pk=w.contact.pk).score),
    Action("unsubscribe", "POST", lambda w: f"{_contact(w)}/unsubscribe", lambda w: None, lambda w: {"x": 1},
           lambda w: w.events("contact.updated")),
    Action("erase a contact", "DELETE", _contact, lambda w: None, lambda w: {"x": 1},
           lambda w: 1 - Contact.objects.filter(pk=w.contact.pk).count(), ok=204),
    Action("record a custom event", "POST", lambda w: "/api/v1/events",
           lambda w: {"type": "order.completed", "contact": {"email": "ada@example.com"}},
           lambda w: {"type": "order.refunded", "contact": {"email": "ada@example.com"}},
           lambda w: w.events("order.completed"), ok=202),
    Action("enroll in a workflow", "POST", lambda w: f"/api/v1/workflows/{w.workflow.pk}/enroll", _ref,
           lambda w: {"contacts": [{"email": "ada@example.com"}]},
           lambda w: Enrollment.objects.filter(workflow=w.workflow).count(), ok=202),
    Action("remove from a workflow", "POST", lambda w: f"/api/v1/workflows/{w.workflow.pk}/unenroll", _ref,
           lambda w: {"contacts": [{"email": "ada@example.com"}]},
           lambda w: Enrollment.objects.filter(workflow=w.workflow, status="cancelled").count(), prepare=_enroll),
    Action("pause a workflow", "POST", lambda w: f"/api/v1/workflows/{w.workflow.pk}/pause", lambda w: None,
           lambda w: {"x": 1}, lambda w: int(type(w.workflow).objects.get(pk=w.workflow.pk).status == "paused")),
    Action("resume a workflow", "POST", lambda w: f"/api/v1/workflows/{w.workflow.pk}/resume", lambda w: None,
           lambda w: {"x": 1}, lambda w: int(type(w.workflow).objects.get(pk=w.workflow.pk).status == "active"),
           prepare=_workflow_pause),
    Action("add to a campaign", "POST", lambda w: f"/api/v1/campaigns/{w.campaign.pk}/add-contacts", _ref,
           lambda w: {"contacts": [{"email": "ada@example.com"}]}, lambda w: w.events("campaign.contact_added")),
    Action("remove from a campaign", "POST", lambda w: f"/api/v1/campaigns/{w.campaign.pk}/remove-contacts", _ref,
           lambda w: {"contacts": [{"email": "ada@example.com"}]},
           lambda w: CampaignMember.objects.filter(campaign=w.campaign, status="removed").count(),
           prepare=_campaign_join),
    Action("start a campaign", "POST", lambda w: f"/api/v1/campaigns/{w.campaign.pk}/start", lambda w: None,
           lambda w: {"x": 1}, lambda w: w.events("campaign.started")),
    Action("pause a campaign", "POST", lambda w: f"/api/v1/campaigns/{w.campaign.pk}/pause", lambda w: None,
           lambda w: {"x": 1}, lambda w: w.events("campaign.paused"), prepare=_campaign_run),
    Action("complete a campaign", "POST", lambda w: f"/api/v1/campaigns/{w.campaign.pk}/complete", lambda w: None,
           lambda w: {"x": 1}, lambda w: w.events("campaign.completed"), prepare=_campaign_run),
    Action("create a task", "POST", lambda w: "/api/v1/tasks", lambda w: {"title": "Call Ada"},
           lambda w: {"title": "Call Grace"}, lambda w: Task.objects.count(), ok=201),
    Action("send a template email", "POST", lambda w: f"/api/v1/templates/{w.template.pk}/send",
           lambda w: {"contact": {"id": str(w.contact.pk)}}, lambda w: {"contact": {"email": "ada@example.com"}},
           lambda w: OutboxMessage.objects.count(), ok=202),
    Action("create a segment", "POST", lambda w: "/api/v1/segments",
           lambda w: {"name": "VIPs", "rule": {"in": ["vip", {"var": "contact.tags"}]}},
           lambda w: {"name": "Others", "rule": {"in": ["x", {"var": "contact.tags"}]}},
           lambda w: Segment.objects.count(), ok=201),
]
