from django.urls import re_path

from events.views import events_endpoint

urlpatterns = [
    re_path(r"^events/?$", events_endpoint, name="events"),
]
