"""Settings for the server's tests: the real settings, with a throw-away state directory and
key so no test touches the user's catalog, and a fast password hasher."""

import os
import tempfile

os.environ.setdefault("CADANG_SECRET_KEY", "tests-only-not-secret")
os.environ.setdefault("CADANG_STATE_DIR", tempfile.mkdtemp(prefix="cadang-test-state-"))

from cadang.server.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
