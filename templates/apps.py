from django.apps import AppConfig


class TemplatesConfig(AppConfig):
    name = "templates"
    verbose_name = "Email templates and delivery"

    def ready(self) -> None:
        from templates import receivers

        receivers.connect()
