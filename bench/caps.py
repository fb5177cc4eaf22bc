"""Frequency caps at scale: what a cap check and a ledger write cost a send with 1,000,000 contacts.

The send ledger holds 3 messages per contact over the last 60 days (3,000,000 rows); the workspace has two
rules (email and SMS together 3 per 7 days, defer; push 1 per day, skip). Prints:
- `caps.check_single_ms` p50 / p99: one check in a batch of one contact (the ledger read by index, the verdict);
- `caps.check_in_batch_ms`: a check in a batch of 100 contacts (one ledger read per batch, as the runtime does),
  per send;
- `caps.record_ms`: writing the batch's 100 ledger rows in one statement, per send.

Contacts are made by copying one contact row (so the bench follows the model's columns); the ledger by one
INSERT ... SELECT. The bench (re)creates the database `penguinflow_bench_caps` and drops it at the end
(BENCH_KEEP_DB=1 keeps it); the configured development database is never touched. `--quick`: 50,000 contacts.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TextIO

from bench._support import bench_env, drop_database, pg_params, recreate_migrated

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "penguinflow_bench_caps"
SENDS_PER_CONTACT = 3
SAMPLE = 2000
BATCH = 100
RULES = [
    {"channels": ["email", "sms"], "max": 3, "per": "P7D", "policy": "defer"},
    {"channels": ["push"], "max": 1, "per": "P1D", "policy": "skip"},
]


def measure(*, quick: bool = False) -> dict[str, Any]:
    """Build the scratch database (1,000,000 contacts; 50,000 with `quick`), measure in a child process, drop
    it; return the child's figures."""
    count = 50_000 if quick else 1_000_000
    params = pg_params()
    env = bench_env(params, db_name=DB_NAME, redis_db=os.environ.get("BENCH_REDIS_DB", "13"))
    try:
        recreate_migrated(params, DB_NAME, env)
        result = subprocess.run([sys.executable, "-m", "bench.caps", str(count)], env=env, cwd=ROOT,
                                capture_output=True, text=True)  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"bench child failed:\n{result.stderr[-4000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        drop_database(params, DB_NAME)


def write(out: TextIO, figures: dict[str, Any]) -> None:
    out.write(f"caps.contacts  {figures['contacts']}  ledger rows {figures['ledger_rows']}"
              f"  (created in {figures['create_s']:.1f} s)\n")  # fmt: skip
    out.write(f"caps.check_single_ms  p50 {figures['single_p50_ms']:.3f}  p99 {figures['single_p99_ms']:.3f}"
              f"  mean {figures['single_mean_ms']:.3f}\n")  # fmt: skip
    out.write(f"caps.check_in_batch_ms  {figures['batch_per_send_ms']:.3f} per send (batches of {BATCH})\n")
    out.write(f"caps.record_ms  {figures['record_per_send_ms']:.3f} per send (batches of {BATCH})\n")
    out.flush()


def run(*, out: TextIO, quick: bool = False) -> None:
    write(out, measure(quick=quick))


# --- child (Django set up against the bench database) -------------------------------------------------------------


def _create(workspace, count: int) -> None:
    from django.db import connection

    from contacts.models import Contact
    from workflows.models import SendLedgerEntry

    first = Contact.objects.create(workspace=workspace, email="c0@bench.test")
    table = Contact._meta.db_table
    columns = ", ".join(f.column for f in Contact._meta.concrete_fields if f.column not in ("id", "email"))
    ledger = SendLedgerEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, email, {columns}) SELECT gen_random_uuid(), 'c' || n || '@bench.test', "
            f"{columns} FROM {table}, generate_series(1, %s) n WHERE id = %s",
            [count - 1, first.pk],
        )
        # Three sends per contact over the last 60 days, on the three channels in turn.
        cursor.execute(
            f"INSERT INTO {ledger} (contact_id, channel, sent_at, key) "
            f"SELECT c.id, (ARRAY['email', 'sms', 'push'])[1 + (n + abs(hashtext(c.id::text))) %% 3], "
            f"now() - (abs(hashtext(c.id::text || n)) %% (60 * 24 * 60)) * interval '1 minute', c.id || ':m:' || n "
            f"FROM {table} c, generate_series(1, %s) n WHERE c.workspace_id = %s",
            [SENDS_PER_CONTACT, workspace.pk],
        )
        cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute(f"VACUUM ANALYZE {ledger}")


def _book(contact_ids: list[str], workspace_id) -> SimpleNamespace:
    """What LiveCaps reads of a batch's ContactBook: its locked contacts (by id) and its ledger."""
    from workflows.caps_port import BatchLedger

    contacts = {pk: SimpleNamespace(workspace_id=workspace_id) for pk in contact_ids}
    return SimpleNamespace(contacts=contacts, ledger=BatchLedger())


def _sample(workspace) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM contacts_contact TABLESAMPLE SYSTEM (2) WHERE workspace_id = %s LIMIT %s",
            [workspace.pk, SAMPLE],
        )
        return [str(row[0]) for row in cursor.fetchall()]


def _child(count: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.db import transaction
    from django.utils import timezone

    from penguinflow.workspaces.services import workspace_get_or_create
    from workflows.caps_port import LiveCaps
    from workflows.models import SendLedgerEntry

    workspace, _ = workspace_get_or_create(slug="bench", name="Bench")
    workspace.settings = {"frequency_caps": RULES}
    workspace.save()
    started = time.perf_counter()
    _create(workspace, count)
    create_s = time.perf_counter() - started
    ids = _sample(workspace)
    now = timezone.now()

    single = []
    for n, contact_id in enumerate(ids):
        caps = LiveCaps(_book([contact_id], workspace.pk), workspace)
        began = time.perf_counter()
        caps.check(key=f"bench:{n}", contact_id=contact_id, channel="email", now=now)
        single.append((time.perf_counter() - began) * 1000)

    batch_ms = record_ms = 0.0
    batches = [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]
    for number, batch in enumerate(batches):
        book = _book(batch, workspace.pk)
        caps = LiveCaps(book, workspace)
        began = time.perf_counter()
        for contact_id in batch:
            key = f"bench-batch:{number}:{contact_id}"
            if caps.check(key=key, contact_id=contact_id, channel="email", now=now).allowed:
                caps.record(key=key, contact_id=contact_id, channel="email", at=now)
        batch_ms += (time.perf_counter() - began) * 1000
        began = time.perf_counter()
        with transaction.atomic():
            book.ledger.flush()
        record_ms += (time.perf_counter() - began) * 1000
    sends = sum(len(batch) for batch in batches)
    single.sort()
    return {
        "contacts": count,
        "ledger_rows": SendLedgerEntry.objects.count(),
        "create_s": create_s,
        "single_p50_ms": statistics.median(single),
        "single_p99_ms": single[int(len(single) * 0.99) - 1],
        "single_mean_ms": statistics.fmean(single),
        "batch_per_send_ms": batch_ms / sends,
        "record_per_send_ms": record_ms / sends,
    }


if __name__ == "__main__":
    print(json.dumps(_child(int(sys.argv[1]))))
