from django.apps import AppConfig
from django.core import checks


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = "Workflow templates (marketplace)"

    def ready(self) -> None:
        checks.register(shipped_catalogue_check)


def shipped_catalogue_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Refuse to start with a shipped template file that does not follow the format (the full checks, which run
    the samples, are the tests')."""
    from marketplace.catalogue import shipped_templates
    from marketplace.manifest import TemplateFormatError

    try:
        shipped_templates()
    except TemplateFormatError as error:
        return [checks.Error(error.message, id="marketplace.E001")]
    return []
