from django.contrib.auth import views as auth_views
from django.urls import path

from frontend.views import officials, respondent, site

urlpatterns = [
    path("", site.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("r/<str:token>/", respondent.invitation, name="invitation"),
    path("r/<str:token>/<slug:code>/", respondent.questionnaire, name="questionnaire"),
    path("reports/", officials.officials, name="officials"),
    path("reports/<slug:wave_code>/county.pdf", officials.county_report_pdf, name="county_report_pdf"),
]
