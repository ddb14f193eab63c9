"""OncoBoard settings, read from environment variables through typed helpers.

Every variable is read here, once, at start-up, through the helpers of ``oncology_ui.core.env``,
which refuse a malformed value with an ``ImproperlyConfigured`` error naming it; the code reads
them as ``django.conf.settings.<NAME>``, never from the environment.

Defaults are the embedded local demo (SQLite, in-process jobs) and are safe: DEBUG is off,
cookies are secure unless ``HTTPS=false`` says the site is served over plain HTTP on loopback.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from oncology_ui.core.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    env_url,
    secret_key,
)

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
# Key of the pseudonymous ids in the site training table (docs/site_training_table.md);
# empty = a key derived from SECRET_KEY. Keep it secret: with it ids can be linked back to cases.
SITE_PSEUDONYM_KEY = env_str("SITE_PSEUDONYM_KEY", "")

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
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "oncology_ui.core",
    "oncology_ui.patients",
    "oncology_ui.analysis",
    "oncology_ui.modelregistry",
    "oncology_ui.sitelearn",
    "oncology_ui.clinical",
    "oncology_ui.notes",
    "oncology_ui.boards",
    "oncology_ui.reports",
    "oncology_ui.pathology",
    "oncology_ui.imaging",
    "oncology_ui.therapies",
    "oncology_ui.trials",
    "oncology_ui.cohorts",
    "oncology_ui.generative",
    "oncology_ui.casepage",
    "oncology_ui.demodata",
    # Last, as axes asks: its signal receivers then see the request our apps prepared.
    "axes",
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
    # request.user.is_verified(): has this session passed a second factor?
    "django_otp.middleware.OTPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "oncology_ui.core.middleware.SessionTimeoutMiddleware",
    "oncology_ui.core.middleware.SecondFactorMiddleware",
    "oncology_ui.core.middleware.NoStoreMiddleware",
    # Last: turns a login refused by axes into the response of our lockout callable.
    "axes.middleware.AxesMiddleware",
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
# A running job stamps its row this often; the reconciler requeues one silent for the second
# figure, so a killed worker's job restarts within minutes, not after the whole job timeout.
JOBS_HEARTBEAT_SECONDS = env_int("JOBS_HEARTBEAT_SECONDS", 15, minimum=1, maximum=300)
JOBS_STALE_AFTER_SECONDS = env_int(
    "JOBS_STALE_AFTER_SECONDS",
    max(90, 3 * JOBS_HEARTBEAT_SECONDS),
    minimum=3 * JOBS_HEARTBEAT_SECONDS,
    maximum=3600,
)
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
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out attempt before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Signs in the users that single sign-on brings back (no password involved).
    "allauth.account.auth_backends.AuthenticationBackend",
]
# Lockout (SECURITY.md scenarios 4, 5, 8), the same for /login/ and /admin/login/:
# - by (username, address): ten guesses at one account from one address lock that pair;
# - by address alone: a spray of many usernames from one address locks that address.
# Never by username alone: then anyone anywhere could lock a clinician out of every
# workstation before a tumor board (lockout as denial of service). Guessing one account from
# many addresses is slowed by the cool-off per address, audited row by row, and stopped by the
# second factor that administrators and signatures need.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=3, maximum=100)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
# The database, not Redis: a lock survives a cache flush or a Redis restart.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_CLIENT_IP_CALLABLE = "oncology_ui.core.signin.client_ip"
# A locked attempt answers exactly what a wrong password answers (no account probing).
AXES_LOCKOUT_CALLABLE = "oncology_ui.core.signin.lockout_response"
# A success must not wipe the address counter: a sprayer with one valid account could reset it.
AXES_RESET_ON_SUCCESS = False
# Guesses during the lock do not extend it, so a victim's own cool-off ends as announced.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Our access log is the audit trail; axes' per-login log would keep a second copy of it.
AXES_DISABLE_ACCESS_LOG = True

# Second factor (django-otp): the issuer name authenticator apps show; a wrong code doubles
# the wait before the next try (1 s, 2 s, 4 s, ...) on each device it was tried against.
OTP_TOTP_ISSUER = SITE_NAME
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
# Security keys and passkeys (WebAuthn): the relying-party id is the site's host name (never an
# IP address); only these origins may answer a challenge.
WEBAUTHN_RP_ID = env_str("WEBAUTHN_RP_ID", "localhost")
WEBAUTHN_ORIGINS = env_list("WEBAUTHN_ORIGINS", [f"https://{WEBAUTHN_RP_ID}"])

# Hospital single sign-on: OpenID Connect through allauth, on when SSO_SERVER_URL is set.
# allauth serves only the SSO round trip (SOCIALACCOUNT_ONLY): /login/ stays the password form.
SOCIALACCOUNT_ONLY = True
ACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_LOGIN_ON_GET = False  # the round trip starts with a POST (CSRF-protected)
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_ADAPTER = "oncology_ui.core.sso.HospitalSocialAccountAdapter"
SSO_PROVIDER_ID = "hospital"
SSO_NAME = env_str("SSO_NAME", "hospital sign-in")
SSO_SERVER_URL = env_url("SSO_SERVER_URL", "", schemes=("https", "http"))
SOCIALACCOUNT_PROVIDERS: dict[str, Any] = {"openid_connect": {"APPS": []}}
if SSO_SERVER_URL:
    SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"].append(
        {
            "provider_id": SSO_PROVIDER_ID,
            "name": SSO_NAME,
            "client_id": env_str("SSO_CLIENT_ID", ""),
            "secret": env_str("SSO_CLIENT_SECRET", ""),
            "settings": {
                "server_url": SSO_SERVER_URL,
                "token_auth_method": "client_secret_post",
                "oauth_pkce_enabled": True,
                "scope": ["openid", "email", "profile", "oncoboard"],
            },
        }
    )

LOGIN_URL = "core-login"
LOGIN_REDIRECT_URL = "patients-list"
LOGOUT_REDIRECT_URL = "core-login"

# Sessions: idle and absolute timeouts enforced by SessionTimeoutMiddleware.
SESSION_IDLE_TIMEOUT_SECONDS = env_int("SESSION_IDLE_TIMEOUT_SECONDS", 30 * 60, minimum=60)
SESSION_ABSOLUTE_TIMEOUT_SECONDS = env_int(
    "SESSION_ABSOLUTE_TIMEOUT_SECONDS", 12 * 3600, minimum=60
)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT_SECONDS
# Cohort analytics and model monitoring never show or export a group of fewer patients than this.
COHORT_MIN_GROUP_SIZE = env_int("COHORT_MIN_GROUP_SIZE", 5, minimum=2, maximum=1000)
# Model monitoring alerts when observed survival at a horizon (Kaplan-Meier) and the mean predicted
# survival differ by more than this many percentage points.
MONITORING_CALIBRATION_BAND = (
    env_int("MONITORING_CALIBRATION_BAND_POINTS", 10, minimum=1, maximum=50) / 100.0
)
# How long a break-glass grant to an out-of-team patient lasts before it must be asked again.
BREAK_GLASS_MINUTES = env_int("BREAK_GLASS_MINUTES", 60, minimum=5, maximum=12 * 60)
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
# Behind a reverse proxy, X-Forwarded-For is trusted only for the entries our own proxies
# appended: PROXY_COUNT of them, counted from the right (oncology_ui.core.signin.client_ip).
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
PROXY_COUNT = env_int("PROXY_COUNT", 1, minimum=1, maximum=10)
if BEHIND_PROXY:
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

# Whole-slide images (docs/pathology/README.md), read through oncology_ui.pathology.conf.
PATHOLOGY_MAX_UPLOAD_MB = env_int("PATHOLOGY_MAX_UPLOAD_MB", 16 * 1024, minimum=1)
PATHOLOGY_CHUNK_MB = env_int("PATHOLOGY_CHUNK_MB", 8, minimum=1, maximum=64)
PATHOLOGY_ORIGINAL_RETENTION_DAYS = env_int(
    "PATHOLOGY_ORIGINAL_RETENTION_DAYS", 0, minimum=0, maximum=3650
)
PATHOLOGY_OPEN_SLIDES = env_int("PATHOLOGY_OPEN_SLIDES", 8, minimum=1, maximum=256)
PATHOLOGY_TILE_CACHE_MB = env_int("PATHOLOGY_TILE_CACHE_MB", 64, minimum=0, maximum=4096)
PATHOLOGY_UPLOAD_EXPIRY_HOURS = env_int("PATHOLOGY_UPLOAD_EXPIRY_HOURS", 48, minimum=1)

# DICOM imaging (docs/imaging/README.md), read through oncology_ui.imaging.conf.
IMAGING_MAX_UPLOAD_MB = env_int("IMAGING_MAX_UPLOAD_MB", 2048, minimum=1)
IMAGING_MAX_FILES = env_int("IMAGING_MAX_FILES", 5000, minimum=1)
IMAGING_ZIP_MAX_ENTRIES = env_int("IMAGING_ZIP_MAX_ENTRIES", 20_000, minimum=1)
IMAGING_ZIP_MAX_UNPACKED_MB = env_int("IMAGING_ZIP_MAX_UNPACKED_MB", 8192, minimum=1)
IMAGING_ZIP_MAX_ENTRY_MB = env_int("IMAGING_ZIP_MAX_ENTRY_MB", 1024, minimum=1)
IMAGING_ZIP_MAX_RATIO = env_int("IMAGING_ZIP_MAX_RATIO", 200, minimum=2)
IMAGING_SANDBOX_MEMORY_MB = env_int("IMAGING_SANDBOX_MEMORY_MB", 6144, minimum=128)
IMAGING_SANDBOX_CPU_SECONDS = env_int("IMAGING_SANDBOX_CPU_SECONDS", 900, minimum=5)
IMAGING_SANDBOX_WALL_SECONDS = env_int("IMAGING_SANDBOX_WALL_SECONDS", 1200, minimum=5)
# PS3.15 option for dates in stored DICOM: shifted per patient, or kept.
IMAGING_DEID_DATES = env_choice("IMAGING_DEID_DATES", "shift", choices=("shift", "keep"))
IMAGING_VIEWER_CACHE = env_int("IMAGING_VIEWER_CACHE", 8, minimum=1, maximum=256)

# PACS query/retrieve over DICOMweb (issue 21), read through oncology_ui.imaging.conf. The
# credentials come from the environment only: never from the database or the admin.
PACS_DICOMWEB_URL = env_url("PACS_DICOMWEB_URL", "", schemes=("https", "http")) or ""
PACS_USERNAME = env_str("PACS_USERNAME", "")
PACS_PASSWORD = env_str("PACS_PASSWORD", "")
PACS_TIMEOUT_SECONDS = env_int("PACS_TIMEOUT_SECONDS", 30, minimum=1, maximum=600)
PACS_MAX_STUDY_MB = env_int("PACS_MAX_STUDY_MB", 2048, minimum=1)
PACS_TLS_VERIFY = env_bool("PACS_TLS_VERIFY", True)
PACS_TLS_CA_BUNDLE = env_str("PACS_TLS_CA_BUNDLE", "")
if PACS_TLS_CA_BUNDLE and not Path(PACS_TLS_CA_BUNDLE).is_file():
    raise ImproperlyConfigured(f"PACS_TLS_CA_BUNDLE is not a file: {PACS_TLS_CA_BUNDLE!r}")
if bool(PACS_USERNAME) != bool(PACS_PASSWORD):
    raise ImproperlyConfigured("PACS_USERNAME and PACS_PASSWORD are set together or not at all")
# Studies pushed to OncoBoard (DICOM C-STORE SCP, `manage.py dicom_scp`): only from these calling
# AE titles, with per-association and concurrency limits.
DICOM_SCP_AE_TITLE = env_str("DICOM_SCP_AE_TITLE", "ONCOBOARD")
if len(DICOM_SCP_AE_TITLE) > 16:
    raise ImproperlyConfigured("DICOM_SCP_AE_TITLE must be at most 16 characters")
DICOM_SCP_HOST = env_str("DICOM_SCP_HOST", "127.0.0.1")
DICOM_SCP_PORT = env_int("DICOM_SCP_PORT", 11112, minimum=1, maximum=65535)
DICOM_SCP_ALLOWED_AE_TITLES = env_list("DICOM_SCP_ALLOWED_AE_TITLES", [])
DICOM_SCP_MAX_ASSOCIATION_MB = env_int("DICOM_SCP_MAX_ASSOCIATION_MB", 4096, minimum=1)
DICOM_SCP_MAX_ASSOCIATIONS = env_int("DICOM_SCP_MAX_ASSOCIATIONS", 4, minimum=1, maximum=64)
DICOM_SCP_TIMEOUT_SECONDS = env_int("DICOM_SCP_TIMEOUT_SECONDS", 60, minimum=1, maximum=3600)

# Clinical imports (CSV, VCF, FHIR): FHIR bundles are parsed whole, so their limit is lower.
CLINICAL_IMPORT_MAX_BYTES = env_int("CLINICAL_IMPORT_MAX_MB", 50, minimum=1) * 1024 * 1024
CLINICAL_FHIR_MAX_BYTES = env_int("CLINICAL_FHIR_MAX_MB", 20, minimum=1) * 1024 * 1024
CLINICAL_IMPORT_MAX_ROWS = env_int("CLINICAL_IMPORT_MAX_ROWS", 100_000, minimum=1)
CLINICAL_IMPORT_MAX_LINE_BYTES = env_int("CLINICAL_IMPORT_MAX_LINE_BYTES", 64 * 1024, minimum=1024)

# Trial matching: "hybrid" (BM25 + MiniLM vectors) or "bm25"; MiniLM vectors for newly imported
# trials (the shipped subset carries its own).
TRIALS_RETRIEVAL_MODE = env_choice("TRIALS_RETRIEVAL_MODE", "hybrid", choices=("hybrid", "bm25"))
TRIALS_EMBEDDINGS = env_bool("TRIALS_EMBEDDINGS", True)

# Clinical documents (notes and reports): upload size, characters of text, pages of a PDF.
NOTES_MAX_UPLOAD_BYTES = env_int("NOTES_MAX_UPLOAD_MB", 10, minimum=1, maximum=200) * 1024 * 1024
NOTES_MAX_TEXT_CHARS = env_int("NOTES_MAX_TEXT_CHARS", 200_000, minimum=1_000)
NOTES_MAX_PDF_PAGES = env_int("NOTES_MAX_PDF_PAGES", 100, minimum=1)

# Prognosis: the portrait checkpoint trained with non-commercial data (TCGA tables, 13 cancer
# types) is the default; "commercial" selects the one trained without them (10 types). Read once,
# when the model registry is first filled (migrate / models_sync): after that routing follows the
# registry's active rows, which only a two-person approval changes.
PROGNOSIS_PORTRAIT_CHECKPOINT = env_choice(
    "PROGNOSIS_PORTRAIT_CHECKPOINT", "default", choices=("default", "commercial")
)

# The generative model (issue #18): samples per profile and experiment, the seed, the drawn
# results per test of the next-best-test ranking and the imputed profiles the survival model scores.
GENERATIVE_SAMPLES = env_int("GENERATIVE_SAMPLES", 100, minimum=10)
GENERATIVE_SEED = env_int("GENERATIVE_SEED", 0, minimum=0)
GENERATIVE_NEXT_TEST_DRAWS = env_int("GENERATIVE_NEXT_TEST_DRAWS", 8, minimum=2)
GENERATIVE_PROGNOSIS_SAMPLES = env_int("GENERATIVE_PROGNOSIS_SAMPLES", 30, minimum=2)
GENERATIVE_TORCH_THREADS = env_int("GENERATIVE_TORCH_THREADS", 1, minimum=1)

# Shared vocabularies shipped in the repository.
VOCAB_DIR = BASE_DIR / "oncology_ui" / "patients" / "vocab"

LOG_LEVEL = env_choice(
    "LOG_LEVEL",
    "INFO",
    choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
    case_sensitive=False,
)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            # Tracebacks as class and frames only: exception messages can quote patient text.
            "()": "oncology_ui.core.logsafe.ExceptionWhereFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.request": {"level": "ERROR"}},
}

SILENCED_SYSTEM_CHECKS: list[str] = []
if not SECURE_HSTS_PRELOAD:
    # security.W021: HSTS preload is a one-way commitment for the hospital's whole domain;
    # its IT team opts in with SECURE_HSTS_PRELOAD=true, the app does not decide it for them.
    SILENCED_SYSTEM_CHECKS.append("security.W021")
