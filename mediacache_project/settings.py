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
from mediacache_project.env import Env
from mediacache_project.services import caches_for, database_for

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
    "media_store",
    "memo",
    "chat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
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
try:
    DATABASES = {"default": database_for(DATABASE_URL, BASE_DIR)}
except ValueError as error:
    env.invalid("DATABASE_URL", DATABASE_URL, f"sqlite:///PATH or postgres://... ({error})")
    DATABASES = {"default": database_for("sqlite:///var/db.sqlite3", BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = project_path("STATIC_ROOT", "var/static")

# --- Redis: hot tier, fill locks, counters and the @cached cache ------------------------------
REDIS_URL = env.url("REDIS_URL", "", ("redis", "rediss", "unix"))
CACHES = caches_for(REDIS_URL)

# --- mediacache (CONTRACT §2; defaults live in media_store/conf.py) ---------------------------
MEDIA_STORAGE = env.choice("MEDIA_STORAGE", DEFAULTS["MEDIA_STORAGE"], ("filesystem", "s3"))
MEDIA_CACHE_DIR = project_path("MEDIA_CACHE_DIR")
MEDIA_ORIGIN_DIR = project_path("MEDIA_ORIGIN_DIR")
PUBLIC_BASE_URL = env.url("PUBLIC_BASE_URL", DEFAULTS["PUBLIC_BASE_URL"], ("http", "https")).rstrip("/")
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
ENABLE_CACHING = typed("ENABLE_CACHING")
MEDIA_TOKEN_CACHE_SECONDS = typed("MEDIA_TOKEN_CACHE_SECONDS")
MEDIA_FILL_WAIT_SECONDS = typed("MEDIA_FILL_WAIT_SECONDS", minimum=0.1)
MEDIA_RETRY_AFTER_SECONDS = typed("MEDIA_RETRY_AFTER_SECONDS")
MEDIA_LOG_INTERVAL_SECONDS = typed("MEDIA_LOG_INTERVAL_SECONDS")
UPLOAD_MAX_BYTES = typed("UPLOAD_MAX_BYTES", minimum=1)
MEDIA_MAX_IMAGE_PIXELS = typed("MEDIA_MAX_IMAGE_PIXELS", minimum=1)
MEDIA_S3_RETENTION_DAYS = typed("MEDIA_S3_RETENTION_DAYS", minimum=1)
MEDIA_EXPIRATION_HOURS = typed("MEDIA_EXPIRATION_HOURS")
FAILED_MEDIA_TTL = typed("FAILED_MEDIA_TTL")
MAX_RETRIES = typed("MAX_RETRIES", minimum=1)
BASE_BACKOFF_SECONDS = typed("BASE_BACKOFF_SECONDS")
DOWNLOAD_TIMEOUT = typed("DOWNLOAD_TIMEOUT", minimum=1)
DOWNLOAD_MAX_BYTES = typed("DOWNLOAD_MAX_BYTES", minimum=1)
DOWNLOAD_ALLOW_PRIVATE_NETWORKS = typed("DOWNLOAD_ALLOW_PRIVATE_NETWORKS")
WHATSAPP_TOKEN = typed("WHATSAPP_TOKEN")
MEDIA_API_TOKEN = typed("MEDIA_API_TOKEN")
CACHE_TTLS = env.seconds_map("CACHE_TTLS")

if MEDIA_STORAGE == "s3" and not AWS_STORAGE_BUCKET_NAME:
    env.errors.append("AWS_STORAGE_BUCKET_NAME is not set: it is required when MEDIA_STORAGE=s3")
if MEDIA_S3_PREFIX and not MEDIA_S3_PREFIX.endswith("/"):
    MEDIA_S3_PREFIX += "/"

# Uploads are streamed to disk by media_store.ingest.upload; Django itself must not buffer them.
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- Celery (optional workers + beat) ---------------------------------------------------------
CELERY_BROKER_URL = env.url("CELERY_BROKER_URL", REDIS_URL, ("redis", "rediss", "amqp", "amqps", "memory"))
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
