"""Factories of the models tests build rows of, and `make_enrollment` for a bare enrollment."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from campaigns.models import Campaign
from contacts.models import Contact, Segment
from penguinflow.workspaces.models import Membership, Workspace
from templates.models import EmailTemplate
from workflows.models import Enrollment, WorkflowVersion
from workflows.services import workflow_create


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    slug = factory.Sequence(lambda n: f"ws-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")
    password = factory.PostGenerationMethodCall("set_password", "pw")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    workspace = factory.SubFactory(WorkspaceFactory)
    role = Membership.Role.EDITOR


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    workspace = factory.SubFactory(WorkspaceFactory)
    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = "Ada"
    last_name = "Lovelace"
    timezone = "Europe/Paris"


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Segment {n}")
    rule = {"in": ["vip", {"var": "contact.tags"}]}


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")


class EmailTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailTemplate

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Template {n}")
    subject = "Hello {{ contact.first_name }}"
    html = "<p>Hi {{ contact.first_name | default: 'there' }}</p>"


def make_enrollment(workspace, *, status: str = "waiting", contact=None):
    """Return an enrollment of a fresh workflow (on its draft version) in `workspace`."""
    workflow = workflow_create(workspace=workspace, name="W")
    version = WorkflowVersion.objects.get(workflow=workflow)
    return Enrollment.objects.create(
        workspace=workspace, workflow=workflow, version=version, contact=contact or ContactFactory(workspace=workspace),
        entered_at=timezone.now(), status=status, entry_key="once",
    )
