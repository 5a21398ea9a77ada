"""CareCall settings: everything that varies comes from environment variables (see README)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from csp.constants import NONCE, NONE, SELF

from config.env import (
    EnvError,
    database_from_url,
    email_from_url,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_optional_str,
    env_rate,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CARECALL_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)

_secret_key = env_optional_str("SECRET_KEY")
if _secret_key is None:
    if not DEBUG:
        raise EnvError("SECRET_KEY must be set when DEBUG is off (`carecall demo` makes one)")
    # Debug runs without a key get a throwaway one: sessions last as long as the process.
    _secret_key = secrets.token_urlsafe(50)
elif len(_secret_key) < 50 and not DEBUG:
    raise EnvError("SECRET_KEY must be at least 50 characters long")
SECRET_KEY = _secret_key

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
if not ALLOWED_HOSTS:
    raise EnvError("ALLOWED_HOSTS must list the host names CareCall answers to")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Production is served over HTTPS behind a proxy; the demo on http://127.0.0.1 is not.
HTTPS = env_bool("HTTPS", not DEBUG)
# Links in emails (invitations, receipts) start with this.
SITE_URL = env_url("SITE_URL", "http://127.0.0.1:8000" if DEBUG else None).rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "axes",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "carecall.core",
    "carecall.accounts",
    "carecall.orgs",
    "carecall.notifications",
    "carecall.calls",
    "carecall.clinic_apps",
    "carecall.payments",
    "carecall.audit",
    "carecall.jobs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Cache-Control: no-store on every answer that sets no caching of its own.
    "carecall.core.cache_control.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Axes last: it answers locked-out sign-ins before the view runs.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Overrides of Django's admin templates (the admin app comes first in INSTALLED_APPS).
        "DIRS": [BASE_DIR / "carecall" / "core" / "admin_templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]
# Django's form renderer with the project's field group (core/field.html): one place writes
# every field's label, help text, errors and the ids aria-describedby points at.
FORM_RENDERER = "carecall.core.form_renderer.CareCallFormRenderer"

DATABASES = {
    "default": database_from_url(
        "DATABASE_URL",
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'carecall.sqlite3'}"),
        base_dir=BASE_DIR,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Platform operators (active is_staff users) may use the Django admin.
    "carecall.accounts.backends.StaffOperatorBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:sign_in"
LOGIN_REDIRECT_URL = "orgs:home"
LOGOUT_REDIRECT_URL = "accounts:sign_in"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 3

# Sign-in rate limiting: five wrong passwords for one email from one address locks it for a while.
AXES_FAILURE_LIMIT = env_int("SIGN_IN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SIGN_IN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The sign-in form's field is `username`; emails count the same whatever their case.
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "carecall.accounts.lockout.username_for_lockout"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# The client's address, for the lockout and any rate limit by address, is decided by this one
# setting (carecall/core/client_address.py): the number of reverse proxies in front, each
# appending the address it saw to X-Forwarded-For. 0: REMOTE_ADDR, and X-Forwarded-For ignored.
PROXY_COUNT = env_int("PROXY_COUNT", 0, minimum=0, maximum=10)
if env_optional_str("FORWARDED_ALLOW_IPS") is not None:
    raise EnvError(
        "FORWARDED_ALLOW_IPS is not read any more: the client address comes from PROXY_COUNT "
        "alone (the number of reverse proxies in front); unset FORWARDED_ALLOW_IPS"
    )
AXES_CLIENT_IP_CALLABLE = "carecall.core.client_address.client_address"
# Beside the (email, address) lock: wrong passwords for one account from all addresses together
# before each further try waits (1 minute, doubling, at most the lockout; accounts/lockout.py).
SIGN_IN_ACCOUNT_FAILURE_LIMIT = env_int("SIGN_IN_ACCOUNT_FAILURE_LIMIT", 20, minimum=1)
AXES_HANDLER = "carecall.accounts.lockout.AccountBackoffAxesHandler"
AXES_LOCKOUT_CALLABLE = "carecall.accounts.lockout.lockout_response"
# A try refused by a lock is not counted as a failure: the wait the page gives stays true, and
# only real guesses lengthen the account's backoff.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False

LANGUAGE_CODE = "en-au"
LANGUAGES = [("en-au", "English")]
LOCALE_PATHS = [BASE_DIR / "carecall" / "locale"]
TIME_ZONE = "Australia/Sydney"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Without collectstatic (the demo) whitenoise serves straight from the apps' static folders.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

_email = email_from_url(
    "EMAIL_URL", env_str("EMAIL_URL", f"file://{VAR_DIR / 'mail'}"), base_dir=BASE_DIR
)
EMAIL_BACKEND = _email.backend
EMAIL_HOST = _email.host
EMAIL_PORT = _email.port
EMAIL_HOST_USER = _email.user
EMAIL_HOST_PASSWORD = _email.password
EMAIL_USE_TLS = _email.use_tls
EMAIL_USE_SSL = _email.use_ssl
EMAIL_FILE_PATH = _email.file_path
# Sends run after commit inside a person's request; a hanging mail server must not hold it long
# (a failed send stays in the outbox and is retried).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT_SECONDS", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "CareCall <no-reply@carecall.test>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

_redis_url = env_optional_str("REDIS_URL")
# Websockets of one process reach each other directly (carecall.calls.realtime); a channel
# layer is only the way to other processes, so there is none without Redis.
CHANNEL_LAYERS: dict[str, dict[str, object]] = {}
if _redis_url:
    # The pub/sub layer held 400 msg/s at p99 6.8 ms here; the core Redis layer ran out of
    # connections at 100 simultaneous connects (docs/realtime.md).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [_redis_url]},
        }
    }
# Without a channel layer a web process claims the database for itself, so that a second one
# stops at start (carecall/calls/web_process.py). Test processes load the application without
# serving it (settings_test turns this off); the tests of the claim run real servers.
WEB_PROCESS_CLAIM = True

# Django's cache holds the throttles' counts (carecall/core/ratelimit.py, django-ratelimit): in
# Redis when there is one, so a limit holds across processes; else in this process's memory,
# which is right for one process only (`carecall serve` refuses WEB_WORKERS > 1 without Redis).
CACHES: dict[str, dict[str, object]] = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _redis_url,
            "KEY_PREFIX": "carecall",
            # A Redis that hangs must not hold requests: a throttle then lets them through.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
        if _redis_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "carecall"}
    )
}

# Throttles (docs/rate-limits.md): each a django-ratelimit rate, counted per client address
# (PROXY_COUNT decides it) and per token (visit or guest link, invitation, email, signed-in user).
# Past one: 429 and a message saying how long to wait; nothing is done.
RATE_LIMIT_ENTRY_PER_ADDRESS = env_rate("RATE_LIMIT_ENTRY_PER_ADDRESS", "10/5m")
RATE_LIMIT_PASSWORD_RESET_PER_ADDRESS = env_rate("RATE_LIMIT_PASSWORD_RESET_PER_ADDRESS", "20/h")
RATE_LIMIT_PASSWORD_RESET_PER_EMAIL = env_rate("RATE_LIMIT_PASSWORD_RESET_PER_EMAIL", "5/h")
RATE_LIMIT_INVITE_PER_ADDRESS = env_rate("RATE_LIMIT_INVITE_PER_ADDRESS", "100/h")
RATE_LIMIT_INVITE_PER_USER = env_rate("RATE_LIMIT_INVITE_PER_USER", "50/h")
RATE_LIMIT_INVITATION_ACCEPT_PER_ADDRESS = env_rate(
    "RATE_LIMIT_INVITATION_ACCEPT_PER_ADDRESS", "30/10m"
)
RATE_LIMIT_INVITATION_ACCEPT_PER_TOKEN = env_rate(
    "RATE_LIMIT_INVITATION_ACCEPT_PER_TOKEN", "10/10m"
)
# Each of the payer's pay, receipt-email and complete endpoints counts on its own.
RATE_LIMIT_PAYER_PER_ADDRESS = env_rate("RATE_LIMIT_PAYER_PER_ADDRESS", "120/10m")
RATE_LIMIT_PAYER_PER_TOKEN = env_rate("RATE_LIMIT_PAYER_PER_TOKEN", "30/10m")
# A payer's `complete` within this many seconds of the last one answers the stored status
# without asking Stripe again.
PAYER_COMPLETE_DEBOUNCE_SECONDS = env_int("PAYER_COMPLETE_DEBOUNCE_SECONDS", 3, minimum=1)
# django-ratelimit's own switch (true unless set to false): off only for load benchmarks.
RATELIMIT_ENABLE = env_bool("RATE_LIMITS", True)

# Security baseline. Cookies are secure whenever the site is served over HTTPS.
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_HOURS", 12, minimum=1) * 3600
SECURE_SSL_REDIRECT = HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 31536000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Pages extend this policy (django-csp's @csp_update) rather than loosening it site-wide.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "media-src": [SELF, "blob:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LOG_LEVEL = env_choice(
    "LOG_LEVEL",
    "INFO",
    ["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", "NOTSET"],
    case_insensitive=True,
)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Tokens in paths (patients', guests', invitations', resets, receipts) are masked in every
    # line (carecall/core/log_masking.py); uvicorn's access log gets the same filter.
    "filters": {"mask_tokens": {"()": "carecall.core.log_masking.TokenMaskFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["mask_tokens"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"axes": {"level": "WARNING"}, "stripe": {"level": "WARNING"}},
}

INVITATION_DAYS = 30

# WebRTC. Without STUN/TURN, calls connect on the local network only (enough for the demo).
STUN_URLS = env_list("STUN_URLS", [])
TURN_URLS = env_list("TURN_URLS", [])
TURN_SECRET = env_optional_str("TURN_SECRET") or ""
if TURN_URLS and not TURN_SECRET:
    raise EnvError("TURN_SECRET must be set when TURN_URLS is (coturn's static-auth-secret)")
# TURN REST credentials expire; coturn checks them on every allocation refresh, so this must
# outlast a consultation. Reconnects get fresh ones.
TURN_TTL_SECONDS = env_int("TURN_TTL_SECONDS", 4 * 3600, minimum=60)
ICE_TRANSPORT_POLICY = env_str("ICE_TRANSPORT_POLICY", "all")
if ICE_TRANSPORT_POLICY not in {"all", "relay"}:
    raise EnvError("ICE_TRANSPORT_POLICY must be all or relay")

# Websocket limits: a bigger frame or a faster sender is disconnected with a reason.
WS_MAX_MESSAGE_BYTES = env_int("WS_MAX_MESSAGE_BYTES", 64 * 1024, minimum=1024)
WS_RATE_PER_SECOND = env_int("WS_RATE_PER_SECOND", 40, minimum=1)
WS_RATE_BURST = env_int("WS_RATE_BURST", 120, minimum=1)
# Sockets one person may hold open on a process: per call participant (their tabs, a reload's
# overlap) and per staff user and clinic waiting area (carecall/calls/socket_caps.py).
WS_SOCKETS_PER_PARTICIPANT = env_int("WS_SOCKETS_PER_PARTICIPANT", 4, minimum=1)
WS_SOCKETS_PER_WAITING_AREA = env_int("WS_SOCKETS_PER_WAITING_AREA", 4, minimum=1)

# Stripe. The demo and the tests point the three base URLs at stripe_sandbox; production keeps
# Stripe's. Connect: the platform's Standard-account OAuth client id and the Connect webhook secret.
STRIPE_SECRET_KEY = env_optional_str("STRIPE_SECRET_KEY") or ""
STRIPE_PUBLISHABLE_KEY = env_optional_str("STRIPE_PUBLISHABLE_KEY") or ""
STRIPE_CONNECT_CLIENT_ID = env_optional_str("STRIPE_CONNECT_CLIENT_ID") or ""
STRIPE_WEBHOOK_SECRET = env_optional_str("STRIPE_WEBHOOK_SECRET") or ""
STRIPE_API_BASE = env_url("STRIPE_API_BASE", "https://api.stripe.com").rstrip("/")
STRIPE_CONNECT_BASE = env_url("STRIPE_CONNECT_BASE", "https://connect.stripe.com").rstrip("/")
STRIPE_JS_URL = env_url("STRIPE_JS_URL", "https://js.stripe.com/v3/")
STRIPE_DASHBOARD_URL = env_url("STRIPE_DASHBOARD_URL", "https://dashboard.stripe.com").rstrip("/")
STRIPE_TIMEOUT_SECONDS = env_int("STRIPE_TIMEOUT_SECONDS", 10, minimum=1)
STRIPE_MAX_NETWORK_RETRIES = env_int("STRIPE_MAX_NETWORK_RETRIES", 2, minimum=0, maximum=5)
for _name, _value, _prefix in [
    ("STRIPE_SECRET_KEY", STRIPE_SECRET_KEY, ("sk_", "rk_")),
    ("STRIPE_PUBLISHABLE_KEY", STRIPE_PUBLISHABLE_KEY, ("pk_",)),
    ("STRIPE_CONNECT_CLIENT_ID", STRIPE_CONNECT_CLIENT_ID, ("ca_",)),
    ("STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET, ("whsec_",)),
]:
    if _value and not _value.startswith(_prefix):
        raise EnvError(f"{_name} must start with {' or '.join(_prefix)}")
# Payment requests not paid when the call ends stay payable through the visit link this long.
PAYMENT_LINK_DAYS = env_int("PAYMENT_LINK_DAYS", 7, minimum=1)
# Stripe also emails its own receipt in live mode when receipt_email is set on the PaymentIntent.
STRIPE_SENDS_RECEIPTS = env_bool("STRIPE_SENDS_RECEIPTS", True)

# Background work (docs/webhooks-and-jobs.md): Django's tasks interface (django-tasks, to be
# Django 6's django.tasks) with its database backend; `carecall worker` runs the tasks.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Stored webhook events that changed nothing are deleted after this many days.
WEBHOOK_EVENT_RETENTION_DAYS = env_int("WEBHOOK_EVENT_RETENTION_DAYS", 30, minimum=1)
# A worker holds an event this long at most (a Stripe call takes at most about timeout x tries);
# if it dies meanwhile, another takes the event once the lease runs out.
WEBHOOK_EVENT_LEASE_SECONDS = env_int("WEBHOOK_EVENT_LEASE_SECONDS", 120, minimum=1)
# Stripe's signatures: at most this old (Stripe's default tolerance, against replays) and at
# most this far ahead of our clock (a clock's drift; a signature from later is refused).
WEBHOOK_SIGNATURE_TOLERANCE_SECONDS = 300
WEBHOOK_SIGNATURE_FUTURE_SKEW_SECONDS = 60

# The call page's window.carecallCall (its sockets, peers and streams), for the browser tests
# and bench/ only; settings_test turns it on. Production pages never carry it.
CALL_TEST_HOOKS = env_bool("CALL_TEST_HOOKS", False)
