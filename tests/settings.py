"""Settings for the test suite: the production settings plus a test-only secret.

The backing services (Redis, the moto S3 server) are started by fixtures in conftest.py and
patched in with ``override_settings``; DATABASE_URL is honoured as usual (CI points it at the
local PostgreSQL).
"""

import os

os.environ.setdefault("SECRET_KEY", "insecure-key-for-the-test-suite-only")

from mediacache_project.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
