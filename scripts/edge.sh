#!/usr/bin/env bash
# `make edge`: the production topology on one machine — nginx on 127.0.0.1:${EDGE_PORT:-8080}
# in front of gunicorn configured exactly as `make run` (same environment, a private unix socket).
# Installs Debian's nginx when it is missing (as root), prepares var/ like scripts/run.sh, then
# runs both in the foreground (python -m mediacache_project.edge run); Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
mkdir -p var

if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing nginx (Debian's package) for the edge"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
  else
    echo "make edge needs nginx: install it (Debian/Ubuntu: apt-get install nginx; macOS: brew install nginx)" >&2
    exit 1
  fi
fi

if [ -z "${SECRET_KEY:-}" ]; then
  [ -s var/secret_key ] || (umask 077 && "$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(50))' > var/secret_key)
  SECRET_KEY=$(cat var/secret_key)
  export SECRET_KEY
fi
# Short URLs point at the edge unless PUBLIC_BASE_URL says otherwise (CONTRACT §1).
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://127.0.0.1:${EDGE_PORT:-8080}}

"$PYTHON" manage.py migrate --noinput -v 0
"$PYTHON" manage.py collectstatic --noinput -v 0

cat <<HINT
mediacache is starting behind the edge on http://127.0.0.1:${EDGE_PORT:-8080}
  create an admin user:   $PYTHON manage.py createsuperuser
  ingest a first file:    PUBLIC_BASE_URL=${PUBLIC_BASE_URL} $PYTHON manage.py ingest_media path/to/voice.ogg
  then open the short URL it prints, or the admin at ${PUBLIC_BASE_URL}/admin/
HINT

exec "$PYTHON" -m mediacache_project.edge run
