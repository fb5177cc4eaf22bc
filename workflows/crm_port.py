"""The crm_create and crm_update steps' live port: a write into the connector's CRM.

The connector is read in the step's workspace (another workspace's id is not found: the step fails, and
publishing refuses it); a connector of another category (a social page) or one that needs attention fails the
step for good, saying what to fix. The field values are rendered with Liquid over the contact and what templates
see of the enrollment (its variables), each on its own. The call goes through `connectors.crm` (the outbound
guard, one deadline, a capped answer) and is judged there: a 401/403 marks the connector `needs_attention` with
the CRM's reason and fails the step for good with the fix; 429, 5xx and no answer are retried per the node
type's policy, no sooner than the CRM's Retry-After; any other refusal fails the step with the CRM's words.

Exactly once, and what that can honestly mean: none of the three CRMs documents honouring an Idempotency-Key,
though every try of one step sends the same one (as http_request does). A HubSpot contact is unique by email,
so a create run again after a crash updates the contact the first try created. A deal, a Salesforce contact or
a Pipedrive person created just before a worker died, before the step's record committed, is created again
when the step reruns: at least once for those.
"""

from __future__ import annotations

import weakref
from typing import Any

from connectors.crm import CrmFailed, CrmRecord, CrmRefused, CrmRejected, client_for
from connectors.crm.transports import crm_transport
from connectors.kinds import CATEGORY_CRM, KINDS
from connectors.models import Connector
from connectors.services import connector_get, connector_refused
from contacts.selectors import contact_as_data
from penguinflow.common.errors import NotFound
from penguinflow.outbound.client import Connections, Resolver, system_resolver
from penguinflow.workspaces.credentials import CredentialUnreadable
from workflows.engine.ports import CrmResult, PortError
from workflows.http_port import idempotency_key_of
from workflows.webhook_port import render_text, retry_after_of

__all__ = ["LiveCrm"]

FIX = "Enter a new token in Settings → Connectors"


class LiveCrm:
    """The `crm` port of live steps. ``resolver`` is the DNS boundary (tests give their own answers)."""

    def __init__(self, book, workspace, *, resolver: Resolver = system_resolver) -> None:
        self.book, self.workspace, self.resolver = book, workspace, resolver
        self.connections = Connections()
        weakref.finalize(self, self.connections.close)

    def write(self, *, key: str, contact_id: str, connector_id: str, object: str, fields: dict[str, str],
              record_id: str | None, create: bool) -> CrmResult:
        connector = self._connector(connector_id)
        contact = self.book.get(contact_id)
        data = {**self.book.template_context.get(key.split(":", 1)[0], {}), "contact": contact_as_data(contact)}
        rendered = {name: render_text(value, data, f"CRM field {name!r}", sender="request")
                    for name, value in fields.items()}
        idempotency_key = idempotency_key_of(self.workspace.pk, key)
        try:
            client = client_for(connector, crm_transport(connector, resolver=self.resolver,
                                                         connections=self.connections))
            if create:
                record = client.create(object=object, fields=rendered, idempotency_key=idempotency_key)
            else:
                record = self._existing(client, object, record_id, contact.email)
                record = client.update(object=object, record_id=record.id, fields=rendered,
                                       idempotency_key=idempotency_key)
        except CredentialUnreadable as error:
            raise PortError(f"The connector's secret cannot be read ({error}). {FIX}.", retryable=False) from None
        except CrmRefused as refused:
            reason = f"{KINDS[connector.kind].label} refused the connector's token: {refused}"
            connector_refused(connector=connector, reason=reason)
            raise PortError(f"{reason}. {FIX} ({connector.name}).", retryable=False) from None
        except CrmRejected as rejected:
            raise PortError(str(rejected), retryable=False) from None
        except CrmFailed as failed:
            raise PortError(str(failed), retryable=failed.retryable,
                            retry_after=retry_after_of(failed.retry_after)) from None
        return CrmResult(record_id=record.id, url=record.url,
                         detail={"crm": connector.kind, "connector": connector.name, "fields": rendered,
                                 "idempotency_key": idempotency_key})

    def _connector(self, connector_id: str) -> Connector:
        try:
            connector = connector_get(workspace=self.workspace, connector_id=connector_id)
        except NotFound as error:
            raise PortError(f"The CRM was not called: {error.message}", retryable=False) from None
        kind = KINDS[connector.kind]
        if kind.category != CATEGORY_CRM:
            raise PortError(f"The connector {connector.name!r} is a {kind.label} account, not a CRM: choose a CRM "
                            "connector.", retryable=False)
        if connector.status == Connector.Status.NEEDS_ATTENTION:
            raise PortError(f"The connector {connector.name!r} needs attention: {connector.last_error}. {FIX}.",
                            retryable=False)
        return connector

    @staticmethod
    def _existing(client: Any, object: str, record_id: str | None, email: str) -> CrmRecord:
        if record_id is not None:
            return CrmRecord(id=record_id)
        found = client.contact_by_email(email) if email else None
        if found is None:
            raise PortError(f"No contact with the email {email!r} in the CRM, and no id stored by an earlier CRM "
                            "step: put a crm_create before this step.", retryable=False)
        return found
