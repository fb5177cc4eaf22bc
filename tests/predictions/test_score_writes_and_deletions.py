"""A deleted contact keeps no scores, whatever a scoring is writing at that moment (contacts.score_writes): the
scores table has no foreign key, so the proof is a race played out on real connections, each way round."""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg
import pytest
from django.db import connection, connections

from contacts.models import Contact, ContactScores
from contacts.score_writes import SCORE_WRITES_LOCK, score_writes_hold
from predictions import scoring
from tests.chaos import wait_for
from tests.factories import ContactFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db(transaction=True)
PATCH = '{"churn_risk": {"score": 40, "reasons": [], "model_version": "churn_risk-v1", "scored_at": "2026-12-06"}}'


def _connect() -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"] or "postgres",
                           dbname=db["NAME"])  # fmt: skip


def _in_thread(work: Callable[[], object]) -> tuple[threading.Thread, dict]:
    """Run `work` on a thread with its own Django connection; the dict gets its "result" or "error"."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except Exception as error:  # handed to the test, which asserts on it
            outcome["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def _waiting(what: str) -> Callable[[], bool]:
    """Whether some backend of this database waits for a lock of this kind ("advisory", "transactionid")."""
    def check() -> bool:
        with _connect() as watcher:
            return watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                   "AND wait_event_type = 'Lock' AND wait_event = %s", [what]).fetchone()[0] > 0
    return check


def _batch(workspace, *contacts) -> tuple[str, str]:
    """A write batch's COPY texts (scores, state) for these contacts, as predictions.scoring makes them."""
    scores = "".join(f"{c.pk}\t{PATCH}\n" for c in contacts)
    state = "".join(f"{c.pk}\t{workspace.pk}\t\\N\t0\tt\t0\n" for c in contacts)
    return scores, state


def _scored(*contacts) -> set:
    return set(ContactScores.objects.filter(contact__in=[c.pk for c in contacts]).values_list("contact_id", flat=True))


def test_a_contact_deleted_while_its_scores_are_written_keeps_none():
    workspace = WorkspaceFactory()
    gone, kept = ContactFactory(workspace=workspace), ContactFactory(workspace=workspace)
    with _connect() as writer:  # a batch in flight: its scores written, not yet committed
        score_writes_hold(writer.cursor(), workspace.pk)
        for contact in (gone, kept):
            writer.execute("INSERT INTO contacts_contactscores (contact_id, predictions) VALUES (%s, %s)",
                           [contact.pk, PATCH])
        deletion, outcome = _in_thread(lambda: Contact.objects.filter(pk=gone.pk).delete())
        wait_for(_waiting("advisory"), what="the deletion to wait for the writes in flight", timeout=60)
        writer.commit()
    deletion.join(60)

    assert "error" not in outcome, outcome
    assert _scored(gone, kept) == {kept.pk}


def test_scores_written_once_a_deletion_has_begun_skip_its_contacts():
    workspace = WorkspaceFactory()
    gone, kept = ContactFactory(workspace=workspace), ContactFactory(workspace=workspace)
    with _connect() as deleter:  # any path: here raw SQL
        deleter.execute("DELETE FROM contacts_contact WHERE id = %s", [gone.pk])
        write, outcome = _in_thread(lambda: scoring._Writer(workspace.pk, threaded=False)._write(
            *_batch(workspace, gone, kept)))
        wait_for(_waiting("advisory"), what="the write to wait for the deletion", timeout=60)
        deleter.commit()
    write.join(60)

    assert "error" not in outcome, outcome
    assert _scored(gone, kept) == {kept.pk}


def test_a_write_waiting_on_a_row_the_deletion_holds_gives_way_and_is_written_again(monkeypatch):
    """Django deletes a contact's scores before the contact. A write that then waits on that score row, while the
    deletion waits on the write's lock, would deadlock: the write gives way first and is written again."""
    workspace = WorkspaceFactory()
    gone, kept = ContactFactory(workspace=workspace), ContactFactory(workspace=workspace)
    ContactScores.objects.create(contact=gone, predictions={})
    attempts = []
    write_once = scoring._Writer._write_once
    monkeypatch.setattr(scoring._Writer, "_write_once",
                        lambda self, *texts: (attempts.append(1), write_once(self, *texts))[1])
    with _connect() as deleter:
        deleter.execute("DELETE FROM contacts_contactscores WHERE contact_id = %s", [gone.pk])
        write, outcome = _in_thread(lambda: scoring._Writer(workspace.pk, threaded=False)._write(
            *_batch(workspace, gone, kept)))
        wait_for(_waiting("transactionid"), what="the write to wait on the deleted score row", timeout=60)
        deleter.execute("DELETE FROM contacts_contact WHERE id = %s", [gone.pk])  # waits until the write gives way
        deleter.commit()
    write.join(60)

    assert "error" not in outcome, outcome
    assert len(attempts) >= 2
    assert _scored(gone, kept) == {kept.pk}


def test_every_path_of_deletion_takes_the_scores_with_it_through_the_writers_lock():
    workspace = WorkspaceFactory()
    contacts = [ContactFactory(workspace=workspace) for _ in range(3)]
    ContactScores.objects.bulk_create([ContactScores(contact=c, predictions={"churn_risk": {"score": 1}})
                                       for c in contacts])
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM contacts_contact WHERE id = %s", [contacts[0].pk])
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = 'contacts_scores_follow_deleted_contacts'")
        (source,) = cursor.fetchone()
    contacts[1].delete()

    assert _scored(*contacts) == {contacts[2].pk}
    assert f"pg_advisory_xact_lock({SCORE_WRITES_LOCK}," in source
    workspace.delete()
    assert not ContactScores.objects.filter(contact_id=contacts[2].pk).exists()
