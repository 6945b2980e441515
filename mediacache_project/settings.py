"""Django settings for mediacache, read once from the environment (CONTRACT §2).

Nothing set → the embedded default: SQLite and the filesystem origin under ``var/``, and an
in-process hot tier instead of Redis. A value that does not parse stops start-up with one line
per bad variable (see ``env.Env``).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from celery.schedules import crontab

from media_store.conf import DEFAULTS
from media_store.tiers.connections import RedisTopology
from media_store.variants import NAMES, normalise_names
from mediacache_project.env import Env
from mediacache_project.services import DEFAULT_POOL_MAX_SIZE, caches_for, database_for

BASE_DIR = Path(__file__).resolve().parent.parent
env = Env()


def project_path(name: str, default: str | None = None) -> Path:
    """A path setting; relative values are relative to the project root, not the cwd."""
    path = Path(env.str(name, DEFAULTS[name] if default is None else default)).expanduser()
    return path if path.is_absolute() else BASE_DIR / path


def typed(name: str, *, minimum: float = 0):
    """Parse ``name`` with the type of its default in ``media_store.conf.DEFAULTS``."""
    default = DEFAULTS[name]
    if isinstance(default, bool):
        return env.bool(name, default)
    if isinstance(default, int):
        return env.int(name, default, minimum=int(minimum))
    if isinstance(default, float):
        return env.float(name, default, minimum=minimum)
    return env.str(name, default)


# --- Django core -----------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", False)
SECRET_KEY = env.str("SECRET_KEY")
SECRET_KEY_FILE = project_path("SECRET_KEY_FILE", "var/secret_key")  # written once by `make run`
if not SECRET_KEY and SECRET_KEY_FILE.is_file():
    # so that the commands `make run` suggests (createsuperuser, ingest_media) work in a new shell
    SECRET_KEY = SECRET_KEY_FILE.read_text().strip()
if not SECRET_KEY:
    if DEBUG:
        SECRET_KEY = secrets.token_urlsafe(50)
    else:
        env.errors.append("SECRET_KEY is not set: it is required when DEBUG is false (or run `make run` once)")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files for /api/docs/, served by us (no CDN)
    "media_store",
    "memo",
    "chat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "mediacache_project.middleware.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mediacache_project.urls"
WSGI_APPLICATION = "mediacache_project.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env.str("DATABASE_URL", "sqlite:///var/db.sqlite3")
DATABASE_POOL_MAX_SIZE = env.int("DATABASE_POOL_MAX_SIZE", DEFAULT_POOL_MAX_SIZE)  # per worker; 0: no pool
try:
    DATABASES = {"default": database_for(DATABASE_URL, BASE_DIR, DATABASE_POOL_MAX_SIZE)}
except ValueError as error:
    env.invalid("DATABASE_URL", DATABASE_URL, f"sqlite:///PATH or postgres://... ({error})")
    DATABASES = {"default": database_for("sqlite:///var/db.sqlite3", BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# `make run` migrates at start-up under a database lock (manage.py migrate_locked); set false
# where migrations are a separate release step.
MIGRATE_ON_START = env.bool("MIGRATE_ON_START", True)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = project_path("STATIC_ROOT", "var/static")

# --- Redis: hot tier, fill locks, counters and the @cached cache ------------------------------
REDIS_URL = env.url("REDIS_URL", "", ("redis", "rediss", "unix"))
REDIS_SENTINELS = env.host_ports("REDIS_SENTINELS")  # Sentinel or Cluster instead of REDIS_URL
REDIS_SENTINEL_MASTER = typed("REDIS_SENTINEL_MASTER")
REDIS_CLUSTER_NODES = env.host_ports("REDIS_CLUSTER_NODES")
REDIS_PASSWORD = typed("REDIS_PASSWORD")
REDIS_SENTINEL_PASSWORD = typed("REDIS_SENTINEL_PASSWORD")
REDIS_DB = typed("REDIS_DB")
try:
    REDIS_TOPOLOGY = RedisTopology.build(
        url=REDIS_URL,
        sentinels=REDIS_SENTINELS,
        master=REDIS_SENTINEL_MASTER,
        nodes=REDIS_CLUSTER_NODES,
        password=REDIS_PASSWORD,
        sentinel_password=REDIS_SENTINEL_PASSWORD,
        db=REDIS_DB,
    )
except ValueError as error:
    env.errors.append(str(error))
    REDIS_TOPOLOGY = RedisTopology()
CACHES = caches_for(REDIS_TOPOLOGY)

# --- mediacache (CONTRACT §2; defaults live in media_store/conf.py) ---------------------------
MEDIA_STORAGE = env.choice("MEDIA_STORAGE", DEFAULTS["MEDIA_STORAGE"], ("filesystem", "s3"))
MEDIA_CACHE_DIR = project_path("MEDIA_CACHE_DIR")
MEDIA_ORIGIN_DIR = project_path("MEDIA_ORIGIN_DIR")
# Where gunicorn listens (gunicorn.conf.py reads PORT too). The default base of short URLs follows it, so
# `PORT=8555 make run` prints http://127.0.0.1:8555/media/...; an explicit PUBLIC_BASE_URL always wins
# (`make edge` sets it to the edge's address).
PORT = env.int("PORT", DEFAULTS["PORT"], minimum=1)
if PORT > 65535:
    env.invalid("PORT", str(PORT), "a TCP port from 1 to 65535")
    PORT = DEFAULTS["PORT"]
PUBLIC_BASE_URL = env.url("PUBLIC_BASE_URL", f"http://127.0.0.1:{PORT}", ("http", "https")).rstrip("/")
AWS_S3_ENDPOINT_URL = env.url("AWS_S3_ENDPOINT_URL", "", ("http", "https"))
WHATSAPP_GRAPH_URL = env.url("WHATSAPP_GRAPH_URL", DEFAULTS["WHATSAPP_GRAPH_URL"], ("http", "https"))
MEDIA_S3_PREFIX = typed("MEDIA_S3_PREFIX")
AWS_STORAGE_BUCKET_NAME = typed("AWS_STORAGE_BUCKET_NAME")
AWS_S3_REGION_NAME = typed("AWS_S3_REGION_NAME")
AWS_ACCESS_KEY_ID = typed("AWS_ACCESS_KEY_ID")
AWS_SECRET_ACCESS_KEY = typed("AWS_SECRET_ACCESS_KEY")
MEDIA_ORIGIN_TIMEOUT = typed("MEDIA_ORIGIN_TIMEOUT", minimum=0.1)
MEDIA_REDIS_TTL = typed("MEDIA_REDIS_TTL")
MEDIA_REDIS_MAX_OBJECT_BYTES = typed("MEDIA_REDIS_MAX_OBJECT_BYTES")
MEDIA_REDIS_KEY_PREFIX = typed("MEDIA_REDIS_KEY_PREFIX")
MEDIA_MEMORY_TIER_MAX_BYTES = typed("MEDIA_MEMORY_TIER_MAX_BYTES")
MEDIA_REDIS_RETRY_SECONDS = typed("MEDIA_REDIS_RETRY_SECONDS")
MEDIA_PROCESS_CACHE_BYTES = typed("MEDIA_PROCESS_CACHE_BYTES")
MEDIA_PROCESS_CACHE_SECONDS = typed("MEDIA_PROCESS_CACHE_SECONDS")
MEDIA_CACHE_DAYS = typed("MEDIA_CACHE_DAYS")
MEDIA_DISK_MAX_BYTES = typed("MEDIA_DISK_MAX_BYTES")
MEDIA_DISK_SWEEP_SECONDS = typed("MEDIA_DISK_SWEEP_SECONDS")
ENABLE_CACHING = typed("ENABLE_CACHING")
MEDIA_TOKEN_CACHE_SECONDS = typed("MEDIA_TOKEN_CACHE_SECONDS")
MEDIA_FILL_WAIT_SECONDS = typed("MEDIA_FILL_WAIT_SECONDS", minimum=0.1)
MEDIA_RETRY_AFTER_SECONDS = typed("MEDIA_RETRY_AFTER_SECONDS")
MEDIA_LOG_INTERVAL_SECONDS = typed("MEDIA_LOG_INTERVAL_SECONDS")
MEDIA_HEALTH_CACHE_SECONDS = typed("MEDIA_HEALTH_CACHE_SECONDS")
UPLOAD_MAX_BYTES = typed("UPLOAD_MAX_BYTES", minimum=1)
MEDIA_MAX_IMAGE_PIXELS = typed("MEDIA_MAX_IMAGE_PIXELS", minimum=1)
MEDIA_S3_RETENTION_DAYS = typed("MEDIA_S3_RETENTION_DAYS", minimum=1)
MEDIA_EXPIRATION_HOURS = typed("MEDIA_EXPIRATION_HOURS")
FAILED_MEDIA_TTL = typed("FAILED_MEDIA_TTL")
MAX_RETRIES = typed("MAX_RETRIES", minimum=1)
BASE_BACKOFF_SECONDS = typed("BASE_BACKOFF_SECONDS")
DOWNLOAD_TIMEOUT = typed("DOWNLOAD_TIMEOUT", minimum=1)
MEDIA_JOB_RESCUE_SECONDS = typed("MEDIA_JOB_RESCUE_SECONDS")
MEDIA_JOB_RETENTION_DAYS = typed("MEDIA_JOB_RETENTION_DAYS", minimum=1)
MEDIA_IDEMPOTENCY_HOURS = typed("MEDIA_IDEMPOTENCY_HOURS", minimum=1)
DOWNLOAD_MAX_BYTES = typed("DOWNLOAD_MAX_BYTES", minimum=1)
DOWNLOAD_ALLOW_PRIVATE_NETWORKS = typed("DOWNLOAD_ALLOW_PRIVATE_NETWORKS")
WHATSAPP_TOKEN = typed("WHATSAPP_TOKEN")
WHATSAPP_MEDIA_HOSTS = [host.lower() for host in env.list("WHATSAPP_MEDIA_HOSTS", DEFAULTS["WHATSAPP_MEDIA_HOSTS"])]
MEDIA_API_TOKEN = typed("MEDIA_API_TOKEN")
MEDIA_FFMPEG = typed("MEDIA_FFMPEG")
MEDIA_FFPROBE = typed("MEDIA_FFPROBE")
MEDIA_ANALYSIS_TIMEOUT = typed("MEDIA_ANALYSIS_TIMEOUT", minimum=0.1)
MEDIA_TRANSCODE_TIMEOUT = typed("MEDIA_TRANSCODE_TIMEOUT", minimum=1)
MEDIA_TRANSCODE_CONCURRENCY = typed("MEDIA_TRANSCODE_CONCURRENCY")
MEDIA_TRANSCODE_WAIT_SECONDS = typed("MEDIA_TRANSCODE_WAIT_SECONDS")
MEDIA_VARIANTS_EAGER, _unknown_variants = normalise_names(env.list("MEDIA_VARIANTS_EAGER", []))
if _unknown_variants:
    env.invalid("MEDIA_VARIANTS_EAGER", ",".join(_unknown_variants), f"variant names from {', '.join(NAMES)}")
CACHE_TTLS = env.seconds_map("CACHE_TTLS")

if MEDIA_STORAGE == "s3" and not AWS_STORAGE_BUCKET_NAME:
    env.errors.append("AWS_STORAGE_BUCKET_NAME is not set: it is required when MEDIA_STORAGE=s3")
if MEDIA_S3_PREFIX and not MEDIA_S3_PREFIX.endswith("/"):
    MEDIA_S3_PREFIX += "/"

# Uploads are streamed to disk by media_store.ingest.upload; Django itself must not buffer them.
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- The edge: nginx in front (`make edge`, deploy/nginx/, docs/deploy.md) -----------------------
MEDIA_EDGE_TTL = typed("MEDIA_EDGE_TTL", minimum=1)
MEDIA_ACCEL_REDIRECT = typed("MEDIA_ACCEL_REDIRECT")
EDGE_HOST = env.str("EDGE_HOST", "127.0.0.1")  # 0.0.0.0 on a VM that faces the network itself
EDGE_PORT = env.int("EDGE_PORT", 8080, minimum=1)
EDGE_TLS_PORT = env.int("EDGE_TLS_PORT", 8443, minimum=1)
for _name, _port in (("EDGE_PORT", EDGE_PORT), ("EDGE_TLS_PORT", EDGE_TLS_PORT)):
    if _port > 65535:
        env.invalid(_name, str(_port), "a TCP port from 1 to 65535")
EDGE_TLS_CERT = env.str("EDGE_TLS_CERT")
EDGE_TLS_KEY = env.str("EDGE_TLS_KEY")
if bool(EDGE_TLS_CERT) != bool(EDGE_TLS_KEY):
    env.errors.append("EDGE_TLS_CERT and EDGE_TLS_KEY go together: set both (PEM paths) or neither")
EDGE_CONNECTIONS_PER_IP = env.int("EDGE_CONNECTIONS_PER_IP", 128, minimum=0)  # 0: no limit
EDGE_CACHE_MAX_BYTES = env.int("EDGE_CACHE_MAX_BYTES", 1073741824, minimum=1048576)
EDGE_TRUSTED_PROXIES = env.networks("EDGE_TRUSTED_PROXIES")  # a router/CDN in front of nginx
EDGE_DIR = project_path("EDGE_DIR", "var/edge")  # nginx's pid, temp files and cache
EDGE_ACCESS_LOG = env.str("EDGE_ACCESS_LOG", "/dev/stdout")  # a file path, or "off"
# Set for a gunicorn that only a proxy can reach (`make edge` sets it): trust its X-Forwarded-Proto.
BEHIND_PROXY = env.bool("BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if EDGE_TLS_CERT:  # the admin is then used over https: its cookies never travel in clear
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
# Production behind TLS (the edge's, or a load balancer's with BEHIND_PROXY=true): http is
# redirected, cookies are https-only and HSTS is sent — `manage.py check --deploy` is clean.
# Health probes and metric scrapes inside the network keep working over plain http.
HTTPS_ONLY = env.bool("HTTPS_ONLY", False)
if HTTPS_ONLY:
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 31536000, minimum=1)
    # the media host's own subdomains, and the preload flag (it only matters once someone submits
    # the domain to the browsers' list): set either to false to opt out (check --deploy then says so)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", True)

# --- Celery (optional workers + beat) ---------------------------------------------------------
# Over Sentinel: kombu's sentinel:// transport for the broker and the result backend. A Redis
# Cluster cannot be a broker: without CELERY_BROKER_URL tasks then run inline (gunicorn says so).
_redis_broker, _redis_transport = REDIS_TOPOLOGY.celery_broker()
CELERY_BROKER_URL = env.url("CELERY_BROKER_URL", "", ("redis", "rediss", "amqp", "amqps", "memory", "sentinel"))
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = _redis_broker
if CELERY_BROKER_URL.startswith("sentinel://") and _redis_transport:
    CELERY_BROKER_TRANSPORT_OPTIONS = _redis_transport
    CELERY_RESULT_BACKEND = CELERY_BROKER_URL
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = _redis_transport
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL  # no broker: run tasks inline (embedded default)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the task for another worker
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "cleanup-old-media": {"task": "media_store.tasks.cleanup_old_media", "schedule": crontab(hour=3, minute=0)},
}

# --- API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "mediacache_project.api.MediaApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["mediacache_project.api.IsOperator"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "mediacache_project.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "mediacache",
    "DESCRIPTION": "Short, permanent URLs for chat media, served from Redis → disk → S3.",
    "VERSION": "1.0.0",
    # /api/docs/ loads Swagger UI from drf-spectacular-sidecar's static files, never from a CDN
    "SERVE_INCLUDE_SCHEMA": False,  # the document does not list itself
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # the plain Django routes (/media/<hash>, /healthz) and 401/403 answers: mediacache_project/schema.py
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "mediacache_project.schema.add_non_drf_routes",
    ],
    "TAGS": [
        {"name": "media", "description": "Public short URLs (no authentication)."},
        {"name": "attachments", "description": "Store media by upload or URL; read attachments back."},
        {"name": "operations", "description": "Statistics, cleanup, metrics, health, the @cached cache."},
    ],
}

# --- Logging ---------------------------------------------------------------------------------
LOG_LEVEL = env.choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error")).upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "media_store": {"level": LOG_LEVEL},
        "chat": {"level": LOG_LEVEL},
    },
}

env.exit_if_invalid()
