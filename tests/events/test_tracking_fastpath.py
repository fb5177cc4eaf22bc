"""`POST /api/v1/track` through the ASGI fast path (what uvicorn serves) answers like the Django view, and the two
share the dedupe of message ids."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from events.models import Event
from events.tracking import forget_cached_sites
from penguinflow.workspaces.services import workspace_settings_change, write_key_rotate
from tests.events.test_fastpath import FastPath

pytestmark = pytest.mark.django_db(transaction=True)

SITE = "https://www.acme.test"
PATH = "/api/v1/track"


@pytest.fixture
def fast():
    path = FastPath()
    yield path
    path.close()


@pytest.fixture
def write_key(workspace):
    workspace_settings_change(workspace=workspace, changes={"tracking_origins": [SITE]})
    forget_cached_sites()
    yield write_key_rotate(workspace=workspace).write_key
    forget_cached_sites()


def both(fast, body, *, headers, query=""):
    """Send one request to the fast path, then to the Django view: [(status, json, headers), ...]."""
    data = json.dumps(body).encode()
    answer = fast.request("POST", PATH + query, content=data, headers=headers)
    meta = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()
            if name != "content-type"}
    view = Client().generic("POST", PATH + query, data, content_type=headers.get("content-type", ""),
                            **meta)
    return [(answer.status_code, json.loads(answer.content), answer.headers),
            (view.status_code, json.loads(view.content), view.headers)]


def test_the_fast_path_stores_what_the_view_then_counts_as_duplicates(fast, workspace, write_key):
    body = {"events": [{"id": "m-1", "type": "page.viewed", "anonymous_id": "a-1", "properties": {"url": SITE}},
                       {"id": "m-2", "type": "cart.updated", "anonymous_id": "a-1",
                        "contact": {"email": "ada@example.com"}}]}
    headers = {"content-type": "application/json", "x-write-key": write_key, "origin": SITE}

    (fast_status, fast_body, fast_headers), (view_status, view_body, _) = both(fast, body, headers=headers)

    assert (fast_status, fast_body) == (202, {"accepted": 2, "duplicates": 0, "rejected": []})
    assert fast_headers["access-control-allow-origin"] == SITE
    assert (view_status, view_body) == (202, {"accepted": 0, "duplicates": 2, "rejected": []})
    assert Event.objects.filter(workspace=workspace, source=Event.Source.WEB, type="page.viewed",
                                contact_id=None).count() == 1


@pytest.mark.parametrize(("case", "status"), [
    ("undeclared origin", 403), ("unknown key", 401), ("reserved type", 400), ("no identity", 400),
    ("beacon", 202), ("key in the query", 202), ("form body", 415),
])
def test_the_fast_path_answers_like_the_view(fast, workspace, write_key, case, status):
    body = {"id": f"{case}", "type": "page.viewed", "anonymous_id": "a-1"}
    headers = {"content-type": "application/json", "x-write-key": write_key, "origin": SITE}
    query = ""
    if case == "undeclared origin":
        headers["origin"] = "https://evil.test"
    elif case == "unknown key":
        headers["x-write-key"] = "wk_nope"
    elif case == "reserved type":
        body["type"] = "email.clicked"
    elif case == "no identity":
        del body["anonymous_id"]
    elif case == "beacon":
        del headers["x-write-key"]
        headers["content-type"] = "text/plain;charset=UTF-8"
        body = {"write_key": write_key, "events": [body]}
    elif case == "key in the query":
        query = f"?write_key={headers.pop('x-write-key')}"
    elif case == "form body":
        headers["content-type"] = "application/x-www-form-urlencoded"

    (fast_status, fast_body, fast_headers), (view_status, view_body, view_headers) = both(
        fast, body, headers=headers, query=query)

    assert fast_status == view_status == status, (fast_body, view_body)
    if status == 202:  # the view came second: the same id is a duplicate there
        assert fast_body["accepted"] == 1 and view_body["duplicates"] == 1
    else:
        assert fast_body == view_body
    for name in ("access-control-allow-origin", "vary", "cache-control", "content-type"):
        assert fast_headers.get(name) == view_headers.get(name), name
