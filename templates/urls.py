from penguinflow.common.api import OptionalSlashRouter
from templates.views import EmailTemplateViewSet

router = OptionalSlashRouter()
router.register("templates", EmailTemplateViewSet, basename="template")

urlpatterns = router.urls
