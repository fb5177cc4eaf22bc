"""The demo workspace's templates: a handful installed from the catalogue, two of them published, with demo traffic
run through them, so that a new user's first screens show live workflows with history and template analytics.

Idempotent: a template already installed in the workspace is not installed again, and contacts already enrolled
are not enrolled twice (the workflows' re-enrollment rule). It lives here, in the top app, because it installs
templates; ``manage.py seed_demo`` calls it after ``workflows.demo.demo_seed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from contacts.models import Contact
from marketplace.models import TemplateInstall
from marketplace.services import template_install
from marketplace.stats import template_stats_refresh
from workflows.jobs import execute_batch
from workflows.models import Workflow
from workflows.scheduler import enrollments_claim_due, new_lease_owner
from workflows.services import workflow_enroll, workflow_publish

# (slug, install answers, published with traffic?)
DEMO_TEMPLATES = [
    ("lead-qualification", {}, True),
    ("nps-survey", {}, True),
    ("abandoned-cart", {}, False),
    ("webinar-promotion", {"resources": {"audience": "create"}}, False),
    ("saas-trial", {}, False),
]
DEMO_CONTACTS = 120


@dataclass
class DemoTemplates:
    installed: list[str] = field(default_factory=list)
    enrolled: int = 0
    steps: int = 0


def _run_due() -> int:
    """Run every step due now in this process (the demo has no worker running yet); return the steps run."""
    steps = 0
    for _ in range(50):
        owner = new_lease_owner()
        ids = enrollments_claim_due(limit=200, owner=owner)
        if not ids:
            break
        steps += execute_batch([str(i) for i in ids], owner)["steps"]
    return steps


def demo_templates_seed(*, workspace) -> DemoTemplates:
    """Install the demo templates missing from ``workspace``, publish two and run demo contacts through them."""
    result = DemoTemplates()
    contacts = list(
        Contact.objects.for_workspace(workspace)
        .filter(status=Contact.Status.SUBSCRIBED)
        .order_by("email")
        .values_list("pk", flat=True)[:DEMO_CONTACTS]
    )
    for slug, answers, live in DEMO_TEMPLATES:
        record = TemplateInstall.objects.for_workspace(workspace).filter(template_slug=slug).first()
        with transaction.atomic():
            if record is None:
                workflow = template_install(workspace=workspace, slug=slug, **answers).workflow
                result.installed.append(slug)
            else:
                workflow = record.workflow
            if live and workflow is not None:
                if workflow.status == Workflow.Status.DRAFT:
                    workflow_publish(workflow=workflow, published_by="seed_demo")
                    workflow.refresh_from_db()
                enrolled = workflow_enroll(workflow=workflow, contacts=[{"id": str(pk)} for pk in contacts])
                result.enrolled += enrolled.enrolled
    result.steps = _run_due()
    template_stats_refresh(slugs=[slug for slug, _, _ in DEMO_TEMPLATES])
    return result
