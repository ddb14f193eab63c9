"""OncoBoard settings, read from environment variables through typed helpers.

Defaults are the embedded local demo (SQLite, in-process jobs) and are safe: DEBUG is off,
cookies are secure unless ``HTTPS=false`` says the site is served over plain HTTP on loopback.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from oncology_ui.core.env import env_bool, env_int, env_list, env_str, env_url, secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_STATE_DIR = Path(env_str("ONCOBOARD_STATE_DIR", str(BASE_DIR / ".local")))

DEBUG = env_bool("DEBUG", False)
# HTTPS=false is only for the local demo on 127.0.0.1: no secure-only cookies, no redirects.
HTTPS = env_bool("HTTPS", True)
SECRET_KEY = secret_key(
    "SECRET_KEY",
    local_file=LOCAL_STATE_DIR / "secret_key",
    allow_generate=DEBUG or not HTTPS,
)
# The access log's HMAC key (docs/audit.md): held by the app servers and never by the database,
# so a database superuser who rewrites audit rows cannot recompute their hashes.
AUDIT_HMAC_KEY = secret_key(
    "AUDIT_HMAC_KEY",
    local_file=LOCAL_STATE_DIR / "audit_hmac_key",
    allow_generate=DEBUG or not HTTPS,
)
if AUDIT_HMAC_KEY == SECRET_KEY:
    raise ImproperlyConfigured("AUDIT_HMAC_KEY must differ from SECRET_KEY")
# Signed checkpoints of the audit chain, appended by `manage.py audit_anchor`: keep this file on
# append-only storage the database administrators cannot write (docs/audit.md).
AUDIT_ANCHOR_PATH = Path(env_str("AUDIT_ANCHOR_PATH", str(LOCAL_STATE_DIR / "audit_anchors.log")))
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_NAME = env_str("SITE_NAME", "OncoBoard")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "django_rq",
    "csp",
    "oncology_ui.core",
    "oncology_ui.patients",
    "oncology_ui.analysis",
    "oncology_ui.clinical",
    "oncology_ui.boards",
    "oncology_ui.reports",
    "oncology_ui.pathology",
    "oncology_ui.imaging",
    "oncology_ui.therapies",
    "oncology_ui.trials",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "oncology_ui.core.middleware.ServiceUnavailableMiddleware",
    # Django's SessionMiddleware; image tiles and slices read the session at most once a minute.
    "oncology_ui.core.image_sessions.ImageSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "oncology_ui.core.middleware.SessionTimeoutMiddleware",
    "oncology_ui.core.middleware.NoStoreMiddleware",
]

ROOT_URLCONF = "oncology_ui.urls"
WSGI_APPLICATION = "oncology_ui.wsgi.application"

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
                "oncology_ui.core.context_processors.site",
            ],
        },
    }
]

DATABASE_URL = env_url(
    "DATABASE_URL",
    f"sqlite:///{LOCAL_STATE_DIR / 'db.sqlite3'}",
    schemes=("sqlite", "postgres", "postgresql"),
)
assert DATABASE_URL is not None
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Fail fast during an outage so the 503 page comes quickly instead of a hung request.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int(
        "DB_CONNECT_TIMEOUT", 5, minimum=1
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo's web requests and the in-process job executor write at the same time. SQLite's
    # default rollback journal blocks readers during a write and gives up on a lock at once
    # ("database is locked" -> 503). WAL lets readers run beside the one writer; the busy timeout
    # makes a writer wait for the lock; IMMEDIATE transactions take the write lock up front, so
    # two transactions never deadlock upgrading read locks (which no timeout can resolve).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": env_int("SQLITE_BUSY_TIMEOUT_SECONDS", 20, minimum=1),
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Jobs: with REDIS_URL, django-rq workers run them; without it, an in-process executor does.
REDIS_URL = env_url("REDIS_URL", None, schemes=("redis", "rediss"))
JOBS_BACKEND = "rq" if REDIS_URL else "inprocess"
JOBS_QUEUE = env_str("JOBS_QUEUE", "default")
JOBS_TIMEOUT_SECONDS = env_int("JOBS_TIMEOUT_SECONDS", 3600, minimum=10)
JOBS_MAX_ATTEMPTS = env_int("JOBS_MAX_ATTEMPTS", 3, minimum=1, maximum=20)
RQ_QUEUES = {
    JOBS_QUEUE: {
        "URL": REDIS_URL or "redis://127.0.0.1:6379/0",
        "DEFAULT_TIMEOUT": JOBS_TIMEOUT_SECONDS,
        # The row id is all a job carries; JSON keeps pickles (and PHI) out of Redis.
        "SERIALIZER": "rq.serializers.JSONSerializer",
    }
}
# Our own job_enqueue already waits for the commit; django-rq must not defer a second time.
RQ = {"DEFAULT_RESULT_TTL": 3600, "COMMIT_MODE": "auto"}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
LOGIN_URL = "core-login"
LOGIN_REDIRECT_URL = "patients-list"
LOGOUT_REDIRECT_URL = "core-login"

# Sessions: idle and absolute timeouts enforced by SessionTimeoutMiddleware.
SESSION_IDLE_TIMEOUT_SECONDS = env_int("SESSION_IDLE_TIMEOUT_SECONDS", 30 * 60, minimum=60)
SESSION_ABSOLUTE_TIMEOUT_SECONDS = env_int(
    "SESSION_ABSOLUTE_TIMEOUT_SECONDS", 12 * 3600, minimum=60
)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT_SECONDS
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
if HTTPS:
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
SECURE_SSL_REDIRECT = HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "/media-not-served/"  # media is only ever served by access-checked views
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024, minimum=1024)
# A CT series is often several hundred files; loose .dcm uploads need more than Django's
# default of 100 files per request (larger sets are sent as a zip).
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("DATA_UPLOAD_MAX_NUMBER_FILES", 1000, minimum=1)

# Trial matching: "hybrid" (BM25 + MiniLM vectors) or "bm25"; MiniLM vectors for newly imported
# trials (the shipped subset carries its own).
TRIALS_RETRIEVAL_MODE = env_str("TRIALS_RETRIEVAL_MODE", "hybrid")
if TRIALS_RETRIEVAL_MODE not in {"hybrid", "bm25"}:
    raise ImproperlyConfigured("TRIALS_RETRIEVAL_MODE must be 'hybrid' or 'bm25'")
TRIALS_EMBEDDINGS = env_bool("TRIALS_EMBEDDINGS", True)

# Shared vocabularies shipped in the repository.
VOCAB_DIR = BASE_DIR / "oncology_ui" / "patients" / "vocab"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}

SILENCED_SYSTEM_CHECKS: list[str] = []
if not SECURE_HSTS_PRELOAD:
    # security.W021: HSTS preload is a one-way commitment for the hospital's whole domain;
    # its IT team opts in with SECURE_HSTS_PRELOAD=true, the app does not decide it for them.
    SILENCED_SYSTEM_CHECKS.append("security.W021")
