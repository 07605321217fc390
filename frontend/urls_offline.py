"""The offline pieces: the service worker at the root, the enumerator's offline pages and their reads."""
from django.urls import path

from frontend import apis
from frontend.views import field, offline

urlpatterns = [
    path("sw.js", offline.service_worker, name="service_worker"),
    path("field/", field.field_app, name="field"),
    path("field/api/bundle/", apis.FieldBundleApi.as_view(), name="field-bundle"),
]
