"""The contacts app: contacts, tags, segments, suppression, and their node types."""

from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "contacts"
    verbose_name = "Contacts"

    def ready(self) -> None:
        # Contacts that event ingestion creates enter their segments in the same transaction. Ingestion (events)
        # cannot call up into this app, so this app hands it the refresh.
        from contacts.segments import segments_refresh
        from events.ingest import on_contacts_created

        on_contacts_created(segments_refresh)
