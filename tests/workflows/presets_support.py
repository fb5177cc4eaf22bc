"""Presets name the workspace's objects by placeholders (`<segment-id>`); tests put real objects, or ids that
name nothing, in their place."""

from __future__ import annotations

import json
from typing import Any

from connectors.nodes.crm import PLACEHOLDER_CONNECTOR
from connectors.nodes.social import PLACEHOLDER_SOCIAL_ACCOUNT
from tests.factories import CampaignFactory, EmailTemplateFactory, SegmentFactory
from workflows.engine.presets import (
    PLACEHOLDER_CAMPAIGN,
    PLACEHOLDER_SEGMENT,
    PLACEHOLDER_TEMPLATE,
    PLACEHOLDER_WORKFLOW,
)

PLACEHOLDERS = (PLACEHOLDER_TEMPLATE, PLACEHOLDER_SEGMENT, PLACEHOLDER_CAMPAIGN, PLACEHOLDER_WORKFLOW,
                PLACEHOLDER_SOCIAL_ACCOUNT, PLACEHOLDER_CONNECTOR)


def with_real_objects(workspace, value: Any) -> Any:
    """Return `value` (a preset or a config) with each placeholder replaced by a new object of the workspace."""
    from workflows.services import workflow_create

    text = json.dumps(value)
    for placeholder, make in ((PLACEHOLDER_SEGMENT, SegmentFactory), (PLACEHOLDER_CAMPAIGN, CampaignFactory),
                              (PLACEHOLDER_TEMPLATE, EmailTemplateFactory)):
        if placeholder in text:
            text = text.replace(placeholder, str(make(workspace=workspace).pk))
    if PLACEHOLDER_SOCIAL_ACCOUNT in text:
        from connectors.services import connector_create

        account = connector_create(workspace=workspace, kind="x", name="Our X", secret="token")
        text = text.replace(PLACEHOLDER_SOCIAL_ACCOUNT, str(account.pk))
    if PLACEHOLDER_CONNECTOR in text:
        from connectors.services import connector_create

        connector = connector_create(workspace=workspace, kind="hubspot", name="CRM", secret="preset-token")
        text = text.replace(PLACEHOLDER_CONNECTOR, str(connector.pk))
    if PLACEHOLDER_WORKFLOW in text:
        text = text.replace(PLACEHOLDER_WORKFLOW, str(workflow_create(workspace=workspace, name="Other").pk))
    return json.loads(text)


def with_ids(value: Any, object_id: str) -> Any:
    """Return `value` with each placeholder replaced by `object_id` (an id that may name nothing)."""
    text = json.dumps(value)
    for placeholder in PLACEHOLDERS:
        text = text.replace(placeholder, object_id)
    return json.loads(text)
