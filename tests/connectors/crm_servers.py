"""Real HTTP servers on 127.0.0.1 (a thread each) speaking the subsets of the HubSpot CRM v3, Salesforce REST and
Pipedrive v1 APIs the CRM connectors use, with records in memory. Commercial APIs are the one thing that cannot
exist here, so they are mocked at the HTTP boundary, never inside the code.

A test can expire the token (`crm.token_expired = True`: 401 with the CRM's own refusal body), queue answers
that come before the API's (`crm.queue(429, {"Retry-After": "7"})`), and add changes for polling
(`crm.stage_changed(...)` for Salesforce's field history).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.webhook_receiver import http_serving

TOKEN = "tok-valid-123"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeCrm:
    kind: str
    url: str = ""
    token_expired: bool = False
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {"contact": {}, "deal": {}})
    requests: list[Seen] = field(default_factory=list)
    queued: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)  # Salesforce OpportunityFieldHistory
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(101))

    def queue(self, status: int, headers: dict[str, str] | None = None, body: bytes = b'{"message": "busy"}'):
        self.queued.append((status, headers or {}, body))

    def new_id(self, object_name: str) -> str:
        number = next(self._ids)
        if self.kind == "salesforce":
            return ("003" if object_name == "contact" else "006") + f"{number:015d}"
        return str(number)

    def writes(self) -> list[Seen]:
        return [seen for seen in self.requests if seen.method in ("POST", "PUT", "PATCH") and "search" not in seen.path]

    # --- Salesforce field history, for polling --------------------------------------------------------------------
    def stage_changed(self, deal_id: str, old: str, new: str, at: str) -> None:
        deal = self.records["deal"][deal_id]
        self.history.append({"Id": f"017{len(self.history):015d}", "OpportunityId": deal_id,
                             "Opportunity": {"Name": deal.get("Name"), "Contact": {"Email": deal["_email"]}},
                             "OldValue": old, "NewValue": new, "CreatedDate": at})


def _json(status: int, value: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(value).encode()


NOT_FOUND = _json(404, {"message": "resource not found"})


def _hubspot(crm: FakeCrm, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any):
    if headers.get("Authorization") != f"Bearer {TOKEN}" or crm.token_expired:
        return _json(401, {"status": "error", "message": "The OAuth token used to make this call expired 2 day(s) "
                           "ago.", "category": "EXPIRED_AUTHENTICATION"})
    plural = {"contacts": "contact", "deals": "deal"}
    if method == "POST" and path == "/crm/v3/objects/contacts/search":
        wanted = body["filterGroups"][0]["filters"][0]["value"]
        found = [{"id": rid, "properties": {"email": rec.get("email")}}
                 for rid, rec in crm.records["contact"].items() if rec.get("email") == wanted]
        return _json(200, {"total": len(found), "results": found[: body.get("limit", 10)]})
    match = re.fullmatch(r"/crm/v3/objects/(contacts|deals)(?:/(\w+))?", path)
    if not match:
        return NOT_FOUND
    object_name, record_id = plural[match[1]], match[2]
    records = crm.records[object_name]
    if method == "POST" and record_id is None:
        properties = body["properties"]
        existing = [rid for rid, rec in records.items() if object_name == "contact" and properties.get("email")
                    and rec.get("email") == properties["email"]]
        if existing:
            return _json(409, {"status": "error", "message": f"Contact already exists. Existing ID: {existing[0]}",
                               "category": "CONFLICT"})
        record_id = crm.new_id(object_name)
        records[record_id] = dict(properties)
        return _json(201, {"id": record_id, "properties": properties})
    if record_id not in records:
        return NOT_FOUND
    if method == "PATCH":
        records[record_id].update(body["properties"])
        return _json(200, {"id": record_id, "properties": records[record_id]})
    if method == "GET":
        answer: dict[str, Any] = {"id": record_id, "properties": records[record_id]}
        if query.get("associations") == "contacts":
            linked = records[record_id].get("_contact")
            answer["associations"] = {"contacts": {"results": [{"id": linked, "type": "deal_to_contact"}]
                                                   if linked else []}}
        return _json(200, answer)
    return NOT_FOUND


def _salesforce(crm: FakeCrm, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any):
    if headers.get("Authorization") != f"Bearer {TOKEN}" or crm.token_expired:
        return _json(401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    base = "/services/data/v59.0"
    if method == "GET" and path == f"{base}/query":
        return _json(200, _soql(crm, query["q"]))
    match = re.fullmatch(rf"{base}/sobjects/(Contact|Opportunity)/(\w*)", path)
    if not match:
        return NOT_FOUND
    object_name = "contact" if match[1] == "Contact" else "deal"
    records, record_id = crm.records[object_name], match[2]
    if method == "POST" and not record_id:
        if object_name == "contact" and not body.get("LastName"):
            return _json(400, [{"message": "Required fields are missing: [LastName]",
                                "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["LastName"]}])
        record_id = crm.new_id(object_name)
        records[record_id] = {**body, "LastModifiedDate": "2026-12-01T00:00:00.000+0000"}
        return _json(201, {"id": record_id, "success": True, "errors": []})
    if method == "PATCH" and record_id in records:
        records[record_id].update(body)
        return 204, {}, b""
    return _json(404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])


def _soql(crm: FakeCrm, soql: str) -> dict[str, Any]:
    if match := re.search(r"FROM Contact WHERE Email = '((?:[^'\\]|\\.)*)'", soql):
        email = match[1].replace("\\'", "'").replace("\\\\", "\\")
        rows = [{"Id": rid} for rid, rec in crm.records["contact"].items() if rec.get("Email") == email][:1]
    elif match := re.search(r"FROM OpportunityFieldHistory WHERE Field = 'StageName' AND CreatedDate > (\S+)", soql):
        rows = [row for row in crm.history if _instant(row["CreatedDate"]) > _instant(match[1])]
    elif match := re.search(r"FROM Contact WHERE LastModifiedDate > (\S+)", soql):
        rows = [{"Id": rid, "Email": rec.get("Email"), "LastModifiedDate": rec["LastModifiedDate"]}
                for rid, rec in crm.records["contact"].items()
                if _instant(rec["LastModifiedDate"]) > _instant(match[1])]
    else:
        rows = []
    return {"totalSize": len(rows), "done": True, "records": rows}


def _instant(text: str) -> str:
    """Salesforce's and SOQL's datetimes as comparable text (UTC, milliseconds)."""
    from datetime import UTC, datetime

    moment = datetime.fromisoformat(text.replace("+0000", "+00:00").replace("Z", "+00:00"))
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _pipedrive(crm: FakeCrm, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any):
    if query.get("api_token") != TOKEN or crm.token_expired:
        return _json(401, {"success": False, "error": "unauthorized access", "errorCode": 401,
                           "error_info": "Please check developers.pipedrive.com"})
    if method == "GET" and path == "/v1/persons/search":
        found = [{"result_score": 1, "item": {"id": int(rid), "name": rec.get("name")}}
                 for rid, rec in crm.records["contact"].items() if rec.get("email") == query.get("term")]
        return _json(200, {"success": True, "data": {"items": found[:1]}})
    match = re.fullmatch(r"/v1/(persons|deals)(?:/(\d+))?", path)
    if not match:
        return NOT_FOUND
    object_name = "contact" if match[1] == "persons" else "deal"
    records, record_id = crm.records[object_name], match[2]
    if method == "POST" and record_id is None:
        record_id = crm.new_id(object_name)
        records[record_id] = dict(body)
        return _json(201, {"success": True, "data": {"id": int(record_id), **body}})
    if record_id not in records:
        return _json(404, {"success": False, "error": "Item not found"})
    if method == "PUT":
        records[record_id].update(body)
    email = records[record_id].get("email")
    data = {"id": int(record_id), **records[record_id], **({"email": [{"value": email, "primary": True}]}
                                                           if email else {})}
    return _json(200, {"success": True, "data": data})


ROUTES = {"hubspot": _hubspot, "salesforce": _salesforce, "pipedrive": _pipedrive}


def _handler(crm: FakeCrm) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            query = {name: values[0] for name, values in parse_qs(parts.query).items()}
            with crm.lock:
                crm.requests.append(Seen(self.command, parts.path, query, dict(self.headers.items()),
                                         json.loads(raw) if raw else None))
                if crm.queued:
                    status, headers, body = crm.queued.pop(0)
                else:
                    status, headers, body = ROUTES[crm.kind](crm, self.command, parts.path, query,
                                                             dict(self.headers.items()), json.loads(raw or b"null"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = _any

        def log_message(self, *args) -> None:
            pass

    return Handler


@contextlib.contextmanager
def crm_server(kind: str) -> Iterator[FakeCrm]:
    crm = FakeCrm(kind)
    with http_serving(_handler(crm)) as url:
        crm.url = url
        yield crm
