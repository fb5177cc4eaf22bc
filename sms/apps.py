from django.apps import AppConfig


class SmsConfig(AppConfig):
    name = "sms"
    verbose_name = "SMS: outbox, delivery and callbacks"

    def ready(self) -> None:
        from django.conf import settings

        from sms.backends import provider_config

        provider_config(settings.SMS_URL)  # a typo in SMS_URL stops start-up, not the first send
