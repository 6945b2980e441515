"""``python -m mediacache_project.edge run`` (make edge) or ``render`` (the config for production).

``render --upstream unix:/run/mediacache/gunicorn.sock --root /var/lib/mediacache-edge`` writes
``<root>/nginx.conf`` from the settings in the environment, the same file ``make edge`` runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mediacache_project.edge")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="gunicorn behind nginx in the foreground (make edge)")
    render = commands.add_parser("render", help="write <root>/nginx.conf from the settings")
    render.add_argument(
        "--upstream",
        required=True,
        action="append",
        help="where gunicorn listens: unix:/path or 127.0.0.1:PORT (repeat it for several app nodes)",
    )
    render.add_argument("--root", help="nginx's folder: config, pid, temp files, cache (default EDGE_DIR)")
    render.add_argument("--stdout", action="store_true", help="print the config instead of writing it")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediacache_project.settings")
    import django

    django.setup()
    from django.conf import settings

    from mediacache_project.edge import config, launcher

    try:
        if args.command == "run":
            return launcher.run()
        paths = config.EdgePaths(Path(args.root or settings.EDGE_DIR).resolve())
        if args.stdout:
            sys.stdout.write(config.render(args.upstream, paths))
        else:
            print(config.write(args.upstream, paths))
        return 0
    except config.EdgeConfigError as error:
        raise SystemExit(f"mediacache edge: {error}") from None


if __name__ == "__main__":
    sys.exit(main())
