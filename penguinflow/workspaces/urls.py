from penguinflow.common.api import OptionalSlashRouter
from penguinflow.workspaces.views import MemberViewSet, WebhookSigningSecretViewSet

router = OptionalSlashRouter()
router.register("members", MemberViewSet, basename="member")
router.register("webhook-signing-secrets", WebhookSigningSecretViewSet, basename="webhook-signing-secret")

urlpatterns = router.urls
