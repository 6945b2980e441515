"""The engine's settings: one table of defaults, read at call time.

``settings.py`` parses the environment into Django settings using these defaults (so each
default is written once, here). The engine reads them through ``media_settings`` at call time,
never at import time, so ``override_settings`` in tests and a changed value in a management
shell both take effect — the way DRF's ``api_settings`` and django-storages do it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Origin tier
    "MEDIA_STORAGE": "filesystem",  # "filesystem" (embedded default) or "s3"
    "MEDIA_ORIGIN_DIR": "var/origin",  # filesystem origin root
    "MEDIA_S3_PREFIX": "chat/",
    "AWS_STORAGE_BUCKET_NAME": "",
    "AWS_S3_ENDPOINT_URL": "",
    "AWS_S3_REGION_NAME": "",
    "AWS_ACCESS_KEY_ID": "",
    "AWS_SECRET_ACCESS_KEY": "",
    "MEDIA_ORIGIN_TIMEOUT": 10.0,  # seconds: connect/read timeout towards the origin
    # Hot tier
    "REDIS_URL": "",
    # ... or Sentinel / Cluster instead of REDIS_URL (media_store.tiers.connections)
    "REDIS_SENTINELS": [],  # [(host, port), ...]
    "REDIS_SENTINEL_MASTER": "mymaster",
    "REDIS_CLUSTER_NODES": [],  # startup nodes [(host, port), ...]
    "REDIS_PASSWORD": "",
    "REDIS_SENTINEL_PASSWORD": "",
    "REDIS_DB": 0,
    "REDIS_TOPOLOGY": None,  # the RedisTopology settings.py built from the variables above
    "MEDIA_REDIS_TTL": 604800,
    "MEDIA_REDIS_MAX_OBJECT_BYTES": 8388608,
    "MEDIA_REDIS_KEY_PREFIX": "mc",
    "MEDIA_MEMORY_TIER_MAX_BYTES": 268435456,  # in-process hot tier when no Redis is configured
    "MEDIA_REDIS_RETRY_SECONDS": 5.0,  # after a Redis failure, skip Redis this long
    "MEDIA_PROCESS_CACHE_BYTES": 67108864,  # per-worker memory in front of Redis (0: off)
    "MEDIA_PROCESS_CACHE_SECONDS": 60.0,  # how long a worker keeps an object without asking Redis
    # Disk tier
    "MEDIA_CACHE_DIR": "var/cache/media",
    "MEDIA_CACHE_DAYS": 7,
    "MEDIA_DISK_MAX_BYTES": 10737418240,
    "MEDIA_DISK_SWEEP_SECONDS": 3600.0,  # each node's own age/size sweep of its disk tier (0: off)
    # Serving
    "PORT": 8000,  # where `make run` serves
    "PUBLIC_BASE_URL": "http://127.0.0.1:8000",  # settings.py: http://127.0.0.1:$PORT unless set
    "ENABLE_CACHING": True,
    "MEDIA_TOKEN_CACHE_SECONDS": 60,  # how long a worker remembers token -> content
    "MEDIA_FILL_WAIT_SECONDS": 30.0,  # how long a miss waits for another worker's fill
    "MEDIA_RETRY_AFTER_SECONDS": 30,  # Retry-After on 503 when the origin is down
    "MEDIA_LOG_INTERVAL_SECONDS": 60.0,  # a degraded tier is logged at most once per interval
    "MEDIA_HEALTH_CACHE_SECONDS": 5.0,  # /healthz computes its checks at most this often per process
    # The edge (deploy/nginx/, media_store.serving.edge)
    "MEDIA_EDGE_TTL": 60,  # seconds the edge answers for a token before asking the app again
    "MEDIA_ACCEL_REDIRECT": True,  # hand disk-tier files to the edge (X-Accel-Redirect), edge requests only
    # Ingest
    "UPLOAD_MAX_BYTES": 104857600,
    "MEDIA_MAX_IMAGE_PIXELS": 89478485,  # Pillow's own bomb limit (~0.25 GB of RGBA)
    # Lifecycle
    "MEDIA_S3_RETENTION_DAYS": 30,
    # Fetching from URLs and from WhatsApp
    "MEDIA_EXPIRATION_HOURS": 168,
    "FAILED_MEDIA_TTL": 3600,
    "MAX_RETRIES": 3,
    "BASE_BACKOFF_SECONDS": 2.0,
    "DOWNLOAD_TIMEOUT": 30,
    "DOWNLOAD_MAX_BYTES": 104857600,
    "DOWNLOAD_ALLOW_PRIVATE_NETWORKS": False,
    "WHATSAPP_TOKEN": "",
    "WHATSAPP_GRAPH_URL": "https://graph.facebook.com/v21.0",
    # Hosts the bearer token may be sent to with a media download (besides the Graph host itself):
    # exact names, or "*.suffix" for any subdomain. Meta serves Cloud API media from these.
    "WHATSAPP_MEDIA_HOSTS": ["lookaside.fbsbx.com", "*.fbsbx.com", "*.fbcdn.net", "*.whatsapp.net"],
    # Asynchronous fetches and retried ingests (chat.jobs, chat.idempotency, chat.housekeeping)
    "MEDIA_JOB_RESCUE_SECONDS": 10.0,  # a job no worker started within this runs on a web node (0: never)
    "MEDIA_JOB_RETENTION_DAYS": 7,  # finished jobs (and their status URLs) are kept this long
    "MEDIA_IDEMPOTENCY_HOURS": 24,  # how long an Idempotency-Key replays its first answer
    # Operators
    "MEDIA_API_TOKEN": "",
    # Content analysis and variants (media_store.content.analysis, media_store.variants)
    "MEDIA_FFMPEG": "ffmpeg",  # the binaries (Debian's ffmpeg package); a path works too
    "MEDIA_FFPROBE": "ffprobe",
    "MEDIA_ANALYSIS_TIMEOUT": 15.0,  # seconds one ffprobe at ingest may take
    "MEDIA_TRANSCODE_TIMEOUT": 120.0,  # seconds one variant transcode may run
    "MEDIA_TRANSCODE_CONCURRENCY": 0,  # transcodes at once per node (0: one per CPU core)
    "MEDIA_TRANSCODE_WAIT_SECONDS": 10.0,  # how long a request waits for a free slot before 503
    "MEDIA_VARIANTS_EAGER": [],  # variants made at ingest, e.g. ["voice.ogg"]
    # The generic @cached decorator: per-prefix TTL overrides, {"profiles": 300, ...}
    "CACHE_TTLS": {},
}


class MediaSettings:
    """Attribute access to Django settings with the engine's defaults filled in."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"unknown mediacache setting {name!r}")
        return getattr(settings, name, DEFAULTS[name])


media_settings = MediaSettings()
