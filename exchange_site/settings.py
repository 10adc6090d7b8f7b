"""Django settings, read from environment variables (see ``.env.example``).

Local use needs no configuration: ``make install`` writes a ``.env`` beside
``manage.py`` (DEBUG on, a fresh secret key) that these settings read, with any
real environment variable winning over it; SQLite is the default database.
DEBUG is off unless ``DJANGO_DEBUG`` says so, and then a production deployment
must provide ``DJANGO_SECRET_KEY``: without it the settings refuse to load.
"""

from __future__ import annotations

import warnings
from decimal import Decimal
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from exchange_site.env import (
    env_bool,
    env_decimal,
    env_float,
    env_int,
    env_list,
    env_pairs,
    env_str,
    load_env_file,
)

BASE_DIR = Path(__file__).resolve().parent.parent
ENV_FILE = load_env_file(BASE_DIR / ".env")

DEBUG = env_bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off "
            "(for local use, `make install` writes a .env with DJANGO_DEBUG=true)."
        )
    # A throwaway key for local development only: never used with DEBUG off.
    SECRET_KEY = "django-insecure-local-development-only-" + "x" * 24
elif not DEBUG and (
    len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-")
):
    # Django's own rule for a strong key (check security.W009), enforced at start, not only warned.
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is too weak for production: use at least 50 characters with at least 5 "
        "different ones, not starting with 'django-insecure-' (for example the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`)."
    )

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # daphne first: it makes `runserver` serve the ASGI application.
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_eventstream",
    # Bottom-up: each app imports only from those above it in this list.
    "streams",
    "sources",
    "market",
    "engine",
    "bots",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "web.security_headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "dashboard.auth_throttle.AuthRateLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "web.null_characters.NullCharactersMiddleware",
    "web.http_methods.HttpMethodsMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "market.middleware.JsonErrorsMiddleware",
    "web.database_errors.DatabaseUnavailableMiddleware",
    # Innermost: an account's injected faults (market/fault_injection.py) act on its own requests only.
    "market.fault_injection.FaultInjectionMiddleware",
]

ROOT_URLCONF = "exchange_site.urls"
ASGI_APPLICATION = "exchange_site.asgi.application"

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
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
# SQLite by default. IMMEDIATE transactions take the write lock up front, WAL
# lets readers proceed beside the writer, and the busy timeout makes concurrent
# writers wait for each other instead of failing with "database is locked".
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {**SQLITE_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}
    # Each thread keeps its connection: opening one (and its PRAGMAs) for every
    # request was about a third of a request's CPU (benchmarks/hot_paths.py).
    # The threads are bounded (web.request_lanes, streams.admission), and a
    # request on a thread of its own closes its connection as it ends.
    DATABASES["default"]["CONN_MAX_AGE"] = None
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# PostgreSQL: a pool of connections per process (Django's psycopg pool)
# instead of a new connection per request. A request waits at most
# DATABASE_POOL_TIMEOUT seconds for a connection, so a database that is down
# answers 503 ``unavailable`` after that long; 0 turns the pool off.
DATABASE_POOL_SIZE = env_int("DATABASE_POOL_SIZE", 20, minimum=0)
DATABASE_POOL_TIMEOUT = env_float("DATABASE_POOL_TIMEOUT", 2.0, minimum=0.1)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DATABASE_POOL_SIZE:
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(2, DATABASE_POOL_SIZE),
        "max_size": DATABASE_POOL_SIZE,
        "timeout": DATABASE_POOL_TIMEOUT,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Static files and the dashboard --------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # The dashboard's chart library, installed by `npm ci` (see package.json):
    # served from the npm package itself, never copied into the repository.
    ("vendor/lightweight-charts", BASE_DIR / "node_modules" / "lightweight-charts" / "dist"),
    # Swagger UI for /api/docs, likewise from its pinned npm package: no CDN.
    ("vendor/swagger-ui", BASE_DIR / "node_modules" / "swagger-ui-dist"),
]
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves static files in production too, so the exchange is one
# self-contained process; finders make `collectstatic` optional.
WHITENOISE_USE_FINDERS = True
# Without `collectstatic` there is no STATIC_ROOT; the finders serve instead.
warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# WhiteNoise 6 answers with a file iterator that is synchronous; under ASGI Django
# reads such a (small, static) file in a thread and warns once per file served.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# --- Security ------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "web.csrf.csrf_failure"
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("EXCHANGE_MAX_BODY_BYTES", 16 * 1024, minimum=1024)
# Request heads over this size are refused (431), and a head or body that has
# not arrived within the timeout is 408 (web.http_protocol, .request_limits).
EXCHANGE_MAX_HEADER_BYTES = env_int("EXCHANGE_MAX_HEADER_BYTES", 16 * 1024, minimum=1024)
EXCHANGE_REQUEST_TIMEOUT = env_float("EXCHANGE_REQUEST_TIMEOUT", 10.0, minimum=0.1)
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", default=False)
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0, minimum=0)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# `check --deploy` warnings that a self-hosted exchange behind a TLS proxy
# decides per deployment; each has its own environment variable above.
SILENCED_SYSTEM_CHECKS = env_list(
    "DJANGO_SILENCED_CHECKS", "security.W004,security.W008" if not DEBUG else ""
)

# --- Event streams (django-eventstream) -------------------------------------------
# Stored events make every stream resumable with Last-Event-ID.
EVENTSTREAM_STORAGE_CLASS = "django_eventstream.storage.DjangoModelStorage"
# An account's private channel is readable by its owner only (market.channels).
EVENTSTREAM_CHANNELMANAGER_CLASS = "market.channels.ExchangeChannelManager"
EVENTSTREAM_ALLOW_ORIGINS = env_list("EXCHANGE_CORS_ORIGINS")
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    import redis

    _redis_kwargs = redis.connection.parse_url(REDIS_URL)
    EVENTSTREAM_REDIS = {
        key: _redis_kwargs[key] for key in ("host", "port", "db", "password") if key in _redis_kwargs
    }
    # One cache for every process, so per-token rate limits hold across workers.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
GRIP_URL = env_str("GRIP_URL")
if GRIP_URL:
    MIDDLEWARE.insert(0, "django_grip.GripMiddleware")
# Limits that protect the venue (streams.admission): open SSE streams per serving
# process and per client (its token, else its IP address); 0 lifts a limit.
EXCHANGE_STREAMS_MAX = env_int("EXCHANGE_STREAMS_MAX", 5000, minimum=0)
EXCHANGE_STREAMS_PER_CLIENT = env_int("EXCHANGE_STREAMS_PER_CLIENT", 200, minimum=0)
# Threads (and so database connections) shared by every open stream of a process.
EXCHANGE_STREAM_THREADS = env_int("EXCHANGE_STREAM_THREADS", 4, minimum=1)
# Kept threads for the other requests, one per request at a time (web.request_lanes); a
# request beyond them gets a thread of its own, as Django does by default.
EXCHANGE_REQUEST_THREADS = env_int("EXCHANGE_REQUEST_THREADS", 16, minimum=0)

# --- The exchange --------------------------------------------------------------
EXCHANGE_SEED = env_str("EXCHANGE_SEED") or None
EXCHANGE_TICK_INTERVAL = env_float("EXCHANGE_TICK_INTERVAL", 1.0, minimum=0.001)
EXCHANGE_MAX_STEP = env_int("EXCHANGE_MAX_STEP", 10, minimum=0)
EXCHANGE_REVERSAL_PROBABILITY = env_float("EXCHANGE_REVERSAL_PROBABILITY", 0.15, minimum=0.0)
EXCHANGE_PRICE_FLOOR = env_decimal("EXCHANGE_PRICE_FLOOR", "1.00", minimum=Decimal("0.01"))
# "absolute": steps of up to EXCHANGE_MAX_STEP units (the original walk); "relative":
# up to EXCHANGE_MAX_STEP_BPS basis points of the price. Checked in sources/checks.py.
EXCHANGE_STEP_MODE = env_str("EXCHANGE_STEP_MODE", "absolute")
EXCHANGE_MAX_STEP_BPS = env_int("EXCHANGE_MAX_STEP_BPS", 10, minimum=0)
# A scenario (manage.py scenario --list) every asset follows from start-up; empty: none.
EXCHANGE_SCENARIO = env_str("EXCHANGE_SCENARIO")
# A secret that lets an operator use /api/admin/ (Authorization: Bearer ...); empty: staff sessions only.
EXCHANGE_OPERATOR_TOKEN = env_str("EXCHANGE_OPERATOR_TOKEN")
# Symbol -> (name, initial price). Defaults leave one unit of every asset
# affordable from the starting cash.
EXCHANGE_ASSETS = {
    "BTC": ("Bitcoin", Decimal("30000.00")),
    "TCSG": ("Tinkoff", Decimal("3000.00")),
    "META": ("Meta", Decimal("500.00")),
}
for _symbol, _price in env_pairs("EXCHANGE_INITIAL_PRICES").items():
    if _symbol not in EXCHANGE_ASSETS:
        raise ImproperlyConfigured(f"EXCHANGE_INITIAL_PRICES names unknown symbol {_symbol!r}")
    EXCHANGE_ASSETS[_symbol] = (EXCHANGE_ASSETS[_symbol][0], Decimal(_price).quantize(Decimal("0.01")))
# Where the market's feed reads each source: symbol -> SSE URL. Missing
# symbols default to the sources served by this same server.
EXCHANGE_SOURCES = env_pairs("EXCHANGE_SOURCES")
# "embedded": the serving process runs the engine (sources and feed) from its
# first request on. "off": web workers of the scaled mode, where
# `manage.py runengine` runs it once. Any other value fails the system checks
# (engine/checks.py).
EXCHANGE_ENGINE = env_str("EXCHANGE_ENGINE", "embedded")
# A price older than this many seconds is stale: orders on it are refused.
EXCHANGE_PRICE_MAX_AGE = env_float("EXCHANGE_PRICE_MAX_AGE", 15.0, minimum=0.1)
# Storage bounds for a server that runs for weeks.
EXCHANGE_HISTORY_KEEP = env_int("EXCHANGE_HISTORY_KEEP", 5000, minimum=10)
EXCHANGE_EVENTS_KEEP = env_int("EXCHANGE_EVENTS_KEEP", 5000, minimum=100)
EXCHANGE_STARTING_CASH = env_decimal("EXCHANGE_STARTING_CASH", "100000.00", minimum=Decimal("0"))
# Where commands keep local state: runbot's tokens (tokens/<database>/<name>, mode 0600).
EXCHANGE_STATE_DIR = Path(env_str("EXCHANGE_STATE_DIR") or BASE_DIR / ".exchange")
# Orders per second per API token (a token bucket holding one second's worth); 0: no limit.
# The book (see README "The book"): the house's quote and depth, fees, open orders per account.
EXCHANGE_SPREAD_BPS = env_int("EXCHANGE_SPREAD_BPS", 0, minimum=0)
# Units the house offers per side per tick; empty: unlimited.
EXCHANGE_HOUSE_DEPTH = (
    env_int("EXCHANGE_HOUSE_DEPTH", 0, minimum=1) if env_str("EXCHANGE_HOUSE_DEPTH").strip() else None
)
EXCHANGE_MAKER_FEE_BPS = env_int("EXCHANGE_MAKER_FEE_BPS", 0, minimum=0)
EXCHANGE_TAKER_FEE_BPS = env_int("EXCHANGE_TAKER_FEE_BPS", 0, minimum=0)
EXCHANGE_MAX_OPEN_ORDERS = env_int("EXCHANGE_MAX_OPEN_ORDERS", 100, minimum=0)
# Seconds between two points of an account's history (its cash and equity after a change).
EXCHANGE_HISTORY_INTERVAL = env_float("EXCHANGE_HISTORY_INTERVAL", 1.0, minimum=0.0)
EXCHANGE_ORDER_RATE = env_float("EXCHANGE_ORDER_RATE", 50.0, minimum=0.0)
# Sign-ups and log-ins (dashboard and admin) per client IP address per minute; 0: no limit.
EXCHANGE_AUTH_RATE = env_int("EXCHANGE_AUTH_RATE", 10, minimum=0)

# --- Logging -------------------------------------------------------------------
LOG_LEVEL = env_str("EXCHANGE_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "readable": {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s", "datefmt": "%H:%M:%S"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "readable"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "streams": {"level": LOG_LEVEL},
        "sources": {"level": LOG_LEVEL},
        "market": {"level": LOG_LEVEL},
        "engine": {"level": LOG_LEVEL},
        "bots": {"level": LOG_LEVEL},
        "exchange": {"level": LOG_LEVEL},
        "django": {"level": "WARNING"},
        "django_eventstream": {"level": "WARNING"},
    },
}

TEST_RUNNER = "exchange_site.test_runner.PytestRunner"
