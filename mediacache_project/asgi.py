"""ASGI entry point (for an ASGI server; production uses gunicorn + WSGI for sendfile)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediacache_project.settings")

application = get_asgi_application()
