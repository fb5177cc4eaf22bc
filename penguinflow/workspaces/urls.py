from django.urls import re_path

from penguinflow.common.api import OptionalSlashRouter
from penguinflow.workspaces.views import (
    CredentialViewSet,
    MemberViewSet,
    MeView,
    WebhookSigningSecretViewSet,
    WorkspaceMemberViewSet,
    WorkspaceSettingsView,
    WriteKeyRotateView,
    WriteKeyView,
)

router = OptionalSlashRouter()
router.register("credentials", CredentialViewSet, basename="credential")
router.register("members", MemberViewSet, basename="member")
router.register("webhook-signing-secrets", WebhookSigningSecretViewSet, basename="webhook-signing-secret")
router.register("workspace/members", WorkspaceMemberViewSet, basename="workspace-member")

urlpatterns = [
    re_path(r"^me/?$", MeView.as_view(), name="me"),
    re_path(r"^workspace/settings/?$", WorkspaceSettingsView.as_view(), name="workspace-settings"),
    re_path(r"^workspace/write-key/?$", WriteKeyView.as_view(), name="workspace-write-key"),
    re_path(r"^workspace/write-key/rotate/?$", WriteKeyRotateView.as_view(), name="workspace-write-key-rotate"),
    *router.urls,
]
