"""`POST /hooks/crm/<connector id>/`: a CRM's webhook deliveries (public: each is signed or authenticated).

HubSpot (signature v3 with the connector's webhook secret, the app's client secret) and Pipedrive (Basic
authentication, the password the connector's webhook secret) deliver here; Salesforce changes are polled
(`connectors.crm.polling`), so a delivery for a Salesforce connector is a 404. The answer: 200 with how many
events were recorded; 401 for a delivery not proven to come from the CRM; 503 when the CRM could not be asked
about the change (the CRM delivers again later); 400 for a body that is not the CRM's JSON.
"""

from __future__ import annotations

import hmac
import json
import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from connectors.crm import CrmFailed, CrmRefused, CrmRejected, client_for
from connectors.crm.ingest import changes_record
from connectors.crm.signatures import basic_password, hubspot_v3_valid
from connectors.crm.transports import crm_transport
from connectors.models import Connector
from connectors.services import connector_refused, connector_webhook_secret
from penguinflow.common.errors import error_response

WEBHOOK_KINDS = ("hubspot", "pipedrive")


def _connector(connector_id: str) -> Connector | None:
    try:
        pk = uuid.UUID(connector_id)
    except ValueError:
        return None
    return Connector.objects.filter(pk=pk, kind__in=WEBHOOK_KINDS).select_related("workspace").first()


def _proven(request: HttpRequest, connector: Connector) -> bool:
    secret = connector_webhook_secret(connector)
    if not secret:
        return False
    if connector.kind == "pipedrive":
        password = basic_password(request.headers.get("Authorization", ""))
        return password is not None and _same(password, secret)
    uris = [request.build_absolute_uri(), f"{settings.PUBLIC_BASE_URL}{request.get_full_path()}"]
    return hubspot_v3_valid(secret=secret, method=request.method or "POST", uris=uris, body=request.body,
                            timestamp=request.headers.get("X-HubSpot-Request-Timestamp", ""),
                            signature=request.headers.get("X-HubSpot-Signature-v3", ""))


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _shaped(kind: str, payload: object) -> bool:
    """Whether a proven delivery has the shape the CRM's reader walks: HubSpot a list of notification objects,
    Pipedrive an object whose meta, current and previous are objects when present (anything else is a 400, not a
    reader tripping over a string)."""
    if kind == "hubspot":
        return isinstance(payload, list) and all(isinstance(note, dict) for note in payload)
    return isinstance(payload, dict) and all(
        isinstance(payload.get(part) or {}, dict) for part in ("meta", "current", "previous"))


@csrf_exempt
@require_POST
def crm_webhook(request: HttpRequest, connector_id: str) -> HttpResponse:
    connector = _connector(connector_id)
    if connector is None:
        return error_response(404, "not_found", "No HubSpot or Pipedrive connector here (Salesforce is polled).")
    if not _proven(request, connector):
        return error_response(401, "invalid_signature", "The delivery is not signed (HubSpot) or authenticated "
                              "(Pipedrive) with the connector's webhook secret; set settings.webhook_secret.")
    try:
        payload = json.loads(request.body or b"null")
    except ValueError:
        return error_response(400, "invalid_json", "The body is not JSON.")
    if not _shaped(connector.kind, payload):
        return error_response(400, "invalid_payload", "The body is not a delivery of this CRM's webhooks.")
    try:
        changes = client_for(connector, crm_transport(connector)).changes_of(payload)
    except CrmRefused as refused:
        connector_refused(connector=connector, reason=f"The CRM refused the connector's token: {refused}")
        return error_response(503, "connector_refused", "The CRM refused the connector's token; enter a new "
                              "token in Settings → Connectors.")
    except (CrmFailed, CrmRejected) as failed:
        return error_response(503, "crm_unavailable", f"The change could not be read from the CRM: {failed}")
    recorded = changes_record(connector=connector, changes=changes)
    return JsonResponse({"recorded": recorded.recorded, "duplicates": recorded.duplicates,
                         "unmatched": recorded.unmatched})
