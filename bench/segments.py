"""Segments at scale: full membership of a 5-clause rule over 1,000,000 contacts, and the first page of members.

Prints:
- `segments.membership_s`: `segment_members_rebuild` of a new segment (SQL selection, membership writes and the
  segment.entered events, range by range);
- `segments.first_page_ms`: `GET /api/v1/segments/{id}/contacts` through the real view (first page of 50).

The contacts (a plan, a country and a renewal date in `fields`, a score, some `vip` tags, creation dates over a
year) are written by one INSERT ... SELECT generate_series, and email.opened events for a tenth of them by another.
The bench (re)creates the database `penguinflow_bench_segments` and drops it at the end (BENCH_KEEP_DB=1 keeps
it); the configured development database is never touched. `--quick`: 50,000 contacts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from bench._support import bench_env, drop_database, pg_params, recreate_migrated

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "penguinflow_bench_segments"

RULE = {"and": [
    {"==": [{"var": "contact.fields.plan"}, "pro"]},
    {">=": [{"var": "contact.score"}, 50]},
    {"or": [{"in": ["vip", {"var": "contact.tags"}]}, {"in": [{"var": "contact.fields.country"}, ["FR", "DE"]]}]},
    {">": [{"days_since": [{"var": "contact.created_at"}]}, 30]},
    {">=": [{"event_count": {"type": "email.opened", "within": "P90D"}}, 1]},
]}


def run(*, out: TextIO, quick: bool = False) -> None:
    count = 50_000 if quick else 1_000_000
    params = pg_params()
    # Redis is required by the settings but unused here.
    env = bench_env(params, db_name=DB_NAME, redis_db=os.environ.get("BENCH_REDIS_DB", "13"))
    try:
        recreate_migrated(params, DB_NAME, env)
        result = subprocess.run([sys.executable, "-m", "bench.segments", str(count)], env=env, cwd=ROOT,
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"bench child failed:\n{result.stderr[-4000:]}")
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        out.write(f"segments.contacts  {figures['contacts']}  (created in {figures['create_s']:.1f} s)\n")
        out.write(f"segments.members  {figures['members']}\n")
        out.write(f"segments.membership_s  {figures['membership_s']:.2f}\n")
        out.write(f"segments.first_page_ms  {figures['first_page_ms']:.1f}\n")
        out.flush()
    finally:
        drop_database(params, DB_NAME)


# --- child (Django set up against the bench database) -------------------------------------------------------------


def _create_contacts(workspace_id, count: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO contacts_contact (id, workspace_id, created_at, updated_at, email, first_name, last_name,
                timezone, status, score, fields, tags, external_id)
            SELECT gen_random_uuid(), %s, now() - (n %% 365) * interval '1 day', now(), 'c' || n || '@bench.test',
                '', '', '', 'subscribed', n %% 100,
                jsonb_build_object('plan', CASE WHEN n %% 3 = 0 THEN 'pro' ELSE 'free' END,
                                   'country', (ARRAY['FR', 'DE', 'US', 'GB', 'ES'])[1 + n %% 5],
                                   'renewal', to_char(now() + (n %% 200) * interval '1 day', 'YYYY-MM-DD')),
                CASE WHEN n %% 4 = 0 THEN '{vip}'::varchar[] ELSE '{}'::varchar[] END, NULL
            FROM generate_series(1, %s) AS n
            """,
            [workspace_id, count],
        )
        cursor.execute(
            """
            INSERT INTO events_event (workspace_id, contact_id, type, occurred_at, received_at, properties, source,
                flags, attempts)
            SELECT workspace_id, id, 'email.opened', now() - (score %% 60) * interval '1 day', now(), '{}'::jsonb,
                'system', '{}'::jsonb, 0
            FROM contacts_contact WHERE workspace_id = %s AND score %% 10 = 0
            """,
            [workspace_id],
        )
        cursor.execute("ANALYZE contacts_contact")
        cursor.execute("ANALYZE events_event")


def _child(count: int) -> dict[str, Any]:
    import django

    django.setup()
    from rest_framework.test import APIClient

    from contacts.models import Segment, SegmentMembership
    from contacts.segments import segment_members_rebuild
    from penguinflow.workspaces.services import api_key_create, workspace_get_or_create

    workspace, _ = workspace_get_or_create(slug="bench", name="Bench")
    started = time.perf_counter()
    _create_contacts(workspace.id, count)
    create_s = time.perf_counter() - started

    segment = Segment.objects.create(workspace=workspace, name="Engaged pro", rule=RULE)
    started = time.perf_counter()
    segment_members_rebuild(segment=segment)
    membership_s = time.perf_counter() - started

    client = APIClient()
    _, key = api_key_create(workspace=workspace, name="bench")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    started = time.perf_counter()
    response = client.get(f"/api/v1/segments/{segment.pk}/contacts", secure=True)  # production settings: HTTPS
    first_page_ms = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (response.status_code, response.headers, response.content[:500])
    return {"contacts": count, "create_s": create_s, "membership_s": membership_s, "first_page_ms": first_page_ms,
            "members": SegmentMembership.objects.filter(segment=segment).count()}


if __name__ == "__main__":
    print(json.dumps(_child(int(sys.argv[1]))))
