"""`manage.py seed_demo`: the demo workspace (`workflows.demo`) and its templates (`marketplace.demo`), for trying
PenguinFlow out locally. It lives in the top app because the templates are installed through the marketplace."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from marketplace.demo import demo_templates_seed
from workflows.demo import demo_seed


class Command(BaseCommand):
    help = (
        "Create (idempotently) the demo workspace, its admin user demo/demo, an API key and demo data, install a "
        "handful of workflow templates and run demo contacts through two of them."
    )

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo creates a user with a known password: it runs with DEBUG on only.")
        result = demo_seed()
        templates = demo_templates_seed(workspace=result.workspace)
        self.stdout.write(f"Workspace: {result.workspace.slug} ({result.contacts_created} contacts created)")
        installed = ", ".join(templates.installed) or "none new"
        self.stdout.write(
            f"Templates installed: {installed}; {templates.enrolled} enrollments, {templates.steps} steps run"
        )
        self.stdout.write(f"Admin user: {result.username} / password: {result.password}")
        state = "new" if result.api_key_is_new else "saved in var/demo-api-key"
        self.stdout.write(f"API key ({state}): {result.api_key}")
