from django.urls import re_path

from events.parked_views import ParkedEventsView, ReplayParkedEventsView
from events.track_views import track_endpoint
from events.views import events_endpoint

urlpatterns = [
    re_path(r"^events/parked/?$", ParkedEventsView.as_view(), name="events-parked"),
    re_path(r"^events/parked/replay/?$", ReplayParkedEventsView.as_view(), name="events-parked-replay"),
    re_path(r"^events/?$", events_endpoint, name="events"),
    re_path(r"^track/?$", track_endpoint, name="track"),
]
