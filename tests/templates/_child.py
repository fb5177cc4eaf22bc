"""Code run in a separate (spawned) process by the concurrency test: a second Django with its own connection."""

from __future__ import annotations

import os


def send_same_key(*, db_name: str, smtp_port: int, ids: dict, key: str, barrier, results) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "penguinflow.settings.test"
    os.environ["TEST_EMAIL_URL"] = f"smtp://127.0.0.1:{smtp_port}"
    import django
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = db_name
    django.setup()
    import time

    from django.db import connection, transaction

    from contacts.models import Contact
    from templates.delivery import outbox_deliver
    from templates.models import EmailTemplate
    from templates.outbox import email_send

    contact = Contact.objects.select_related("workspace").get(pk=ids["contact"])
    template = EmailTemplate.objects.get(pk=ids["template"])
    barrier.wait(timeout=30)
    with transaction.atomic():
        result = email_send(key=key, workspace=contact.workspace, contact=contact, template=template, context={})
        time.sleep(0.3)  # hold the transaction open: the other process must wait on our key, then see it
    report = outbox_deliver(outbox_ids=[result.message_id])
    results.put((result.outcome, result.message_id, report.sent))
    connection.close()
