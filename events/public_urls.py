"""Public, unauthenticated routes of events: the website tracking script."""

from django.urls import path

from events.track_views import script

urlpatterns = [
    path("js/penguinflow.js", script, name="tracking-script"),
]
