from connectors.views import ConnectorViewSet
from penguinflow.common.api import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("connectors", ConnectorViewSet, basename="connector")

urlpatterns = router.urls
