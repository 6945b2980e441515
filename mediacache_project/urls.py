"""URL map (CONTRACT §4). Operator routes under /media/ come before the token catch-all."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny
from rest_framework.routers import DefaultRouter

from chat.api import AttachmentViewSet
from media_store.health import healthz

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("attachments", AttachmentViewSet, basename="attachment")

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="schema"),
    path("admin/", admin.site.urls),
    path("", include("chat.urls")),
]
