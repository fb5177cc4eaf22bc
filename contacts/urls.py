from contacts.views import ContactViewSet, SegmentViewSet
from penguinflow.common.api import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("contacts", ContactViewSet, basename="contact")
router.register("segments", SegmentViewSet, basename="segment")

urlpatterns = router.urls
