"""The demo workspace: a user, an API key, ~200 varied contacts, templates, campaigns, a segment and a workflow.

Idempotent: running it again changes nothing that exists and fills in what is missing. It lives in the top app
(`manage.py seed_demo`) because it uses every app's services, and the project package imports no app.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from campaigns import services as campaign_services
from campaigns.models import Campaign
from contacts import services as contact_services
from contacts.models import Contact, Segment
from penguinflow.common.auth import principal_for_key_uncached
from penguinflow.workspaces.models import Membership, Workspace
from penguinflow.workspaces.services import api_key_create, workspace_get_or_create
from templates import authoring as template_services
from templates.models import EmailTemplate
from workflows import services as workflow_services
from workflows.models import Workflow

DEMO_SLUG = "demo"
KEY_FILE = Path(settings.BASE_DIR) / "var" / "demo-api-key"

FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Radia", "Linus", "Frances",
         "John", "Hedy", "Tim", "Katherine", "Dennis", "Sophie", "Guido", "Anita", "Bjarne"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson", "Perlman",
        "Torvalds", "Allen", "McCarthy", "Lamarr", "Berners-Lee", "Johnson", "Ritchie", "Wilson", "van Rossum",
        "Borg", "Stroustrup"]
ZONES = ["Europe/Paris", "America/New_York", "America/Los_Angeles", "Asia/Tokyo", "Australia/Sydney",
         "Europe/London", "America/Sao_Paulo", "Asia/Kolkata", "Africa/Lagos", ""]
TAGS = ["trial", "customer", "newsletter", "webinar", "vip", "churn-risk", "beta"]
PLANS = ["free", "starter", "pro", "enterprise"]

TEMPLATES = {
    "Welcome": ("Welcome aboard, {{ contact.first_name | default: 'there' }}!",
                "<h1>Welcome, {{ contact.first_name | default: 'there' }}</h1>"
                "<p>Here is how to <a href='https://penguinmails.test/start'>get started</a>.</p>"),
    "Value: three tips": ("Three tips to get more out of PenguinMails",
                          "<p>Tip 1: segments. Tip 2: delays. Tip 3: <a href='https://penguinmails.test/tips'>more</a>.</p>"),
    "Case study": ("How Acme doubled their replies",
                   "<p>Read the <a href='https://penguinmails.test/case-study'>case study</a>.</p>"),
    "We miss you": ("It has been a while, {{ contact.first_name | default: 'friend' }}",
                    "<p>Come back and see <a href='https://penguinmails.test/new'>what is new</a>.</p>"),
}


@dataclass
class DemoResult:
    workspace: Workspace
    username: str
    password: str
    api_key: str
    api_key_is_new: bool
    contacts_created: int


def _demo_key(workspace: Workspace) -> tuple[str, bool]:
    """Reuse the key saved under var/ while it is still valid, else create one and save it (development only)."""
    if KEY_FILE.exists():
        secret = KEY_FILE.read_text().strip()
        principal = principal_for_key_uncached(secret)
        if principal is not None and principal.workspace.pk == workspace.pk:
            return secret, False
    _, secret = api_key_create(workspace=workspace, name="demo")
    KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
    KEY_FILE.write_text(secret + "\n")
    KEY_FILE.chmod(0o600)
    return secret, True


def _contacts(workspace: Workspace, rng: random.Random) -> int:
    existing = set(Contact.objects.for_workspace(workspace).values_list("email", flat=True))
    created = 0
    today = date(2026, 11, 1)
    for index in range(200):
        first, last = FIRST[index % len(FIRST)], LAST[(index * 7) % len(LAST)]
        email = f"{first}.{last}.{index}@example.com".lower().replace(" ", "")
        if email in existing:
            continue
        contact_services.contact_create(
            workspace=workspace,
            email=email,
            first_name=first,
            last_name=last,
            timezone=ZONES[index % len(ZONES)],
            status=Contact.Status.SUBSCRIBED if index % 17 else Contact.Status.UNSUBSCRIBED,
            score=rng.randint(0, 100),
            tags=rng.sample(TAGS, rng.randint(0, 3)),
            fields={
                "plan": rng.choice(PLANS),
                "company": f"{last} & Co",
                "signup_date": (today - timedelta(days=rng.randint(0, 400))).isoformat(),
                "renewal_date": (today + timedelta(days=rng.randint(1, 365))).isoformat(),
                "seats": rng.randint(1, 250),
            },
        )
        created += 1
    return created


def _workflow_graph(welcome: EmailTemplate, tips: EmailTemplate) -> dict:
    return {
        "nodes": [
            {"id": "n1", "type": "trigger_event", "position": {"x": 0, "y": 0},
             "data": {"label": "Signed up", "config": {"event": "contact.created"}}},
            {"id": "n2", "type": "send_email", "position": {"x": 0, "y": 120},
             "data": {"label": "Welcome", "config": {"template_id": str(welcome.id)}}},
            {"id": "n3", "type": "delay", "position": {"x": 0, "y": 240},
             "data": {"label": "Wait 2 days", "config": {"duration": "P2D"}}},
            {"id": "n4", "type": "send_email", "position": {"x": 0, "y": 360},
             "data": {"label": "Tips", "config": {"template_id": str(tips.id)}}},
        ],
        "edges": [
            {"id": "e1", "source": "n1", "target": "n2", "sourceHandle": "default"},
            {"id": "e2", "source": "n2", "target": "n3", "sourceHandle": "default"},
            {"id": "e3", "source": "n3", "target": "n4", "sourceHandle": "default"},
        ],
    }


@transaction.atomic
def demo_seed() -> DemoResult:
    """Create or complete the demo workspace and return what a developer needs to log in and call the API."""
    workspace, _ = workspace_get_or_create(slug=DEMO_SLUG, name="Demo")
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username="demo", defaults={"email": "demo@penguinmails.test", "is_staff": True, "is_superuser": True}
    )
    if created:
        user.set_password("demo")
        user.save()
    # The demo user owns the workspace (a demo seeded before owners existed made them its admin).
    Membership.objects.update_or_create(user=user, workspace=workspace, defaults={"role": Membership.Role.OWNER})
    secret, is_new = _demo_key(workspace)

    rng = random.Random(42)
    contacts_created = _contacts(workspace, rng)

    templates = {}
    for name, (subject, html) in TEMPLATES.items():
        template = EmailTemplate.objects.for_workspace(workspace).filter(name=name).first()
        templates[name] = template or template_services.template_create(
            workspace=workspace, name=name, subject=subject, html=html
        )

    for name in ("Onboarding", "Spring launch"):
        if not Campaign.objects.for_workspace(workspace).filter(name=name).exists():
            campaign_services.campaign_create(workspace=workspace, name=name)

    if not Segment.objects.for_workspace(workspace).filter(name="Pro and enterprise").exists():
        Segment.objects.create(
            workspace=workspace,
            name="Pro and enterprise",
            rule={"in": [{"var": "contact.fields.plan"}, ["pro", "enterprise"]]},
        )

    if not Workflow.objects.for_workspace(workspace).filter(name="Welcome series").exists():
        workflow_services.workflow_create(
            workspace=workspace,
            name="Welcome series",
            description="Welcome new sign-ups, then share three tips two days later.",
            graph=_workflow_graph(templates["Welcome"], templates["Value: three tips"]),
            settings={"timezone": "Europe/Paris"},
        )

    return DemoResult(workspace, "demo", "demo", secret, is_new, contacts_created)
