"""URL map (CONTRACT §4).

``/media/<hash>`` comes first: it is the hot path, and Django tries patterns in order. Then the
operator routes under ``/media/``, then everything else; anything else under ``/media/`` is a
tiny 404 (never an HTML page: gateways would send it as the media).
"""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny
from rest_framework.routers import DefaultRouter

from chat import views as chat_views
from chat.api.attachments import AttachmentViewSet
from chat.api.downloads import MediaDownloadView
from chat.api.jobs import FetchJobView
from chat.api.media_ids import WhatsAppMediaView
from media_store.api import operator as operator_api
from media_store.api.admin_views import media_cache_page
from media_store.ops.health import healthz
from mediacache_project import schema as api_schema
from memo import views as memo_views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("attachments", AttachmentViewSet, basename="attachment")

urlpatterns = [
    re_path(r"^media/(?P<token>[0-9a-f]{32})(?:\.(?P<ext>[A-Za-z0-9]{1,10}))?$", chat_views.media, name="media"),
    re_path(
        r"^media/(?P<token>[0-9a-f]{32})/(?P<variant>[a-z]{1,16}\.[a-z0-9]{1,5})$",
        chat_views.media_variant,
        name="media-variant",
    ),
    path("media", WhatsAppMediaView.as_view(), name="whatsapp-media"),
    path("media/stats", operator_api.MediaStatsView.as_view(), name="media-stats"),
    path("media/cleanup", operator_api.MediaCleanupView.as_view(), name="media-cleanup"),
    re_path(r"^media/(?P<rest>[\s\S]*)$", chat_views.unknown_media, name="media-unknown"),
    path("healthz", healthz, name="healthz"),
    path("metrics", operator_api.MetricsView.as_view(), name="metrics"),
    path("api/", include(router.urls)),
    path("api/media/download", MediaDownloadView.as_view(), name="media-download"),
    path("api/media/jobs/<uuid:job_id>", FetchJobView.as_view(), name="media-job"),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="schema"),
    path("api/docs/", api_schema.docs_view, name="docs"),
    path("admin/cache/stats", memo_views.CacheStatsView.as_view(), name="cache-stats"),
    path("admin/cache/clear/<str:prefix>", memo_views.CacheClearView.as_view(), name="cache-clear"),
    path("admin/cache/flush", memo_views.CacheFlushView.as_view(), name="cache-flush"),
    path("admin/media-cache/", admin.site.admin_view(media_cache_page), name="media-cache"),
    path("admin/", admin.site.urls),
]
