"""The clock crossing a DST change (Europe/Paris: 2026-03-29 02:00 CET -> 03:00 CEST, and 2026-10-25 03:00 CEST
-> 02:00 CET), for the running runtime: the scheduler's own functions are driven through their clock seam
(`time_triggers_fire(now=)`, `scheduler_tick(now=)`, which hands `now` to the worker's batch), one tick every
5 minutes of virtual time through the night, each tick's jobs run by a real RQ worker.

What the code documents, and these tests hold it to:
- a duration is exact (workflows/engine/durations.py): `P1D` is 24 hours, so across a change the wall-clock time
  moves by an hour (12:00 CET on Saturday -> 13:00 CEST on Sunday), it is not "the same time tomorrow";
- a wall-clock time skipped by the spring change moves forward by the gap (`wait_until` 02:30 -> 03:30 CEST), a
  time repeated by the fall change is its first occurrence, and from inside the repeated hour the next 02:30 is
  the second one (workflows/engine/timing.py);
- delivery windows and quiet hours open at their local hour by the new offset;
- a daily 09:00 schedule fires once a day, at 09:00 local, on both sides of each change.
Each step after a wait runs exactly once.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sms.models import SmsMessage
from tests.engine.graphs import chain, node
from tests.factories import ContactFactory
from tests.sms.conftest import opted_in
from tests.workflows.builders import publish
from workflows.engine.statuses import LIVE_STATUSES
from workflows.enrollment_starts import Entry, enrollments_start
from workflows.entry_path import time_triggers_fire
from workflows.live_versions import published_version_of
from workflows.models import Enrollment, StepRun, WorkflowVersion

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
TICK = timedelta(minutes=5)
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def walk(run_steps, start: datetime, end: datetime, step: timedelta, on_tick=None) -> None:
    """Move the scheduler's clock from `start` to `end`: fire the time triggers and run what is due, each tick."""
    moment = start
    while moment <= end:
        if on_tick is not None:
            on_tick(moment)
        time_triggers_fire(now=moment)
        run_steps(moment)
        moment += step


def _waiting_workflow(workspace, name: str, step: dict):
    nodes = [node("t", "trigger_manual"), step, node("done", "add_tag", {"tag": name})]
    return publish(workspace, nodes, chain("t", step["id"], "done"), name=name)


# (spring or fall) -> the Sunday of the change, and when each contact's step after its wait must run (UTC).
CHANGES = {
    "spring": (date(2026, 3, 29), {
        "wait_0230": (1, 30),  # 02:30 does not exist: 03:30 CEST
        "delay_p1d": (11, 0),  # entered Saturday 12:00 CET, 24 h later: 13:00 CEST
        "window_0900": (7, 0),  # 09:00 CEST
        "quiet_sms": (6, 0),  # quiet until 08:00 CEST
    }),
    "fall": (date(2026, 10, 25), {
        "wait_0230": (0, 30),  # the first 02:30 (CEST)
        "wait_0230_from_repeat": (1, 30),  # entered at the second 02:10 (CET): the second 02:30, 20 min later
        "delay_p1d": (11, 0),  # entered Saturday 13:00 CEST, 24 h later: 12:00 CET
        "window_0900": (8, 0),  # 09:00 CET
        "quiet_sms": (7, 0),  # quiet until 08:00 CET
    }),
}  # fmt: skip


@pytest.mark.parametrize("change", ["spring", "fall"])
def test_waits_windows_and_quiet_hours_run_once_at_their_local_time_across_the_change(
    change, workspace, twilio, run_steps, run_sms_jobs
):
    sunday, expected = CHANGES[change]
    saturday = sunday - timedelta(days=1)
    wait = node("w", "wait_until", {"time": "02:30", "timezone": "Europe/Paris"})
    workflows = {
        "wait_0230": _waiting_workflow(workspace, "wait_0230", wait),
        "delay_p1d": _waiting_workflow(workspace, "delay_p1d", node("w", "delay", {"duration": "P1D"})),
        "window_0900": _waiting_workflow(workspace, "window_0900", node("w", "delay", {
            "duration": "PT1H", "window": {"days": EVERY_DAY, "start": "09:00", "end": "17:00",
                                           "timezone": "Europe/Paris"}})),
        "quiet_sms": _waiting_workflow(workspace, "quiet_sms", node("w", "send_sms", {"text": "Good morning"})),
    }  # fmt: skip
    entries = {  # who enters which workflow, when (Saturday evening, or in the night)
        "wait_0230": ("wait_0230", utc(saturday, 22)),
        "delay_p1d": ("delay_p1d", utc(saturday, 11)),
        "window_0900": ("window_0900", utc(saturday, 17)),  # 18:00 CET / 19:00 CEST: the window is closed
        "quiet_sms": ("quiet_sms", utc(saturday, 23)),  # 00:00 CET / 01:00 CEST: quiet hours
    }
    if change == "fall":
        entries["wait_0230_from_repeat"] = ("wait_0230", utc(sunday, 1, 10))  # 02:10 CET, the second time
    contacts = {label: opted_in(ContactFactory(workspace=workspace, timezone="Europe/Paris"), phone=f"+3361234{n:04d}")
                for n, label in enumerate(entries)}  # fmt: skip
    done_at: dict[str, datetime] = {}

    def on_tick(moment: datetime) -> None:
        for label, (name, at) in entries.items():
            if at == moment:
                report = enrollments_start(version=published_version_of(workflows[name]),
                                           entries=[Entry(contacts[label].pk, "t")], now=moment)  # fmt: skip
                assert len(report.started) == 1
        for label in entries:  # the tick before: what ran then
            if (
                label not in done_at
                and StepRun.objects.filter(
                    enrollment__contact=contacts[label], node_id="done", status="succeeded"
                ).exists()
            ):
                done_at[label] = moment - TICK

    walk(run_steps, utc(saturday, 10), utc(sunday, 13), TICK, on_tick)

    assert done_at == {label: utc(sunday, *hm) for label, hm in expected.items()}
    enrollments = Enrollment.objects.filter(workflow__in=workflows.values())
    assert Counter(enrollments.values_list("status", flat=True)) == {"completed": len(entries)}
    assert not enrollments.filter(status__in=LIVE_STATUSES).exists()
    done = Counter(StepRun.objects.filter(enrollment__in=enrollments, node_id="done", status="succeeded")
                   .values_list("enrollment_id", flat=True))  # fmt: skip
    assert sorted(done.values()) == [1] * len(entries)  # each step after a wait ran once
    run_sms_jobs()
    assert SmsMessage.objects.filter(contact=contacts["quiet_sms"]).count() == 1
    assert [m.to for m in twilio.messages] == [contacts["quiet_sms"].phone]
    local = {label: f"{at.astimezone(PARIS):%a %H:%M %Z}" for label, at in done_at.items()}
    print(f"\nDST {change}: {local}; each step after its wait ran once, 1 SMS delivered once")


@pytest.mark.parametrize("change", ["spring", "fall"])
def test_a_daily_nine_oclock_schedule_fires_once_a_day_at_nine_local_across_the_change(
    change, workspace, run_steps
):
    sunday = CHANGES[change][0]
    first, last = sunday - timedelta(days=2), sunday + timedelta(days=2)  # Friday to Tuesday
    contact = ContactFactory(workspace=workspace, timezone="Europe/Paris")
    schedule = node("t", "trigger_schedule", {
        "rrule": "FREQ=DAILY;BYHOUR=9;BYMINUTE=0", "timezone": "Europe/Paris",
        "audience": {"rule": {"==": [{"var": "contact.id"}, str(contact.pk)]}}})  # fmt: skip
    workflow = publish(workspace, [schedule, node("done", "add_tag", {"tag": "daily"})], chain("t", "done"),
                       settings={"reenrollment": {"mode": "always"}})  # fmt: skip
    WorkflowVersion.objects.filter(workflow=workflow, number__isnull=False).update(
        published_at=utc(first, 0)
    )  # after Thursday's 09:00: a missed occurrence would fire at the first tick

    walk(run_steps, utc(first, 0), utc(last, 23, 55), timedelta(minutes=15))

    enrollments = list(Enrollment.objects.filter(workflow=workflow).order_by("entered_at"))
    days = (last - first).days + 1
    entered = [e.entered_at.astimezone(PARIS) for e in enrollments]
    assert [moment.date() for moment in entered] == [first + timedelta(days=n) for n in range(days)]
    assert all(time(9, 0) <= moment.time() < time(9, 15) for moment in entered), entered
    assert {e.status for e in enrollments} == {"completed"}
    assert (
        StepRun.objects.filter(enrollment__in=enrollments, node_id="done", status="succeeded").count() == days
    )
    offsets = Counter(f"{moment:%H:%M %Z}" for moment in entered)
    print(
        f"\nDST {change}: daily 09:00 Europe/Paris fired {len(enrollments)} times over {days} days: "
        f"{dict(offsets)}"
    )
