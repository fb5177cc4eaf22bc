"""The contact's preference page (CONTRACT §13): which channels may reach them, which topics they want, and the
channel they prefer. Reached by a signed link in every message (`preferences_url`), no login, like unsubscribe.
Each change is recorded through contacts.consent with what the page saw of the request as its proof."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from contacts import services as contact_services
from contacts.consent import channels_view, consent_set
from contacts.models import Contact
from events.models import Event
from penguinflow.workspaces.messaging_settings import messaging_settings

CHANNEL_LABELS = {"email": "Email", "sms": "Text messages (SMS)", "push": "Browser notifications"}


@dataclass(frozen=True)
class ChannelChoice:
    channel: str
    label: str
    address: str
    subscribed: bool


@dataclass(frozen=True)
class Preferences:
    channels: list[ChannelChoice]
    topics: list[tuple[str, str, bool]]  # (id, label, wanted)
    preferred: str


def preferences_of(contact: Contact) -> Preferences:
    """What the page offers: the channels the contact has an address on, the workspace's topics."""
    states = channels_view(contact)
    addresses = {"email": contact.email, "sms": contact.phone,
                 "push": f"{states.get('push', {}).get('devices', 0)} browser(s)"}
    reachable = {"email": bool(contact.email), "sms": bool(contact.phone),
                 "push": states.get("push", {}).get("devices", 0) > 0}
    channels = [ChannelChoice(channel, CHANNEL_LABELS[channel], addresses[channel],
                              states.get(channel, {}).get("status") == "subscribed")
                for channel in CHANNEL_LABELS if reachable[channel]]
    topics = [(topic.id, topic.label, topic.id not in contact.topic_opt_outs)
              for topic in messaging_settings(contact.workspace).topics]
    return Preferences(channels, topics, contact.preferred_channel)


@transaction.atomic
def preferences_save(*, contact: Contact, form: Mapping[str, Any], proof: Mapping[str, Any]) -> Contact:
    """Apply the submitted page: a channel's box checked is consent given, unchecked withdrawn (only where it
    changes); topics unchecked become opt-outs; the preferred channel is one the contact can be reached on."""
    current = preferences_of(contact)
    for choice in current.channels:
        wanted = form.get(f"channel_{choice.channel}") == "on"
        if wanted != choice.subscribed:
            contact = consent_set(contact=contact, channel=choice.channel,
                                  status="subscribed" if wanted else "unsubscribed", source="preference_page",
                                  proof=proof, event_source=Event.Source.TRACKING)
    known_topics = {topic_id for topic_id, _, _ in current.topics}
    opt_outs = [topic for topic in contact.topic_opt_outs if topic not in known_topics]
    opt_outs += [topic_id for topic_id, _, _ in current.topics if form.get(f"topic_{topic_id}") != "on"]
    preferred = form.get("preferred", "")
    if preferred not in {choice.channel for choice in current.channels}:
        preferred = ""
    return contact_services.contact_update(
        contact=contact, changes={"topic_opt_outs": opt_outs, "preferred_channel": preferred},
        source=Event.Source.TRACKING)
