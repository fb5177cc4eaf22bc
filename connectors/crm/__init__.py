"""The CRM connectors: one client per CRM speaking the subset of its API that the CRM steps and the CRM events
need, over one shared transport (`connectors.crm.protocol`). `client_for` picks the client of a connector."""

from __future__ import annotations

from connectors.crm.protocol import (
    CrmChange,
    CrmClient,
    CrmFailed,
    CrmRecord,
    CrmRefused,
    CrmRejected,
    Transport,
)

__all__ = ["CrmChange", "CrmClient", "CrmFailed", "CrmRecord", "CrmRefused", "CrmRejected", "Transport",
           "client_for"]


def client_for(connector, transport: Transport) -> CrmClient:
    """The client of ``connector``'s CRM; KeyError for a kind that is no CRM."""
    from connectors.crm import hubspot, pipedrive, salesforce

    clients = {"hubspot": hubspot.HubSpot, "salesforce": salesforce.Salesforce, "pipedrive": pipedrive.Pipedrive}
    return clients[connector.kind](transport, settings=connector.settings or {})
