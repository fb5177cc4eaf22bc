"""List filters are strict: a single-valued parameter given twice is a 400, and a timestamp with an offset
PostgreSQL cannot hold is compared in UTC instead of failing."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/v1/campaigns", "/api/v1/workflows", "/api/v1/contacts"])
def test_a_single_valued_filter_given_twice_is_a_400(api, path):
    response = api.get(f"{path}?q=a&q=b")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"q": "Give this parameter once."}


def test_a_filter_given_once_still_filters(api):
    assert api.get("/api/v1/workflows?q=a").status_code == 200


def test_a_timestamp_with_a_far_offset_is_compared_in_utc(api):
    response = api.get("/api/v1/executions", {"since": "3650-07-31T19:46:29+16:31"})
    assert response.status_code == 200
    assert response.json()["results"] == []
