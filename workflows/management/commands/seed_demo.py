"""`manage.py seed_demo`: the demo workspace (`workflows.demo`), for trying PenguinFlow out locally."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from workflows.demo import demo_seed


class Command(BaseCommand):
    help = "Create (idempotently) the demo workspace, its admin user demo/demo, an API key and demo data."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo creates a user with a known password: it runs with DEBUG on only.")
        result = demo_seed()
        self.stdout.write(f"Workspace: {result.workspace.slug} ({result.contacts_created} contacts created)")
        self.stdout.write(f"Admin user: {result.username} / password: {result.password}")
        state = "new" if result.api_key_is_new else "saved in var/demo-api-key"
        self.stdout.write(f"API key ({state}): {result.api_key}")
