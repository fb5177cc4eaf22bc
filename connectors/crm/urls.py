"""The CRMs' webhook deliveries, under /hooks/crm/ (public: each delivery is signed or authenticated)."""

from django.urls import path

from connectors.crm import views

urlpatterns = [
    path("<str:connector_id>/", views.crm_webhook, name="crm-webhook"),
]
