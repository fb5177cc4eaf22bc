"""The services a connector can connect to, and what each needs.

One table, so the API's validation, the admin and the steps agree on which services exist. A kind names the
default address of the service's API; a connector may set its own `base_url` (a self-hosted or regional instance,
Salesforce's per-organisation instance URL, or a local server in tests). Every call still goes through the
outbound guard, so a `base_url` on a private address is refused when the step runs, as a webhook's would be.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATEGORY_CRM", "CATEGORY_SOCIAL", "KINDS", "ConnectorKind", "kind_of"]

CATEGORY_CRM = "crm"
CATEGORY_SOCIAL = "social"


@dataclass(frozen=True)
class ConnectorKind:
    key: str
    label: str
    category: str
    default_base_url: str
    secret_label: str  # what the user pastes: the service's own name for it
    required_settings: tuple[str, ...] = ()


KINDS: dict[str, ConnectorKind] = {
    kind.key: kind
    for kind in (
        ConnectorKind("hubspot", "HubSpot", CATEGORY_CRM, "https://api.hubapi.com", "Private app access token"),
        # Salesforce answers on the organisation's own instance (https://<org>.my.salesforce.com): base_url.
        ConnectorKind("salesforce", "Salesforce", CATEGORY_CRM, "", "OAuth access token"),
        ConnectorKind("pipedrive", "Pipedrive", CATEGORY_CRM, "https://api.pipedrive.com", "API token"),
        ConnectorKind("linkedin", "LinkedIn page", CATEGORY_SOCIAL, "https://api.linkedin.com", "OAuth access token",
                      required_settings=("organization_id",)),
        ConnectorKind("x", "X", CATEGORY_SOCIAL, "https://api.x.com", "OAuth 2.0 user access token"),
        ConnectorKind("facebook", "Facebook page", CATEGORY_SOCIAL, "https://graph.facebook.com",
                      "Page access token", required_settings=("page_id",)),
    )
}


def kind_of(key: str) -> ConnectorKind:
    """The kind named ``key``; KeyError for a name no kind has."""
    return KINDS[key]
