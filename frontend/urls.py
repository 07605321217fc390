from django.contrib.auth import views as auth_views
from django.urls import path

from frontend import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("r/<str:token>/", views.invitation, name="invitation"),
    path("r/<str:token>/<slug:code>/", views.questionnaire, name="questionnaire"),
    path("reports/", views.officials, name="officials"),
    path("reports/<slug:wave_code>/county.pdf", views.county_report_pdf, name="county_report_pdf"),
]
