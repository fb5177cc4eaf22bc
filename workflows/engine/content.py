"""Content recommendations: pick, per contact, the candidate template with the best predicted engagement.

"Predicted engagement" is each candidate's click rate among similar contacts: those whose top topic
(``contact.interests``) is the contact's, when every candidate has been sent to ``MIN_TOPIC_SENDS`` of them; else
among all the contacts the step chose for. Each rate has a Beta posterior (uniform prior:
``Beta(1 + clicked, 1 + sent - clicked)``); one draw per candidate and the highest wins (Thompson sampling): a
candidate with little evidence keeps a fair chance and is measured, one that is clearly worse is rarely sent. The
draw is seeded by the caller (the enrollment's seed and the step's effect key), so the same step of the same
enrollment picks the same template again. Pure: the counts come from ``OptimizationPort.content_stats``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["MIN_TOPIC_SENDS", "ContentChoice", "choose_template", "top_topic"]

# Sends each candidate needs among a topic's contacts before their rates are used instead of everyone's.
MIN_TOPIC_SENDS = 20

Counts = Mapping[str, tuple[int, int]]  # template id -> (sent, clicked)


@dataclass(frozen=True)
class ContentChoice:
    """The template chosen, the evidence it was chosen on, and why (for the step log)."""

    template_id: str
    basis: str  # "topic": contacts sharing the top topic; "all": every contact the step chose for
    topic: str | None
    counts: dict[str, tuple[int, int]]
    draws: dict[str, float]
    explored: bool  # the winner of the draw is not the candidate with the best mean
    reason: str

    def as_detail(self) -> dict[str, Any]:
        return {
            "template_id": self.template_id,
            "basis": self.basis,
            "topic": self.topic,
            "candidates": {t: {"sent": s, "clicked": c, "draw": self.draws[t]} for t, (s, c) in self.counts.items()},
            "explored": self.explored,
            "reason": self.reason,
        }


def _clean(sent: int, clicked: int) -> tuple[int, int]:
    sent = max(0, int(sent))
    return sent, min(sent, max(0, int(clicked)))


def _mean(counts: tuple[int, int]) -> float:
    sent, clicked = counts
    return (1 + clicked) / (2 + sent)


def _rate(counts: tuple[int, int]) -> str:
    sent, clicked = counts
    return f"{clicked / sent:.1%} of {sent}" if sent else "not sent yet"


def choose_template(
    candidates: Sequence[str],
    *,
    topic: str | None,
    by_topic: Counts,
    overall: Counts,
    rng: random.Random,
) -> ContentChoice:
    """Return the candidate to send (Thompson sampling on click rates), among ``topic``'s contacts when every
    candidate has enough sends there, else among all; ``rng`` is seeded by the caller."""
    if not candidates:
        raise ValueError("choose_template needs at least one candidate")
    topical = topic is not None and all(by_topic.get(t, (0, 0))[0] >= MIN_TOPIC_SENDS for t in candidates)
    source = by_topic if topical else overall
    counts = {t: _clean(*source.get(t, (0, 0))) for t in candidates}
    draws = {t: round(rng.betavariate(1 + c, 1 + s - c), 4) for t, (s, c) in counts.items()}
    chosen = max(candidates, key=lambda t: (draws[t], -candidates.index(t)))
    best_mean = max(candidates, key=lambda t: (_mean(counts[t]), -candidates.index(t)))
    explored = chosen != best_mean and counts[chosen] != counts[best_mean]
    who = f"contacts whose top topic is '{topic}'" if topical else "all contacts"
    if not topical and topic is not None:
        who += f" (fewer than {MIN_TOPIC_SENDS} sends of each candidate to contacts whose top topic is '{topic}')"
    rates = ", ".join(f"{t} {_rate(counts[t])}" for t in candidates)
    reason = (
        f"{chosen}: highest Thompson draw ({draws[chosen]:.3f}) of the click rates among {who}: {rates}"
        + (f"; exploring ({best_mean} has the best rate so far)" if explored else "")
        + "."
    )
    return ContentChoice(chosen, "topic" if topical else "all", topic, counts, draws, explored, reason)


def top_topic(contact: Mapping[str, Any]) -> str | None:
    """Return the contact's most clicked topic (``contact.interests.topics[0].topic``), or None."""
    interests = contact.get("interests")
    topics = interests.get("topics") if isinstance(interests, Mapping) else None
    if not topics or not isinstance(topics[0], Mapping):
        return None
    return str(topics[0].get("topic") or "") or None
