
from penguinflow.common.api import OptionalSlashRouter
from workflows.views import WorkflowViewSet

router = OptionalSlashRouter()
router.register("workflows", WorkflowViewSet, basename="workflow")

urlpatterns = [*router.urls]
