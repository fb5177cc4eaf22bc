"""Public, unauthenticated routes of web push: click tracking, the website endpoints, the served scripts."""

from django.urls import path, re_path

from push import public_views

urlpatterns = [
    re_path(r"^t/p/(?P<token>[A-Za-z0-9_\-:.]{1,200})$", public_views.click, name="push-click"),
    path("push/sites/<str:site_key>", public_views.site, name="push-site"),
    path("push/sites/<str:site_key>/subscriptions", public_views.site_subscribe, name="push-site-subscribe"),
    path(
        "push/sites/<str:site_key>/unsubscribe", public_views.site_unsubscribe, name="push-site-unsubscribe"
    ),
    path("js/penguinflow-push.js", public_views.script, name="push-script"),
    path("js/penguinflow-push-sw.js", public_views.service_worker, name="push-service-worker"),
]
