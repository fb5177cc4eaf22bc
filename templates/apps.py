from django.apps import AppConfig


class TemplatesConfig(AppConfig):
    name = "templates"
    verbose_name = "Email templates and delivery"

    def ready(self) -> None:
        # Imported here, not at the top: Django loads apps.py before any model, and the receivers import models.
        from templates import receivers

        receivers.connect()
