from django.contrib import admin
from django.urls import include, path, re_path

from penguinflow.common import views as common_views

handler400 = "penguinflow.common.errors.bad_request_view"
handler404 = "penguinflow.common.errors.not_found_view"
handler500 = "penguinflow.common.errors.server_error_view"

api_v1 = [
    path("", include("contacts.urls")),
    path("", include("campaigns.urls")),
    path("", include("tasks.urls")),
    path("", include("templates.urls")),
    path("", include("events.urls")),
    path("", include("workflows.urls")),
    path("", include("marketplace.urls")),
    path("", include("webhooks.urls")),
    path("", include("push.urls")),
    path("", include("connectors.urls")),
    path("", include("penguinflow.workspaces.urls")),
]

urlpatterns = [
    path("", common_views.home, name="home"),
    path("healthz", common_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", common_views.SchemaView.as_view(), name="schema"),
    path("api/docs/", common_views.SwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", common_views.RedocView.as_view(url_name="schema"), name="api-redoc"),
    # Last of /api/: an unknown API route answers the contract's JSON 404, with DEBUG on too.
    re_path(r"^api/", common_views.api_not_found, name="api-not-found"),
    path("builder/", include("builder.urls")),
    path("", include("templates.public_urls")),
    path("", include("push.public_urls")),
    path("", include("events.public_urls")),
    path("anymail/", include("anymail.urls")),
    path("hooks/sms/", include("sms.urls")),
    path("hooks/crm/", include("connectors.crm.urls")),
]
