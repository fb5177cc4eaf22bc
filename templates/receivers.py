"""django-anymail's signals → our services. Connected in TemplatesConfig.ready().

These are the integration point anymail offers (its webhook views send a signal per parsed event); each receiver
only hands the event to one service.
"""

from __future__ import annotations


def on_tracking(sender, event, esp_name, **kwargs) -> None:
    from templates.services import email_esp_event_record

    email_esp_event_record(esp=esp_name, event=event)


def on_inbound(sender, event, esp_name, **kwargs) -> None:
    from templates.services import email_reply_record

    email_reply_record(esp=esp_name, event=event)


def connect() -> None:
    from anymail.signals import inbound, tracking

    tracking.connect(on_tracking, dispatch_uid="penguinflow.templates.tracking")
    inbound.connect(on_inbound, dispatch_uid="penguinflow.templates.inbound")
