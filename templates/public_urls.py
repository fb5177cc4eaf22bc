"""Public, unauthenticated routes of the email pipeline (tracking, unsubscribe); see CONTRACT §10."""

urlpatterns: list = []
