"""Websocket routes: the list the WEBSOCKET_URLPATTERNS setting names (the project package imports no app)."""

from django.conf import settings
from django.utils.module_loading import import_string

websocket_urlpatterns: list = list(import_string(settings.WEBSOCKET_URLPATTERNS))
