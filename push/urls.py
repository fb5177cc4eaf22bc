from django.urls import path

from push import views

urlpatterns = [
    path("push/vapid-public-key", views.VapidPublicKeyView.as_view(), name="push-vapid-public-key"),
    path("push/settings", views.PushSettingsView.as_view(), name="push-settings"),
    path("push/settings/identity-secret", views.IdentitySecretView.as_view(), name="push-identity-secret"),
    path(
        "contacts/<uuid:contact_id>/push-subscriptions",
        views.ContactSubscriptionsView.as_view(),
        name="contact-push-subscriptions",
    ),
    path(
        "contacts/<uuid:contact_id>/push-subscriptions/<uuid:subscription_id>",
        views.ContactSubscriptionView.as_view(),
        name="contact-push-subscription",
    ),
]
