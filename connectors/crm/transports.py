"""The transport of a CRM connector: its address, and its secret where its CRM wants it (Pipedrive: the
`api_token` query parameter; HubSpot and Salesforce: a Bearer token)."""

from __future__ import annotations

from connectors.crm.protocol import Transport
from connectors.kinds import KINDS
from connectors.models import Connector
from connectors.services import connector_secret
from penguinflow.outbound.client import Connections, Resolver, system_resolver

__all__ = ["crm_transport"]


def crm_transport(connector: Connector, *, resolver: Resolver = system_resolver,
                  connections: Connections | None = None) -> Transport:
    """Raise `CredentialUnreadable` when the secret cannot be decrypted (the key changed since)."""
    secret = connector_secret(connector)
    base_url = connector.base_url or KINDS[connector.kind].default_base_url
    if connector.kind == "pipedrive":
        return Transport(base_url, query={"api_token": secret}, resolver=resolver, connections=connections)
    return Transport(base_url, headers={"Authorization": f"Bearer {secret}"}, resolver=resolver,
                     connections=connections)
