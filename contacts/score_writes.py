"""How a scores writer and a contact's deletion keep a score from outliving its contact.

`contacts_contactscores` has no foreign key to its contact. The key's check locked each contact row a first scoring
wrote (a million contacts: 34 s of database time and 1.4 GB of WAL for the row locks alone, the largest cost of a
first scoring). In its place:

- a writer of scores (predictions.scoring) holds the workspace's score-writes lock, shared, from just before it
  writes until it commits (`score_writes_hold`), and writes scores only for the contacts it still sees;
- deleting contacts, by any path (the ORM, raw SQL, a workspace's deletion), ends with a trigger
  (migration 0009) that takes that lock exclusively, so it waits for the writes in flight, and then deletes the
  scores of the contacts deleted, those writes' included. A writer that comes later waits for the deletion to
  commit, and no longer sees the contacts.

A writer that waits on a row the deletion holds while the deletion waits on the writer's lock would deadlock: the
writer gives up first (`WAIT_FOR_ROWS`, shorter than PostgreSQL's one-second deadlock check) and writes its batch
again once the deletion has committed.
"""

from __future__ import annotations

# The advisory lock's first key (the second: hashtext of the workspace's id); the trigger in migration 0009 names it.
SCORE_WRITES_LOCK = 1_935_623_027
WAIT_FOR_ROWS = "200ms"


def score_writes_hold(cursor, workspace_id) -> None:
    """In the cursor's transaction: wait for any deletion of the workspace's contacts in flight, keep others from
    starting until the transaction ends, and wait at most WAIT_FOR_ROWS for any row from then on."""
    cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, hashtext(%s))", [SCORE_WRITES_LOCK, str(workspace_id)])
    cursor.execute(f"SET LOCAL lock_timeout = '{WAIT_FOR_ROWS}'")
