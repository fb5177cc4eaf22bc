"""The marketplace API (CONTRACT §15): catalogue, detail, install, and bad input that creates nothing."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign
from contacts.models import Segment
from marketplace.models import TemplateInstall
from templates.models import EmailTemplate
from workflows.models import Workflow

pytestmark = pytest.mark.django_db


def _counts(workspace) -> tuple[int, ...]:
    return tuple(
        model.objects.for_workspace(workspace).count()
        for model in (Workflow, EmailTemplate, Segment, Campaign, TemplateInstall)
    )


def test_the_list_filters_by_category_and_searches_names_descriptions_and_keywords(api):
    everything = api.get("/api/v1/workflow-templates?limit=500")
    assert everything.status_code == 200
    assert int(everything["X-Total-Count"]) == len(everything.json()) >= 50
    item = everything.json()[0]
    assert {"slug", "name", "category", "description", "requires", "parameters", "stats"} <= set(item)

    ecommerce = api.get("/api/v1/workflow-templates", {"category": "e-commerce"}).json()
    assert ecommerce and {t["category"] for t in ecommerce} == {"e-commerce"}
    assert "abandoned-cart" in [t["slug"] for t in ecommerce]

    found = [t["slug"] for t in api.get("/api/v1/workflow-templates", {"q": "BREAK-UP"}).json()]
    assert "cold-outreach-three-step" in found and "abandoned-cart" not in found


def test_popular_sorts_the_most_installed_first(api):
    for _ in range(2):
        assert (
            api.post("/api/v1/workflow-templates/welcome-series/install", {}, format="json").status_code
            == 201
        )
    assert (
        api.post("/api/v1/workflow-templates/newsletter-welcome/install", {}, format="json").status_code
        == 201
    )
    slugs = [t["slug"] for t in api.get("/api/v1/workflow-templates?sort=popular").json()]
    assert slugs[:2] == ["welcome-series", "newsletter-welcome"]
    assert api.get("/api/v1/workflow-templates?sort=popular").json()[0]["stats"]["installs"] == 2


@pytest.mark.parametrize(
    "query, field",
    [
        ("category=nope", "category"),
        ("sort=best", "sort"),
        ("limit=0", "limit"),
        ("offset=-1", "offset"),
        ("colour=blue", "colour"),
        ("q=a&q=b", "q"),
    ],
)
def test_a_bad_list_query_is_a_400_naming_the_parameter(api, query, field):
    response = api.get(f"/api/v1/workflow-templates?{query}")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_the_detail_has_the_graph_emails_sample_path_and_what_installing_needs(api):
    response = api.get("/api/v1/workflow-templates/webinar-promotion")
    assert response.status_code == 200
    detail = response.json()
    assert [n["id"] for n in detail["graph"]["nodes"]][:2] == ["joined", "invite"]
    assert all("position" in n for n in detail["graph"]["nodes"])
    assert [e["id"] for e in detail["emails"]] == ["invite", "reminder"]
    assert detail["sample"]["expected_path"] == ["joined", "invite", "wait", "reminder"]
    assert detail["sample"]["path"][0]["node_id"] == "joined"
    assert detail["install"]["missing"] == [
        {
            "id": "audience",
            "kind": "segment",
            "name": "Webinar audience",
            "can_create": True,
            "message": "Pick an existing segment for 'Webinar audience', or create it.",
        }
    ]


def test_an_unknown_template_is_a_404(api):
    assert api.get("/api/v1/workflow-templates/no-such-thing").status_code == 404
    assert api.post("/api/v1/workflow-templates/no-such-thing/install", {}, format="json").status_code == 404


def test_install_creates_the_draft_its_emails_and_what_was_asked_in_one_go(api, workspace):
    response = api.post(
        "/api/v1/workflow-templates/webinar-promotion/install",
        {"parameters": {"reminder_wait": "P2D"}, "resources": {"audience": "create"}},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    workflow = Workflow.objects.get(pk=body["workflow_id"])
    assert workflow.status == "draft" and workflow.name == "Webinar promotion"
    assert sorted(item["kind"] for item in body["created"]) == ["email", "email", "segment", "workflow"]
    segment = Segment.objects.for_workspace(workspace).get()
    draft = api.get(f"/api/v1/workflows/{workflow.pk}").json()["draft"]
    nodes = {n["id"]: n["data"]["config"] for n in draft["graph"]["nodes"]}
    assert nodes["joined"]["segment_id"] == str(segment.pk)
    assert nodes["wait"]["duration"] == "P2D"
    assert api.post(f"/api/v1/workflows/{workflow.pk}/publish").status_code == 200


def test_installing_twice_gives_two_independent_workflows(api, workspace):
    first = api.post("/api/v1/workflow-templates/welcome-series/install", {}, format="json").json()
    second = api.post("/api/v1/workflow-templates/welcome-series/install", {}, format="json").json()
    assert first["workflow_id"] != second["workflow_id"]
    assert Workflow.objects.for_workspace(workspace).count() == 2
    first_ids = {i["id"] for i in first["created"]}
    assert not first_ids & {i["id"] for i in second["created"]}


def test_install_reuses_an_object_of_the_same_name_and_says_so(api, workspace):
    campaign = Campaign.objects.create(workspace=workspace, name="Lead nurturing")
    response = api.post("/api/v1/workflow-templates/lead-nurturing-campaign/install", {}, format="json")
    assert response.status_code == 201
    assert response.json()["reused"] == [
        {"kind": "campaign", "id": str(campaign.pk), "requirement": "nurture_campaign"}
    ]
    assert Campaign.objects.for_workspace(workspace).count() == 1


def test_install_without_what_is_missing_is_a_422_naming_it_and_creates_nothing(api, workspace):
    before = _counts(workspace)
    response = api.post("/api/v1/workflow-templates/crm-sync-webhook/install", {}, format="json")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "template_requirements_missing"
    assert [m["id"] for m in error["details"]["missing"]] == ["crm_url"]
    assert "The CRM's webhook URL" in error["message"]
    assert _counts(workspace) == before


def test_an_existing_object_of_another_workspace_is_missing_and_nothing_is_half_installed(
    api, workspace, other_workspace
):
    theirs = Segment.objects.create(workspace=other_workspace, name="Theirs", rule={"==": [1, 1]})
    before = _counts(workspace)
    response = api.post(
        "/api/v1/workflow-templates/webinar-promotion/install",
        {"resources": {"audience": str(theirs.pk)}},
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["missing"][0]["id"] == "audience"
    assert _counts(workspace) == before


def test_a_failure_after_the_first_writes_rolls_everything_back(api, workspace, monkeypatch):
    from marketplace import services

    def broken(**kwargs):
        raise services.InvalidInput("The graph cannot be saved.", details={"graph": "boom"})

    monkeypatch.setattr(services.workflow_services, "workflow_create", broken)
    before = _counts(workspace)
    response = api.post("/api/v1/workflow-templates/welcome-series/install", {}, format="json")
    assert response.status_code == 400
    assert _counts(workspace) == before  # the three emails made before the failure are gone too


@pytest.mark.parametrize(
    "body, field",
    [
        ({"parameters": {"nope": 1}}, "parameters.nope"),
        ({"parameters": {"tips_delay": "two days"}}, "parameters.tips_delay"),
        ({"resources": {"nope": "create"}}, "resources.nope"),
        ({"parameters": []}, "parameters"),
        ({"version": 0}, "version"),
    ],
)
def test_bad_install_input_is_a_400_naming_it(api, workspace, body, field):
    before = _counts(workspace)
    response = api.post("/api/v1/workflow-templates/welcome-series/install", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    assert _counts(workspace) == before


def test_a_number_parameter_refuses_text_and_a_url_parameter_refuses_a_non_url(api):
    number = api.post(
        "/api/v1/workflow-templates/engagement-scoring/install",
        {"parameters": {"threshold": "fifty"}},
        format="json",
    )
    url = api.post(
        "/api/v1/workflow-templates/crm-sync-webhook/install",
        {"parameters": {"crm_url": "not a url"}},
        format="json",
    )
    assert (number.status_code, url.status_code) == (400, 400)


def test_a_malformed_body_is_a_400(api):
    response = api.generic(
        "POST", "/api/v1/workflow-templates/welcome-series/install", "{", "application/json"
    )
    assert response.status_code == 400


def test_a_key_of_another_workspace_sees_none_of_this_workspaces_installs(api, other_api):
    api.post("/api/v1/workflow-templates/welcome-series/install", {}, format="json")
    mine = api.get("/api/v1/workflow-templates/welcome-series").json()["stats"]["installs"]
    theirs = other_api.get("/api/v1/workflow-templates/welcome-series").json()["stats"]
    assert mine == theirs["installs"] == 1  # counts are shared; rates are not (below the minimum sample)
    assert theirs["completion_rate"] is None and theirs["rates_hidden_because"]
