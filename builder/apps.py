from django.apps import AppConfig


class BuilderConfig(AppConfig):
    """The visual workflow builder: serves the single-page app built from frontend/ behind session login."""

    name = "builder"
    default_auto_field = "django.db.models.BigAutoField"
