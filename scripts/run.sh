#!/usr/bin/env bash
# `make run`: prepare var/, migrate, collect static files, then exec gunicorn.
# With nothing configured this is the embedded default: SQLite, process-memory hot tier and
# the filesystem origin, all under var/. A secret key is generated once into var/secret_key.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
mkdir -p var

if [ -z "${SECRET_KEY:-}" ]; then
  [ -s var/secret_key ] || (umask 077 && "$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(50))' > var/secret_key)
  SECRET_KEY=$(cat var/secret_key)
  export SECRET_KEY
fi

# The base short URLs are built on, as the settings resolve it (http://127.0.0.1:$PORT unless
# PUBLIC_BASE_URL is set); a bad variable stops here with its one line.
BASE_URL=$("$PYTHON" -c 'from mediacache_project import settings; print(settings.PUBLIC_BASE_URL)')

# Under a database-wide lock: nodes started together take turns (MIGRATE_ON_START=false skips
# it, for deployments that migrate once as a release step: manage.py migrate_locked --force).
"$PYTHON" manage.py migrate_locked -v 0
"$PYTHON" manage.py collectstatic --noinput -v 0

cat <<HINT
mediacache is starting on http://127.0.0.1:${PORT:-8000}
  short URLs use:         ${BASE_URL}/media/<token>   (PUBLIC_BASE_URL)
  create an admin user:   $PYTHON manage.py createsuperuser
  ingest a first file:    $PYTHON manage.py ingest_media path/to/voice.ogg
  then open the short URL it prints, or the admin at http://127.0.0.1:${PORT:-8000}/admin/
HINT

exec "$PYTHON" -m gunicorn -c gunicorn.conf.py
