"""Which event types a subscription may name, and which it matches.

A subscription names catalogue types (CONTRACT §3 and §13), a family wildcard (`email.*`: every type of the
family, custom ones included) or `*` (everything). A custom type (`order.completed`) is accepted once the
workspace has recorded an event of that type: a typo (`email.opend`, `order.complete`) is refused instead of
waiting forever for events that never come.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from workflows.engine.types import EVENT_TYPE_PATTERN, EVENT_TYPES

__all__ = ["ALL", "CATALOGUE", "Matcher", "events_key", "type_problem"]

ALL = "*"
# §13 (channels) adds these to §3's catalogue.
CHANNEL_TYPES = ("sms.sent", "sms.delivered", "sms.failed", "sms.received", "push.sent", "push.failed",
                 "push.clicked")
CATALOGUE: frozenset[str] = frozenset(EVENT_TYPES + CHANNEL_TYPES)
FAMILIES: frozenset[str] = frozenset(t.split(".", 1)[0] for t in CATALOGUE)
_TYPE = re.compile(EVENT_TYPE_PATTERN)
_FAMILY_WILDCARD = re.compile(r"^[a-z][a-z0-9_]*\.\*$")


def type_problem(value: str) -> str | None:
    """Return why ``value`` cannot be subscribed to on its form alone, None when it can (or may: a custom type
    still has to be seen in the workspace, see `is_custom`)."""
    if value == ALL or value in CATALOGUE:
        return None
    if _FAMILY_WILDCARD.match(value):
        return None
    if not _TYPE.match(value) or len(value) > 128:
        return (f"'{value}' is not an event type: use a catalogue type such as 'email.opened', a family such as "
                "'email.*', or '*'.")
    if value.split(".", 1)[0] in FAMILIES:
        return f"'{value}' is not in the event catalogue (CONTRACT §3); did you mean one of the {value.split('.')[0]}.* types?"
    return None


def is_custom(value: str) -> bool:
    """Whether ``value`` is a custom type (neither a catalogue type nor a wildcard)."""
    return value != ALL and value not in CATALOGUE and not value.endswith(".*")


def events_key(events: Iterable[str]) -> str:
    """The subscription's identity among the workspace's subscriptions to one URL: its types, sorted."""
    return " ".join(sorted(set(events)))


@dataclass(frozen=True, slots=True)
class Matcher:
    """Answer whether an event type is one a subscription wants (exact types, family prefixes, everything)."""

    exact: frozenset[str]
    prefixes: tuple[str, ...]
    everything: bool

    @classmethod
    def of(cls, events: Iterable[str]) -> Matcher:
        events = list(events)
        return cls(exact=frozenset(e for e in events if not e.endswith("*")),
                   prefixes=tuple(e[:-1] for e in events if e.endswith(".*")),
                   everything=ALL in events)

    def matches(self, event_type: str) -> bool:
        return self.everything or event_type in self.exact or event_type.startswith(self.prefixes)
