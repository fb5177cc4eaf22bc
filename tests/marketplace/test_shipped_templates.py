"""Every shipped template validates, installs, publishes, and simulates its sample scenario to the expected path
on the installed workflow; its emails render for the sample contact."""

from __future__ import annotations

import pytest

from marketplace.catalogue import shipped_templates
from marketplace.checks import path_visits, template_problems
from marketplace.manifest import CATEGORIES
from marketplace.models import TemplateInstall
from marketplace.placeholders import placeholders_replace
from marketplace.services import template_install
from penguinflow.workspaces.services import signing_secret_rotate
from templates.authoring import template_preview
from templates.models import EmailTemplate
from workflows.services import workflow_publish, workflow_simulate

from .helpers import full_answers

SLUGS = sorted(shipped_templates())
SEED_JOURNEYS = {
    # tests/engine/test_journeys.py
    "lead-nurturing-campaign",
    "re-engagement-inactive",
    "pricing-page-interest",
    "welcome-product-usage",
    "abandoned-cart",
    "post-purchase-referral",
    "demo-request-follow-up",
    "business-hours-welcome",
    # seed 003's sequence templates, seed 004's template library
    "saas-trial",
    "webinar-promotion",
    "cold-outreach-three-step",
    "welcome-series",
    "lead-qualification",
    "customer-onboarding",
    "product-launch-drip",
}


def test_the_catalogue_ships_at_least_fifty_templates_in_every_category_with_every_seed_journey():
    templates = shipped_templates()
    assert len(templates) >= 50
    assert {m.category for m in templates.values()} == set(CATEGORIES)
    assert set(templates) >= SEED_JOURNEYS


@pytest.mark.parametrize("slug", SLUGS)
def test_shipped_template_passes_its_checks(slug):
    assert template_problems(shipped_templates()[slug]) == {}


@pytest.mark.django_db
@pytest.mark.parametrize("slug", SLUGS)
def test_shipped_template_installs_publishes_and_runs_its_sample_to_the_expected_path(workspace, slug):
    manifest = shipped_templates()[slug]
    signing_secret_rotate(workspace=workspace)  # webhook steps publish only with a signing secret in use
    result = template_install(workspace=workspace, slug=slug, **full_answers(manifest))
    version = workflow_publish(workflow=result.workflow)

    ids = {(item["kind"], item["requirement"]): item["id"] for item in result.created if item["requirement"]}
    values = dict(ids)
    values |= {
        ("param", p.id): p.default if p.default is not None else p.example for p in manifest.parameters
    }
    sample = placeholders_replace(manifest.sample.model_dump(), values)
    run = workflow_simulate(
        workflow=result.workflow,
        version=str(version.number),
        contact=sample["contact"],
        events=sample["events"],
        until=sample["until"],
        seed=0,
        start=sample["start"],
    )
    assert path_visits(run["path"]) == sample["expected_path"]
    assert run["status"] == sample["expected_status"]

    assert TemplateInstall.objects.get(workflow=result.workflow).template_slug == slug
    emails = EmailTemplate.objects.for_workspace(workspace).filter(
        pk__in=[i for (k, _), i in ids.items() if k == "email"]
    )
    assert emails.count() == len(manifest.emails)
    for email in emails:
        rendered = template_preview(template=email, contact_data=sample["contact"])
        assert rendered.subject.strip() and rendered.html.strip()
        assert "${" not in rendered.subject + rendered.html
