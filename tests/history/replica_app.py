"""The app side of test_read_replica: run as `python -m tests.history.replica_app seed|read|list|down` in a
process of its own whose DATABASE_URL is the test's primary and DATABASE_REPLICA_URL its hot standby; prints one
JSON line.

A process of its own, because Django builds its connections (and their pools) from the settings once: the test
process is already on the test run's database.
"""

from __future__ import annotations

import json
import os
import sys

import django


def seed() -> dict:
    """Executions to look at (Ada and Bob failed, Carol completed), an API key, on the primary."""
    from penguinflow.workspaces.services import api_key_create
    from tests.factories import WorkspaceFactory
    from tests.history.screens_seed import seed_executions

    workspace = WorkspaceFactory(slug="acme")
    seeded = seed_executions(workspace)
    _, secret = api_key_create(workspace=workspace, name="replica test")
    _, actor_secret = api_key_create(workspace=workspace, name="replica test: the browser that writes")
    _, integration_secret = api_key_create(workspace=workspace, name="replica test: the integration that writes")
    return {"key": secret, "actor_key": actor_secret, "integration_key": integration_secret,
            "workflow": str(seeded.onboarding.pk), "ada": str(seeded.ada.pk), "bob": str(seeded.bob.pk), "carol": str(seeded.carol.pk)}


class Screens:
    """An API client (its own cookies: a browser) that notes how many of each request's enrollment queries ran on
    the replica."""

    def __init__(self, key: str, *, keeps_cookies: bool = True) -> None:
        from rest_framework.test import APIClient

        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        self.keeps_cookies = keeps_cookies

    def post(self, path: str):
        response = self.client.post(path)
        if not self.keeps_cookies:
            self.client.cookies.clear()  # an integration that keeps none: only its API key says who it is
        return response

    def get(self, path: str) -> tuple[object, int]:
        from django.db import connections
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connections["replica"]) as on_replica:
            response = self.client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            # A stream's queries run as it is read (the export's COPY, through psycopg: not counted).
            body = b"".join(response.streaming_content).decode() if response.streaming else response.json()
        # The lag check runs on the replica whatever it decides: only the screen's own reads count.
        reads = sum("workflows_" in query["sql"] for query in on_replica.captured_queries)
        return body, reads

    def statuses(self) -> dict:
        page, reads = self.get("/api/v1/executions")
        return {"statuses": {row["id"]: row["status"] for row in page["results"]}, "replica_reads": reads}


def read(seeded: dict) -> dict:
    """Cancel Bob as one browser (`actor`); read every history screen as another (`viewer`) and as the actor.
    Then cancel Ada as an integration that keeps no cookies (`integration`, its own API key) and read as it."""
    from django.conf import settings
    from django.db import connections

    from workflows.models import Enrollment

    viewer, actor = Screens(seeded["key"]), Screens(seeded["actor_key"])
    cancel = actor.post(f"/api/v1/executions/{seeded['bob']}/cancel")
    assert cancel.status_code == 200, cancel.content
    detail, detail_reads = viewer.get(f"/api/v1/executions/{seeded['bob']}")
    export, _ = viewer.get("/api/v1/executions/export.csv")
    analytics, analytics_reads = viewer.get(f"/api/v1/workflows/{seeded['workflow']}/analytics")
    _, timeline_reads = viewer.get(f"/api/v1/contacts/{detail['contact']['id']}/timeline")
    actor_analytics, _ = actor.get(f"/api/v1/workflows/{seeded['workflow']}/analytics")
    answer = {
        "viewer": viewer.statuses(), "actor": actor.statuses(),
        "actor_analytics": actor_analytics["enrollments"],
        "detail": {"status": detail["status"], "replica_reads": detail_reads},
        "export_bob_row": next(line for line in export.splitlines() if line.startswith(seeded["bob"])),
        "analytics": {"enrollments": analytics["enrollments"], "replica_reads": analytics_reads},
        "timeline_replica_reads": timeline_reads,
        # What the engine reads (no reads_from_replica around it): the primary's row.
        "engine": {"status": Enrollment.objects.get(pk=seeded["bob"]).status, "alias": Enrollment.objects.all().db},
        "replica_port": connections["replica"].settings_dict["PORT"],
    }
    integration = Screens(seeded["integration_key"], keeps_cookies=False)
    cancel = integration.post(f"/api/v1/executions/{seeded['ada']}/cancel")
    assert cancel.status_code == 200, cancel.content
    answer["integration"] = integration.statuses()
    answer["viewer_after_integration"] = viewer.statuses()
    settings.DATABASE_REPLICA_MAX_LAG = 0.0  # the paused replica is now too far behind
    answer["viewer_when_lagging"] = viewer.statuses()
    return answer


def read_with_the_replica_down(seeded: dict) -> dict:
    """The list once the replica stopped: answered (from the primary), not a 500."""
    response = Screens(seeded["key"]).client.get("/api/v1/executions")
    statuses = {row["id"]: row["status"] for row in response.json()["results"]} if response.status_code == 200 else {}
    return {"status_code": response.status_code, "statuses": statuses}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "penguinflow.settings.test")
    django.setup()
    step = sys.argv[1]
    if step == "seed":
        answer = seed()
    elif step == "read":
        answer = read(json.loads(sys.argv[2]))
    elif step == "list":
        answer = Screens(json.loads(sys.argv[2])["key"]).statuses()
    else:
        answer = read_with_the_replica_down(json.loads(sys.argv[2]))
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
