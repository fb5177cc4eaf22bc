"""`GET|PATCH /api/v1/workspace/settings`: the sending settings of CONTRACT §13, validated whole."""

from __future__ import annotations

import pytest

from penguinflow.workspaces.messaging_settings import messaging_settings
from penguinflow.workspaces.models import Workspace


def test_the_defaults_are_shown_before_anything_is_set(api):
    response = api.get("/api/v1/workspace/settings")
    assert response.status_code == 200
    assert response.json() == {"frequency_caps": [], "quiet_hours": {"start": "21:00", "end": "08:00", "regions": {}},
                               "topics": [], "push_origins": [], "sms_rate_per_second": None,
                               "tracking_origins": []}


def test_a_patch_replaces_the_settings_it_names_and_keeps_the_others(api, workspace):
    caps = [{"channels": ["email", "sms"], "max": 3, "per": "P7D", "policy": "skip"}]
    assert api.patch("/api/v1/workspace/settings", {"frequency_caps": caps}, format="json").status_code == 200
    response = api.patch("/api/v1/workspace/settings",
                         {"quiet_hours": {"start": "20:00", "end": "09:00", "regions": {"US": {"start": "21:00",
                                                                                             "end": "08:00"}}}},
                         format="json")
    assert response.status_code == 200, response.content
    assert response.json()["frequency_caps"] == caps
    settings = messaging_settings(Workspace.objects.get(pk=workspace.pk))
    assert settings.frequency_caps[0].span.days == 7
    assert settings.quiet_hours.regions["US"].start == "21:00"


@pytest.mark.parametrize(("body", "path"), [
    ({"frequency_caps": [{"channels": ["fax"], "max": 1, "per": "P1D"}]}, "frequency_caps.0.channels.0"),
    ({"frequency_caps": [{"channels": ["sms"], "max": 1, "per": "PT1S"}]}, "frequency_caps.0.per"),
    ({"frequency_caps": [{"channels": ["sms"], "max": 0, "per": "P1D"}]}, "frequency_caps.0.max"),
    ({"quiet_hours": {"start": "25:00", "end": "08:00"}}, "quiet_hours.start"),
    ({"quiet_hours": {"regions": {"ZZ": {"closed_days": ["sun"]}}}}, "quiet_hours.regions"),
    ({"quiet_hours": {"regions": {"DE": {"closed_days": ["sunday"]}}}}, "quiet_hours.regions.DE.closed_days.0"),
    ({"quiet_hours": {"regions": {"DE": {"start": "20:00"}}}}, "quiet_hours.regions.DE"),
    ({"sms_rate_per_second": 0}, "sms_rate_per_second"),
    ({"push_origins": ["javascript:alert(1)"]}, "push_origins.0"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_settings_are_a_400_naming_the_path_and_nothing_changes(api, workspace, body, path):
    response = api.patch("/api/v1/workspace/settings", body, format="json")
    assert response.status_code == 400, response.content
    assert path in response.json()["error"]["details"]
    assert Workspace.objects.get(pk=workspace.pk).settings == {}


def test_a_region_may_close_whole_days_and_the_workspace_may_limit_its_sms_rate(api, workspace):
    body = {"quiet_hours": {"start": "21:00", "end": "08:00", "regions": {"DE": {"closed_days": ["sun"]}}},
            "sms_rate_per_second": 25}
    response = api.patch("/api/v1/workspace/settings", body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["quiet_hours"]["regions"] == {"DE": {"start": None, "end": None, "closed_days": ["sun"]}}
    assert api.get("/api/v1/workspace/settings").json()["sms_rate_per_second"] == 25


def test_an_unknown_region_is_a_400_in_the_contracts_error_format(api, workspace):
    body = {"quiet_hours": {"regions": {"XK": {"closed_days": ["sun"]}, "QQ": {"closed_days": ["sun"]}}}}
    response = api.patch("/api/v1/workspace/settings", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["message"] and "unknown region QQ" in error["details"]["quiet_hours.regions"]
    assert Workspace.objects.get(pk=workspace.pk).settings == {}


def test_a_viewer_reads_the_settings_but_cannot_change_them(client, workspace):
    from tests.factories import MembershipFactory

    client.force_login(MembershipFactory(workspace=workspace, role="viewer").user)
    assert client.get("/api/v1/workspace/settings").status_code == 200
    response = client.patch("/api/v1/workspace/settings", {"topics": []}, content_type="application/json")
    assert response.status_code == 403
