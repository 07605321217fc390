"""Page routes, one module per audience so that each can grow on its own."""
from django.contrib.auth import views as auth_views
from django.urls import include, path

from frontend.views import site

urlpatterns = [
    path("", site.home, name="home"),
    path("", include("frontend.urls_offline")),
    path("accounts/login/", site.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("r/", include("frontend.urls_respondent")),
    path("reports/", include("frontend.urls_reports")),
    path("staff/", include("frontend.urls_staff")),
]
