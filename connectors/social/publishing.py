"""What publishing a workflow refuses in its social_post steps, beyond an account that does not exist (the node
type's reference): an account that is not a social one (a CRM connector), one the network refused (it needs a
new token first), and a literal text too long for the account's network. A text with Liquid in it is checked when the step sends, once rendered."""

from __future__ import annotations

import uuid
from typing import Any

from connectors.kinds import CATEGORY_SOCIAL, KINDS
from connectors.models import Connector
from connectors.social.limits import length_problem

__all__ = ["social_publish_errors"]


def social_publish_errors(*, workspace: Any, graph: Any) -> list[dict[str, Any]]:
    """``[{code, node_id, message}]`` for the social_post nodes of ``graph`` that cannot post."""
    steps = [(node.id, node.config_dict()) for node in graph.nodes if node.type == "social_post"]
    accounts = _accounts(workspace, [config.get("account_id") for _, config in steps])
    errors = []
    for node_id, config in steps:
        connector = accounts.get(str(config.get("account_id")))
        if connector is None:
            continue  # a missing account is the reference check's error
        kind = KINDS[connector.kind]
        if kind.category != CATEGORY_SOCIAL:
            errors.append({"code": "not_a_social_account", "node_id": node_id,
                           "message": f"The connector '{connector.name}' is a {kind.label} account, not a social "
                                      "one: choose a LinkedIn page, an X account or a Facebook page."})
            continue
        if connector.status == Connector.Status.NEEDS_ATTENTION:
            # Every post would fail until the user enters a new token, as a webhook without a signing secret would.
            errors.append({"code": "social_account_needs_attention", "node_id": node_id,
                           "message": f"The account '{connector.name}' needs attention: {connector.last_error}"})
        text, url = config.get("text"), config.get("url")
        if isinstance(text, str) and "{" not in text:
            # A link with Liquid may render to nothing: counted then as no link, so what is refused here is too
            # long whatever it renders to (the send checks the rest).
            literal_url = url if isinstance(url, str) and "{" not in url else None
            problem = length_problem(connector.kind, text, literal_url)
            if problem:
                errors.append({"code": "post_too_long", "node_id": node_id, "message": problem})
    return errors


def _accounts(workspace: Any, ids: list[Any]) -> dict[str, Connector]:
    pks = []
    for value in ids:
        try:
            pks.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return {str(connector.pk): connector for connector in Connector.objects.for_workspace(workspace).filter(pk__in=pks)}
