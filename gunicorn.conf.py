"""gunicorn settings for `make run` and production (override with the variables below).

gthread workers: media serving waits on Redis, the disk and S3, so a few threads per process
overlap that waiting while the processes use both cores. ``sendfile`` stays on: disk-tier
files (and byte ranges of them) leave through the kernel without passing through Python.
"""

import os
import shutil
import tempfile

from mediacache_project.sizing import available_cpus

# Prometheus multiprocess mode: every worker writes its metrics to files in this folder and a
# scrape of any worker sums them. A fresh folder per server start (unless set explicitly),
# removed again when the server exits.
_OWN_METRICS_DIR = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _OWN_METRICS_DIR = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="mediacache-metrics-")

wsgi_app = "mediacache_project.wsgi:application"
bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
# One worker per CPU this process may use (affinity and cgroup quota), not per CPU of the host.
workers = int(os.environ.get("WEB_CONCURRENCY") or available_cpus())
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")  # `make edge` may choose another (docs/deploy.md)
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
# Whose X-Forwarded-Proto/-For gunicorn believes: nobody's when clients reach it directly (`make run`);
# a unix-socket peer (the edge, `make edge`) is always trusted; FORWARDED_ALLOW_IPS names a proxy's address.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "")
# sendfile is on by default. Do not write `sendfile = True` here: in gunicorn any value for the
# `sendfile` setting means --no-sendfile (it is a "store_const False" flag), which silently
# turned every disk-tier answer into read()+send() of 4 KiB blocks. SENDFILE=0 disables it.
accesslog = "-" if os.environ.get("ACCESS_LOG", "").lower() in ("1", "true", "yes", "on") else None
errorlog = "-"
control_socket_disable = True  # no runtime control socket: nothing here uses it, and it clashes between instances


def child_exit(server, worker):
    """A dead worker's live gauges must not linger in the multiprocess files."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    """Each node keeps its own disk tier in bounds: a light periodic sweep thread per worker,
    of which one per cache folder actually sweeps each period (media_store.ops.sweeper); and
    every worker rescues asynchronous jobs nobody started and prunes old rows (chat.housekeeping)."""
    from chat import housekeeping
    from media_store.ops import sweeper
    from media_store.ops.timeline import timeline

    sweeper.start()
    housekeeping.start()
    timeline.start_sampler()  # the admin's last-hour chart: the shared serving counters, once a minute


def on_exit(server):
    if _OWN_METRICS_DIR:
        shutil.rmtree(_OWN_METRICS_DIR, ignore_errors=True)


def on_starting(server):
    """Parse the settings once in the master, so a bad variable stops start-up with its one line
    instead of every worker failing to boot."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediacache_project.settings")
    from django.conf import settings

    settings.SECRET_KEY  # noqa: B018 (importing the settings is the check)
    from media_store.tiers.connections import startup_line

    line = startup_line(settings)
    if line:
        server.log.info(line)
