from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from penguinflow.common import views as common_views

handler400 = "penguinflow.common.errors.bad_request_view"
handler404 = "penguinflow.common.errors.not_found_view"
handler500 = "penguinflow.common.errors.server_error_view"

api_v1 = [
    path("", include("contacts.urls")),
    path("", include("campaigns.urls")),
    path("", include("templates.urls")),
    path("", include("events.urls")),
    path("", include("workflows.urls")),
]

urlpatterns = [
    path("", common_views.home, name="home"),
    path("healthz", common_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("", include("templates.public_urls")),
    path("anymail/", include("anymail.urls")),
]
