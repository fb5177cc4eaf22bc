from penguinflow.common.api import OptionalSlashRouter
from penguinflow.workspaces.views import WebhookSigningSecretViewSet

router = OptionalSlashRouter()
router.register("webhook-signing-secrets", WebhookSigningSecretViewSet, basename="webhook-signing-secret")

urlpatterns = router.urls
