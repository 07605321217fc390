from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from config.ping import PingApi
from frontend.views.site import admin_login

urlpatterns = [
    path("admin/login/", admin_login, name="admin-login"),  # throttled; before admin.site.urls
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/ping/", PingApi.as_view(), name="api-ping"),
    path("api/v1/", include("questionnaires.urls")),
    path("api/v1/", include("assessment.urls")),
    path("api/v1/", include("reports.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/docs/redoc/", SpectacularRedocView.as_view(url_name="api-schema", template_name="api/redoc.html"), name="api-redoc"),
    path("", include("frontend.urls")),
]
# MEDIA_ROOT (report files, batch ZIPs, uploads) is never served as such, not even under DEBUG:
# files leave only through the report views and APIs, which check who asks (assessment.access).
