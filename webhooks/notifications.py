"""Telling the workspace's admins that a subscription was disabled: a task for each admin (seen in the tasks
API and the admin) and an email, once per disabling."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from tasks.services import task_create, workspace_admins
from webhooks.models import WebhookSubscription

logger = logging.getLogger(__name__)


def admins_notify_disabled(*, subscription: WebhookSubscription) -> int:
    """Make one task per admin about the disabled subscription and email them after commit; return how many
    admins were told. Keyed on the moment of disabling: a repeat makes no second task."""
    admins = workspace_admins(workspace=subscription.workspace)
    title = f"Webhook disabled: {subscription.url}"[:200]
    text = (f"The webhook subscription {subscription.id} to {subscription.url} was disabled: "
            f"{subscription.disabled_reason}\n\nIts pending deliveries were cancelled. Fix the endpoint, enable the "
            f"subscription again (PATCH /api/v1/webhooks/{subscription.id} with {{\"status\": \"active\"}}) and "
            f"replay what it missed (POST /api/v1/webhooks/{subscription.id}/replay with {{\"since\": ...}}).")
    key = f"webhook-disabled:{subscription.id}:{subscription.disabled_at.isoformat()}"
    for admin in admins:
        task_create(workspace=subscription.workspace, title=title, description=text, assignee=admin,
                    effect_key=f"{key}:{admin.pk}"[:255])
    recipients = [admin.email for admin in admins]
    if recipients:
        transaction.on_commit(lambda: _email(recipients, title, text))
    return len(admins)


def _email(recipients: list[str], subject: str, text: str) -> None:
    try:
        send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception:  # the task stands; a mail server that is down must not undo the disabling
        logger.exception("Could not email the admins about a disabled webhook subscription")
