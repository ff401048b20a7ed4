"""Django settings for the casino project.

12-factor: everything that differs between machines comes from the environment.
PostgreSQL is the only supported database (the app uses row-level features,
partial unique indexes and exclusion constraints).
"""

import os
import sys
from pathlib import Path

import dj_database_url
from csp.constants import NONCE

from casino.env import env_bool, env_decimal, env_int, env_list

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("SECRET_KEY", "dev-insecure-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "axes",
    "core",
    "accounts",
    "casino",
    "promotions",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "core.middleware.HostileInputMiddleware",
    "core.middleware.DatabaseRoutingMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "core.middleware.HtmxMessagesMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "casino.urls"
CSRF_FAILURE_VIEW = "core.views.csrf_failure"  # the site's own page (templates/403_csrf.html), not Django's
WSGI_APPLICATION = "casino.wsgi.application"

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
                "csp.context_processors.nonce",
                "accounts.context_processors.header",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

# Persistent connections (issue 14): a web thread keeps its PostgreSQL connection for
# CONN_MAX_AGE seconds instead of opening one per request; health checks drop a
# connection that died in between (a restarted server) before a request uses it.
#
# The database tier (issue 20), chosen by environment:
# - DATABASE_URL: the app's connection: PostgreSQL itself, or PgBouncer in transaction pooling.
# - DIRECT_DATABASE_URL: straight to the primary. Setting it says DATABASE_URL is a transaction
#   pooler: no server-side cursors (a cursor cannot outlive the transaction that pinned its server
#   connection) and no prepared statements (PgBouncer 1.18, Debian 12's, does not track them;
#   psycopg would prepare a query after 5 runs). Alias "direct" is this connection, used for a
#   session-level advisory lock; schema commands (migrate...) run their default alias on it.
# - REPLICA_DATABASE_URL: a streaming read replica, alias "replica". core.db_router sends the reads
#   marked replica-safe there, and everything else to the primary. Without it, one database.
DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/casino")
DIRECT_DATABASE_URL = os.environ.get("DIRECT_DATABASE_URL", "")
REPLICA_DATABASE_URL = os.environ.get("REPLICA_DATABASE_URL", "")
SCHEMA_COMMANDS = {"migrate", "makemigrations", "sqlmigrate", "showmigrations", "flush", "dbshell"}


def _database(url: str, **extra) -> dict:
    config = dj_database_url.parse(url, conn_max_age=env_int("CONN_MAX_AGE", 300), conn_health_checks=True)
    config.setdefault("OPTIONS", {})
    config.update(extra)
    if not config["ENGINE"].endswith("postgresql"):
        raise RuntimeError("PostgreSQL is the only supported database (DATABASE_URL).")
    return config


_command = sys.argv[1] if len(sys.argv) > 1 and sys.argv[0].endswith("manage.py") else ""
if DIRECT_DATABASE_URL and _command not in SCHEMA_COMMANDS:
    DATABASES = {"default": _database(DATABASE_URL, DISABLE_SERVER_SIDE_CURSORS=True)}
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = None
else:
    DATABASES = {"default": _database(DIRECT_DATABASE_URL or DATABASE_URL)}
DATABASES["default"]["TEST"] = {"NAME": "test_" + DATABASES["default"]["NAME"]}
DATABASES["direct"] = _database(DIRECT_DATABASE_URL or DATABASE_URL)
DATABASES["replica"] = _database(REPLICA_DATABASE_URL or DATABASE_URL)
for _alias in ("direct", "replica"):  # the test database exists once, on the primary
    DATABASES[_alias]["TEST"] = {"MIRROR": "default"}
# Session-level state (an advisory lock held across transactions) needs a connection of its own:
SESSION_LOCK_ALIAS = "direct" if DIRECT_DATABASE_URL else "default"
DATABASE_ROUTERS = ["core.db_router.PrimaryReplicaRouter"]
READ_REPLICAS = ["replica"] if REPLICA_DATABASE_URL else []
# Read-your-writes: a browser that wrote (any unsafe method) reads from the primary this long.
REPLICA_PIN_SECONDS = env_int("REPLICA_PIN_SECONDS", 5)
# A replica further behind than this (seconds of WAL not yet replayed) is not used.
REPLICA_MAX_LAG_SECONDS = env_int("REPLICA_MAX_LAG_SECONDS", 2)
# How often a process re-checks the replica (its state is cached in between), and how long a
# replica that failed stays out of use.
REPLICA_CHECK_SECONDS = env_int("REPLICA_CHECK_SECONDS", 1)
REPLICA_RETRY_SECONDS = env_int("REPLICA_RETRY_SECONDS", 5)
# The read-only pages whose reads may go to the replica (URL names; fnmatch patterns).
REPLICA_READ_VIEWS = [
    "statement",
    "session_history",
    "my_bets",
    "session_verify",
    "session_statement",
    "admin:*_changelist",
    "admin:reports_dailyfigure_report",
]
REPLICA_CONNECT_TIMEOUT = env_int("REPLICA_CONNECT_TIMEOUT", 1)
DATABASES["replica"]["OPTIONS"]["connect_timeout"] = REPLICA_CONNECT_TIMEOUT

# Partitioned history (issue 20): the tables partitioned by month and their key column;
# core.tasks.ensure_partitions keeps this many months ahead.
PARTITIONED_TABLES = {"accounts_ledgerentry": "created_at", "casino_spin": "session_month"}
PARTITION_MONTHS_AHEAD = env_int("PARTITION_MONTHS_AHEAD", 3)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "lobby"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve from the finders too, so tests and runserver need no collectstatic; production collects.
WHITENOISE_USE_FINDERS = True

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# --- Security (the production module tightens these further) ---------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True

# django-csp 4: htmx 2 works without inline script; our own inline bits carry a nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# django-axes: lock a username+IP pair out after repeated failures.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_ENABLED = env_bool("AXES_ENABLED", True)
# axes stores the attempted username in a 255-character column: a longer one would be a
# database error (a 500). Usernames are at most 150 characters anyway.
AXES_USERNAME_CALLABLE = "core.auth.attempted_username"

# --- Redis and Celery -------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_RESULT_EXPIRES = 3600
# With acks_late on Redis, an unacked message is redelivered after the visibility
# timeout. Payout tasks finish in well under a second, so 5 minutes is a deliberate
# bound on how long a crashed worker can delay a payout (the beat sweep re-enqueues
# from the database anyway, so even a lost message loses no money).
# How often a worker looks for such abandoned (unacked, past the timeout) messages:
# every interval x throttle seconds (kombu's defaults, 10 x 10); tests lower both.
# Each look holds a mutex key in Redis; a worker killed while holding it leaves it locked
# until it expires (kombu's default, 300 s), and until then no worker restores anything.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 300),
    "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_INTERVAL", 10),
    "unacked_restore_throttle": env_int("CELERY_UNACKED_RESTORE_THROTTLE", 10),
    "unacked_mutex_expire": env_int("CELERY_UNACKED_MUTEX_EXPIRE", 300),
}
CELERY_TASK_ROUTES = {
    "casino.tasks.pay_out_player": {"queue": "payouts"},
    "casino.tasks.sweep_payouts": {"queue": "payouts"},
}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BEAT_SCHEDULE = {
    "sweep-payouts": {"task": "casino.tasks.sweep_payouts", "schedule": env_int("PAYOUT_SWEEP_SECONDS", 60)},
    "close-idle-sessions": {"task": "casino.tasks.close_idle_sessions", "schedule": 60.0},
    "archive-expired-promotions": {"task": "promotions.tasks.archive_expired_promotions", "schedule": 300.0},
    "expire-bonus-grants": {"task": "promotions.tasks.expire_bonus_grants", "schedule": 300.0},
    "roll-up-reports": {"task": "reports.tasks.roll_up", "schedule": 600.0},
    "ensure-partitions": {"task": "core.tasks.ensure_partitions", "schedule": 6 * 3600.0},
}

# --- Domain settings ---------------------------------------------------------
MAX_TRANSACTION_AMOUNT = env_decimal("MAX_TRANSACTION_AMOUNT", "100000.00")
CONFLICT_RETRY_ATTEMPTS = env_int("CONFLICT_RETRY_ATTEMPTS", 10)
# Bonus wagering at most this multiple of the bonus (issue 16); the regulator's cap, 10, is
# also the most this setting can give (promotions.services.bonus and the database refuse more).
BONUS_MAX_WAGERING_MULTIPLE = min(env_int("BONUS_MAX_WAGERING_MULTIPLE", 10), 10)
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 15)
# Sportsbook depth (issue 18). Early cash-out offer = stake x placed odds / current odds x
# (1 - margin). Accumulators: 2..max legs, their combined price capped. A selection's
# liability counter is split over this many shards (casino.services.liability).
SPORTSBOOK_CASH_OUT_MARGIN = env_decimal("SPORTSBOOK_CASH_OUT_MARGIN", "0.05")
ACCUMULATOR_MAX_LEGS = env_int("ACCUMULATOR_MAX_LEGS", 10)
ACCUMULATOR_MAX_ODDS = env_decimal("ACCUMULATOR_MAX_ODDS", "10000.00")
SPORTSBOOK_LIABILITY_SHARDS = env_int("SPORTSBOOK_LIABILITY_SHARDS", 8)
# The one currency every amount is in, shown with Babel in the players' locale
# (core.money.format_money, the |money template filter): an ISO 4217 code and a CLDR locale.
CURRENCY = os.environ.get("CURRENCY", "EUR")
MONEY_LOCALE = os.environ.get("MONEY_LOCALE", "en_IE")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"casino": {"level": "INFO"}, "accounts": {"level": "INFO"}, "promotions": {"level": "INFO"}},
}
