from django.urls import path, re_path

from builder import views

app_name = "builder"

urlpatterns = [
    path("login", views.LoginView.as_view(), name="login"),
    path("logout", views.LogoutView.as_view(), name="logout"),
    path("session", views.session_login, name="session"),
    # Everything else is the app's own route (history API): the same index page.
    re_path(r"^(?P<route>.*)$", views.app, name="app"),
]
