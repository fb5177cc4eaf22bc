"""Content recommendations: send_email picks one of its candidate templates per contact (Thompson sampling)."""

from __future__ import annotations

import random
from collections import Counter

from workflows.engine.content import MIN_TOPIC_SENDS, choose_template

from .graphs import GraphBuilder, Harness, brief, ts

CANDIDATES = ["t1", "t2", "t3"]


def picks(*, by_topic=None, overall=None, topic=None, seeds=range(200)) -> Counter[str]:
    return Counter(
        choose_template(CANDIDATES, topic=topic, by_topic=by_topic or {}, overall=overall or {},
                        rng=random.Random(f"seed:{seed}")).template_id
        for seed in seeds
    )  # fmt: skip


def test_the_same_seed_gives_the_same_choice_and_without_data_every_candidate_is_tried() -> None:
    first = choose_template(CANDIDATES, topic=None, by_topic={}, overall={}, rng=random.Random("enr:mail:1"))
    again = choose_template(CANDIDATES, topic=None, by_topic={}, overall={}, rng=random.Random("enr:mail:1"))
    assert first == again
    counts = picks()
    assert set(counts) == set(CANDIDATES) and min(counts.values()) > 30  # no data: about a third each
    assert first.basis == "all" and "not sent yet" in first.reason


def test_with_evidence_the_better_candidate_is_preferred_and_the_others_are_still_explored() -> None:
    overall = {"t1": (400, 20), "t2": (400, 60), "t3": (30, 2)}  # 5 %, 15 %, and a candidate barely measured
    counts = picks(overall=overall)
    assert counts["t2"] > 150
    assert counts["t1"] == 0  # clearly worse on 400 sends: not sent any more
    assert counts["t3"] > 0  # little evidence: still gets a chance
    explored = next(
        choice for seed in range(200)
        if (choice := choose_template(CANDIDATES, topic=None, by_topic={}, overall=overall,
                                      rng=random.Random(f"seed:{seed}"))).template_id == "t3"
    )  # fmt: skip
    assert explored.explored and "exploring (t2 has the best rate so far)" in explored.reason


def test_contacts_sharing_a_topic_are_judged_on_that_topic_once_it_has_enough_sends() -> None:
    overall = {"t1": (1000, 150), "t2": (1000, 50), "t3": (1000, 50)}  # everyone prefers t1
    shoes = {"t1": (100, 2), "t2": (100, 30), "t3": (100, 3)}  # shoe lovers prefer t2
    counts = picks(overall=overall, by_topic=shoes, topic="shoes")
    assert counts == Counter({"t2": 200})
    choice = choose_template(CANDIDATES, topic="shoes", by_topic=shoes, overall=overall, rng=random.Random(1))
    assert choice.basis == "topic" and "contacts whose top topic is 'shoes'" in choice.reason
    thin = {"t1": (MIN_TOPIC_SENDS, 0), "t2": (MIN_TOPIC_SENDS - 1, 19), "t3": (MIN_TOPIC_SENDS, 0)}
    assert picks(overall=overall, by_topic=thin, topic="shoes") == Counter({"t1": 200})  # falls back to all


def test_send_email_sends_the_chosen_candidate_and_logs_why() -> None:
    graph = GraphBuilder().trigger("contact.created").send_email(
        "t1", id="mail", template_ids=CANDIDATES).build()
    run = Harness(graph, at=ts("2026-11-23T07:00:00Z"), contact={
        "id": "c1", "email": "ada@example.com", "status": "subscribed", "tags": [], "fields": {},
        "interests": {"topics": [{"topic": "shoes", "count": 4, "share": 0.8}], "links": [], "clicks": 5}})
    run.world.content_stats["mail"] = {"shoes": {t: (50, 40 if t == "t3" else 0) for t in CANDIDATES},
                                       None: {t: (50, 5) for t in CANDIDATES}}  # fmt: skip
    assert brief(run.run()) == [("trigger", "advance", "default"), ("mail", "advance", "default")]
    detail = run.records[-1].detail
    assert detail["template_id"] == "t3" and detail["content_choice"]["basis"] == "topic"
    assert detail["content_choice"]["candidates"]["t3"]["clicked"] == 40
    assert [a["summary"] for a in run.world.actions if a["type"] == "send_email"] == ["Sent email template t3"]
    assert run.world.content_choices == {"enr-1:mail:1": "t3"}


def test_a_retry_sends_what_the_first_try_chose() -> None:
    graph = GraphBuilder().trigger("contact.created").send_email("t1", id="mail", template_ids=["t1", "t2"]).build()
    run = Harness(graph, at=ts("2026-11-23T07:00:00Z"))
    run.world.content_choices["enr-1:mail:1"] = "t2"  # an earlier try chose t2, and the evidence moved since
    run.world.content_stats["mail"] = {None: {"t1": (500, 200), "t2": (500, 1)}}
    run.run()
    detail = run.records[-1].detail
    assert detail["template_id"] == "t2" and "earlier try" in detail["content_choice"]["reason"]


def test_candidates_must_be_different_and_hold_template_id() -> None:
    import pytest
    from pydantic import ValidationError

    from workflows.engine.registry import registry

    config = registry.get("send_email").Config
    assert config(template_id="t1", template_ids=["t1", "t2"]).template_ids == ["t1", "t2"]
    for wrong in (["t2", "t3"], ["t1", "t1"], ["t1"], ["t1", "a", "b", "c", "d", "e"]):
        with pytest.raises(ValidationError):
            config(template_id="t1", template_ids=wrong)
