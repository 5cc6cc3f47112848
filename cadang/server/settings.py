"""Django settings for ``cadang serve``; every value comes from the environment
(:mod:`cadang.server.lib.config`), so one file serves development, tests and production."""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from cadang.server.lib.config import (
    TIME_ZONE_ENV,
    database_url,
    env,
    env_bool,
    secret_key,
)

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = secret_key()
DEBUG = env_bool("CADANG_DEBUG")
ALLOWED_HOSTS = [h.strip() for h in env("CADANG_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in env("CADANG_CSRF_TRUSTED_ORIGINS").split(",") if o.strip()
]
# Behind a TLS-terminating reverse proxy (README, production notes).
CADANG_BEHIND_PROXY = env_bool("CADANG_BEHIND_TLS_PROXY")
if CADANG_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "cadang.server.accounts",
    "cadang.server.audit",
    "cadang.server.inventory",
    "cadang.server.runs",
    "cadang.server.approvals",
    "cadang.server.notify",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "cadang.server.accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cadang.server.urls"
WSGI_APPLICATION = "cadang.server.wsgi.application"

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
                "django.template.context_processors.i18n",
                "cadang.server.accounts.context.role",
            ],
        },
    },
]

DATABASES = {"default": dj_database_url.parse(database_url(), conn_max_age=60)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The scheduler thread writes while pages read: wait for the lock instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # lockout after repeated failures
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Lockout: five failures for one user name from one address lock it for 15 minutes.
AXES_FAILURE_LIMIT = int(env("CADANG_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(env("CADANG_LOGIN_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "cadang.server.accounts.addresses.client_address"

# Sessions expire after 30 minutes without a request, and when the browser closes.
SESSION_COOKIE_AGE = int(env("CADANG_SESSION_MINUTES", "30")) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True

LANGUAGE_CODE = "id"
LANGUAGES = [("id", "Bahasa Indonesia"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env(TIME_ZONE_ENV, "Asia/Jakarta")

STATIC_URL = "static/"
STATIC_ROOT = env("CADANG_STATIC_ROOT") or None  # collectstatic target behind a proxy
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True  # no collectstatic step on a fresh install

# E-mail for notifications (cadang.server.notify); secrets may come from *_FILE.
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env("CADANG_SMTP_HOST", "127.0.0.1")
EMAIL_PORT = int(env("CADANG_SMTP_PORT", "25"))
EMAIL_HOST_USER = env("CADANG_SMTP_USER")
EMAIL_HOST_PASSWORD = env("CADANG_SMTP_PASSWORD")
EMAIL_USE_TLS = env_bool("CADANG_SMTP_STARTTLS")
EMAIL_USE_SSL = env_bool("CADANG_SMTP_SSL")
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = env("CADANG_SMTP_FROM", "cadang@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("CADANG_LOG_LEVEL", "WARNING")},
}
