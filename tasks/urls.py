from penguinflow.common.api import OptionalSlashRouter
from tasks.views import TaskViewSet

router = OptionalSlashRouter()
router.register("tasks", TaskViewSet, basename="task")

urlpatterns = router.urls
