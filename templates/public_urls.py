"""Public, unauthenticated routes of the email pipeline (tracking, unsubscribe, preferences); CONTRACT §10, §13."""

from django.urls import path, re_path

from templates import public_views

urlpatterns = [
    re_path(r"^t/o/(?P<token>[A-Za-z0-9_\-:.]{1,200})\.gif$", public_views.open_pixel, name="email-open"),
    re_path(r"^t/c/(?P<token>[A-Za-z0-9_\-:.]{1,200})$", public_views.click, name="email-click"),
    path("u/<str:token>", public_views.unsubscribe, name="email-unsubscribe"),
    path("p/<str:token>", public_views.preferences, name="contact-preferences"),
]
