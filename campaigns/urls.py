from campaigns.views import CampaignViewSet
from penguinflow.common.api import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("campaigns", CampaignViewSet, basename="campaign")

urlpatterns = router.urls
