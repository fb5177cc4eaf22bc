"""django-anymail's signals → the ESP event handlers (templates.esp_events). Connected in TemplatesConfig.ready().

These are the integration point anymail offers (its webhook views send a signal per parsed event); each receiver
only hands the event to one service.
"""

from __future__ import annotations

from anymail import signals as anymail_signals

from templates.esp_events import email_esp_event_record, email_reply_record


def on_tracking(sender, event, esp_name, **kwargs) -> None:
    email_esp_event_record(esp=esp_name, event=event)


def on_inbound(sender, event, esp_name, **kwargs) -> None:
    email_reply_record(esp=esp_name, event=event)


def connect() -> None:
    anymail_signals.tracking.connect(on_tracking, dispatch_uid="penguinflow.templates.tracking")
    anymail_signals.inbound.connect(on_inbound, dispatch_uid="penguinflow.templates.inbound")
