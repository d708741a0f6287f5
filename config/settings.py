"""One settings file, read from the environment. Every variable is in the README's table."""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from config import env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.string("PORTAL_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env.boolean("DEBUG", False)
# Unset: a random key made once per installation and kept in var/ (never in the repository).
SECRET_KEY = env.optional("SECRET_KEY") or env.local_secret_key(VAR_DIR / "secret_key")
ALLOWED_HOSTS = env.csv("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.csv("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "accounts.admin_site.AuditedAdminConfig",  # django.contrib.admin, every change audited
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "djstripe",
    "djmoney",
    "django_countries",
    "django_filters",
    "axes",
    "accounts",
    "billing.stripe",
    "billing.ui",
    "billing.currencies",
    "billing.catalog",
    "billing.customers",
    "billing.subscriptions",
    "billing.invoices",
    "billing.payments",
    "billing.selfserve",
    "billing.reports",
    "billing.risk",
    "billing.dunning",
    "billing.usage",
    "taxes",
    "explorer",  # django-sql-explorer: the SQL workspace behind billing.sql_reports
    "billing.sql_reports",
    "devtools",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "billing.ui.middleware.ViewerTimezoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out login into the lockout page
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "accounts.context_processors.portal",
                "billing.stripe.context_processors.event_backlog",
                "billing.selfserve.context_processors.billing_alerts",
            ],
        },
    },
]

DATABASE_URL = env.url(
    "DATABASE_URL",
    schemes={"sqlite", "postgres", "postgresql", "pgsql"},
    default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}",
)
# Health checks cost a `SELECT 1` per request; on by choice where connections go stale (proxies).
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env.integer("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=env.boolean("DATABASE_HEALTH_CHECKS", False),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Parameters bound by the server, so repeated statements (the intake's insert) are prepared once.
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = env.boolean(
        "DATABASE_SERVER_SIDE_BINDING", True
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: wait for the writer instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not memory: the tests' Celery worker and live server share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    if DATABASES["default"]["NAME"] != ":memory:" and Path(DATABASES["default"]["NAME"]).parent.is_dir():
        # It holds webhook secrets: this user's only (SQLite gives its -wal/-shm files the same mode).
        env.private_file(Path(DATABASES["default"]["NAME"]))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- SQL reports (billing/sql_reports) --------------------------------------------------------
# Analysts' SQL runs on its own connection, "reports": read-only, time-limited, and on PostgreSQL as a
# role that may SELECT an allow-list of tables only (`manage.py setup_reports_role` creates it).
# REPORTS_DATABASE_URL points it elsewhere, e.g. at a read replica; unset, it is the portal's
# database reached as REPORTS_DATABASE_ROLE.
# Below gunicorn's --timeout (30 s in the Procfile): the page answers with the reason before the worker is killed.
REPORTS_STATEMENT_TIMEOUT_SECONDS = env.integer("REPORTS_STATEMENT_TIMEOUT_SECONDS", 25, minimum=1)
REPORTS_DATABASE_ROLE = env.string("REPORTS_DATABASE_ROLE", "portal_reports_ro")
# PostgreSQL parallel workers one report may use: 0 keeps a report on one core, so it cannot starve the
# webhook intake and the pages of the same server (raise it on a read replica).
REPORTS_PARALLEL_WORKERS = env.integer("REPORTS_PARALLEL_WORKERS", 0, minimum=0)
# Reports running at once on the reports database (each holds a core of it); a run waits this long
# for a slot (a page: below gunicorn's timeout with the statement timeout; a scheduled report: longer,
# and beat tries again at its next tick), then is refused with the reason. 0: no limit.
REPORTS_MAX_RUNNING = env.integer("REPORTS_MAX_RUNNING", 2, minimum=0)
REPORTS_SLOT_WAIT_SECONDS = env.integer("REPORTS_SLOT_WAIT_SECONDS", 3, minimum=0)
REPORTS_SCHEDULED_SLOT_WAIT_SECONDS = env.integer("REPORTS_SCHEDULED_SLOT_WAIT_SECONDS", 120, minimum=0)
# Memory a report's sorts and hashes may use before spilling to disk (disk writes slow the intake's commits).
REPORTS_WORK_MEM_MB = env.integer("REPORTS_WORK_MEM_MB", 32, minimum=1)
_reports_url = env.url("REPORTS_DATABASE_URL", schemes={"sqlite", "postgres", "postgresql", "pgsql"})
if _reports_url:
    _reports = dj_database_url.parse(_reports_url, conn_max_age=0)
else:
    _reports = {**DATABASES["default"], "OPTIONS": {}, "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False}
    if _reports["ENGINE"] == "django.db.backends.postgresql":
        _reports["USER"] = REPORTS_DATABASE_ROLE
        _reports["PASSWORD"] = env.optional("REPORTS_DATABASE_PASSWORD") or ""
if _reports["ENGINE"] == "django.db.backends.postgresql":
    # Also set on the role itself; here too, so a replica reached as another role is no less safe.
    _reports["OPTIONS"] = {
        "options": f"-c default_transaction_read_only=on -c statement_timeout={REPORTS_STATEMENT_TIMEOUT_SECONDS}s "
        f"-c max_parallel_workers_per_gather={REPORTS_PARALLEL_WORKERS} -c work_mem={REPORTS_WORK_MEM_MB}MB",
    }
else:
    # SQLite: the same file, but a connection that refuses every write (and DEFERRED: reading takes no lock).
    _reports["OPTIONS"] = {"timeout": 20, "transaction_mode": "DEFERRED", "init_command": "PRAGMA query_only=ON;"}
_reports["TEST"] = {"MIRROR": "default"}
DATABASES["reports"] = _reports
DATABASE_ROUTERS = ["billing.sql_reports.router.ReportsRouter"]
REPORTS_DATABASE_ALIAS = "reports"
# django-sql-explorer: our database alias only, no AI assistant, no user connections or uploads, no
# telemetry; permissions from accounts.access (billing/sql_reports/permissions.py).
EXPLORER_CONNECTIONS = {"Reports (read-only)": "reports"}
EXPLORER_DEFAULT_CONNECTION = "reports"
EXPLORER_ENABLE_ANONYMOUS_STATS = False
EXPLORER_AI_API_KEY = None
EXPLORER_DB_CONNECTIONS_ENABLED = False
EXPLORER_USER_UPLOADS_ENABLED = False
EXPLORER_TASKS_ENABLED = False
EXPLORER_CHARTS_ENABLED = False  # our chart (Chart.js, vendored) replaces its matplotlib one
EXPLORER_TOKEN_AUTH_ENABLED = False
EXPLORER_AUTORUN_QUERY_WITH_PARAMS = True  # support runs the library by opening it (they cannot POST)
EXPLORER_DEFAULT_ROWS = 1000
EXPLORER_DATA_EXPORTERS = [
    ("csv", "explorer.exporters.CSVExporter"),
    ("excel", "explorer.exporters.ExcelExporter"),
]
EXPLORER_SCHEMA_INCLUDE_TABLE_PREFIXES = (
    "djstripe_",
    "accounts_organisation",
    "accounts_membership",
    "billing_",
    "taxes_",
)


def _explorer_permission(kind: str):
    def check(request) -> bool:
        from billing.sql_reports.permissions import allowed

        return allowed(request, kind)

    return check


EXPLORER_PERMISSION_VIEW = _explorer_permission("view")
EXPLORER_PERMISSION_CHANGE = _explorer_permission("change")
EXPLORER_PERMISSION_CONNECTIONS = _explorer_permission("connections")
EXPLORER_NO_PERMISSION_VIEW = "billing.sql_reports.permissions.refused"
if env.boolean("PORTAL_SCHEMA_WITHOUT_MIGRATIONS", False):
    # Benchmarks build a throwaway schema straight from the models (`migrate --run-syncdb`),
    # as the test suite does, instead of replaying dj-stripe's minute of migrations.
    MIGRATION_MODULES = {
        label: None
        for label in (
            "djstripe",
            "accounts",
            "billing_stripe",
            "auth",
            "admin",
            "contenttypes",
            "sessions",
            "djmoney",
            "taxes",
            "billing_risk",
            "billing_dunning",
            "billing_usage",  # its events table is partitioned after syncdb (billing/usage/schema.py)
            "billing_customers",  # their migrations name accounts' migrations
            "billing_subscriptions",
        )
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one username from
# one address, that pair is locked out for LOGIN_COOLOFF_MINUTES (its attempts are in the database,
# shared by every web process; a successful login or a password reset clears them).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.integer("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env.integer("LOGIN_COOLOFF_MINUTES", 15, minimum=1) / 60  # hours, as a float
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_VERBOSE = False  # no banner on every start-up; lockouts are still logged (WARNING)

# Mail (password resets): printed to the console unless EMAIL_URL names an SMTP server.
_email = env.email("EMAIL_URL")
EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT = _email["backend"], _email["host"], _email["port"]
EMAIL_HOST_USER, EMAIL_HOST_PASSWORD = _email["user"], _email["password"]
EMAIL_USE_TLS, EMAIL_USE_SSL = _email["use_tls"], _email["use_ssl"]
if "file_path" in _email:
    EMAIL_FILE_PATH = _email["file_path"]
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "Billing portal <billing-portal@localhost>")
# What customers invoiced on terms (net 30) are told to pay by transfer: the company's receiving account.
BANK_TRANSFER_INSTRUCTIONS = env.string(
    "BANK_TRANSFER_INSTRUCTIONS",
    "Pay by bank transfer to Billing Portal Inc., Example Bank N.A., account 000123456789, routing 110000000 "
    "(SWIFT EXAMUS33), quoting the invoice number as the reference.",
)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.optional("STATIC_ROOT")  # set it to run collectstatic; unset, files come from static/
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- Redis, cache, Celery -------------------------------------------------------------------
REDIS_URL = env.url("REDIS_URL", schemes={"redis", "rediss", "unix"})
# How long a finance list's rendered results may be reused (billing/ui/listcache.py): every write
# the portal sees moves them at once; this bounds only writes it cannot see (SQL by hand). Lists
# are cached only in a cache every process shares (Redis); without one, never.
LIST_CACHE_SECONDS = env.integer("LIST_CACHE_SECONDS", 60, minimum=0) if REDIS_URL else 0
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"visibility_timeout": 3600}
    if env.optional("CELERY_KEY_PREFIX"):  # several portals (or a benchmark) on one Redis
        CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = env.optional("CELERY_KEY_PREFIX")
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # A broker that needs no server: messages are files in var/celery, shared by web, worker and beat.
    _queue_dir = VAR_DIR / "celery" / "queue"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    (VAR_DIR / "celery" / "processed").mkdir(parents=True, exist_ok=True)
    (VAR_DIR / "celery" / "control").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "config.files_broker:Transport"  # kombu's, with messages renamed into place
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
        "polling_interval": 0.2,
    }
CELERY_TASK_ALWAYS_EAGER = env.boolean("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
# Queues by the kind of work, so one kind cannot hold up another (a worker per class in the Procfile):
#   events  - applying Stripe events to the mirror and the reactions to them (latency matters)
#   stripe  - writes toward Stripe that go through the shared rate limiter (dunning, launches)
#   reports - long reads: reconciliation, retention, scheduled reports
#   default - anything else
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "billing.stripe.tasks.process_event": {"queue": "events"},
    "billing.stripe.tasks.drain_events": {"queue": "events"},
    "billing.stripe.tasks.retry_failed_events": {"queue": "events"},
    "billing.stripe.tasks.requeue_stale_received": {"queue": "events"},
    "billing.stripe.tasks.reconcile_mirror": {"queue": "reports"},
    "billing.stripe.tasks.prune_events": {"queue": "reports"},
    "billing.stripe.tasks.repair_drift": {"queue": "reports"},
    "billing.invoices.tasks.*": {"queue": "stripe"},
    "billing.reports.tasks.*": {"queue": "reports"},
    "billing.sql_reports.tasks.*": {"queue": "reports"},
    "billing.risk.tasks.execute_decision": {"queue": "stripe"},
    "billing.risk.tasks.apply_warning_policy": {"queue": "stripe"},
    "billing.risk.tasks.sync_block_lists": {"queue": "stripe"},
    "billing.dunning.tasks.sweep": {"queue": "default"},
    "billing.dunning.tasks.send_email": {"queue": "default"},
    "billing.dunning.tasks.*": {"queue": "stripe"},
    "billing.usage.tasks.report_usage": {"queue": "stripe"},
    "billing.usage.tasks.flush_invoice": {"queue": "stripe"},
    "billing.usage.tasks.fair_billing": {"queue": "stripe"},
    "billing.usage.tasks.send_corrections": {"queue": "stripe"},
    "billing.usage.tasks.reconcile_usage": {"queue": "reports"},
    "billing.usage.tasks.maintain_partitions": {"queue": "reports"},
    "billing.currencies.tasks.*": {"queue": "stripe"},
    "taxes.tasks.*": {"queue": "stripe"},
}
CELERY_QUEUES_ALL = "events,stripe,reports,default"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULER = "config.celery:PortalScheduler"  # makes PORTAL_VAR_DIR if it is missing
CELERY_BEAT_SCHEDULE: dict = {
    "retry-failed-events": {"task": "billing.stripe.tasks.retry_failed_events", "schedule": 60.0},
    "requeue-stale-received": {"task": "billing.stripe.tasks.requeue_stale_received", "schedule": 30.0},
    "reconcile-mirror": {"task": "billing.stripe.tasks.reconcile_mirror", "schedule": 6 * 3600.0},
    "prune-events": {"task": "billing.stripe.tasks.prune_events", "schedule": 3600.0},
    "check-ledger": {"task": "billing.reports.tasks.check_ledger", "schedule": 6 * 3600.0},
    "dispute-reminders": {"task": "billing.risk.tasks.send_dispute_reminders", "schedule": 3600.0},
    "block-list-sync": {"task": "billing.risk.tasks.sync_block_lists", "schedule": 300.0},
    "dunning-sweep": {
        "task": "billing.dunning.tasks.sweep",
        "schedule": float(env.integer("DUNNING_SWEEP_SECONDS", 60, minimum=1)),
    },
    "usage-report": {"task": "billing.usage.tasks.report_usage", "schedule": 60.0},
    "usage-fair-billing": {"task": "billing.usage.tasks.fair_billing", "schedule": 3600.0},
    "usage-reconcile": {"task": "billing.usage.tasks.reconcile_usage", "schedule": 24 * 3600.0},
    "usage-partitions": {"task": "billing.usage.tasks.maintain_partitions", "schedule": 6 * 3600.0},
    "resume-currency-launches": {"task": "billing.currencies.tasks.resume_launches", "schedule": 30.0},
    "sql-report-schedules": {"task": "billing.sql_reports.tasks.send_due_schedules", "schedule": 300.0},
}
# Applied events are kept this long (Stripe keeps 30 days); failed and dead ones until dealt with.
STRIPE_EVENT_RETENTION_DAYS = env.integer("STRIPE_EVENT_RETENTION_DAYS", 30, minimum=1)

# --- Dunning ------------------------------------------------------------------------------
# An attempt claimed by a worker that then died is handed back after this long (its next call
# carries the same idempotency key, so Stripe replays instead of charging again).
DUNNING_ATTEMPT_LEASE_SECONDS = env.integer("DUNNING_ATTEMPT_LEASE_SECONDS", 120, minimum=1)
# --- Usage-based billing (billing/usage) ---------------------------------------------------
USAGE_MAX_BATCH_EVENTS = 1000  # per POST /api/usage/events, as the API's schema says
USAGE_MAX_BATCH_BYTES = env.integer("USAGE_MAX_BATCH_BYTES", 1_048_576, minimum=1024)
USAGE_RATE_PER_ORG = env.integer("USAGE_RATE_PER_ORG", 20_000, minimum=1)  # events/s per organisation
USAGE_RATE_BURST_SECONDS = env.integer("USAGE_RATE_BURST_SECONDS", 2, minimum=1)
USAGE_LATENESS_DAYS = env.integer("USAGE_LATENESS_DAYS", 35, minimum=1)  # Stripe takes meter events 35 days back
USAGE_FUTURE_SECONDS = env.integer("USAGE_FUTURE_SECONDS", 300, minimum=0)  # and 5 minutes ahead
USAGE_PARTITION_DAYS_AHEAD = env.integer("USAGE_PARTITION_DAYS_AHEAD", 7, minimum=1)
USAGE_RETENTION_DAYS = env.integer("USAGE_RETENTION_DAYS", 400, minimum=60)
USAGE_ANOMALY_FACTOR = env.integer("USAGE_ANOMALY_FACTOR", 3, minimum=2)

# --- Reports -------------------------------------------------------------------------------
PORTAL_REPORTING_CURRENCY = env.string("PORTAL_REPORTING_CURRENCY", "usd").lower()
# Voids, write-offs and credit notes at or above this (in the reporting currency's major units)
# wait for a second finance admin.
PORTAL_APPROVAL_THRESHOLD = env.money_minor("PORTAL_APPROVAL_THRESHOLD", "1000", PORTAL_REPORTING_CURRENCY)

# --- Risk -----------------------------------------------------------------------------------
# Who gets the dispute reminders (7, 3 and 1 days before evidence is due); unset: every finance admin.
PORTAL_RISK_EMAILS = env.csv("PORTAL_RISK_EMAILS", [])
# --- Taxes ------------------------------------------------------------------------------------------
# Check EU VAT numbers in VIES and UK ones at HMRC when finance saves a tax status (off: offline,
# and the result is said to be skipped, never assumed valid).
PORTAL_TAX_ID_ONLINE_CHECK = env.boolean("PORTAL_TAX_ID_ONLINE_CHECK", False)
# --- Currency launches (billing/currencies) ----------------------------------------------------
# A launch's price book is built only from FX rates at most this many days old.
PORTAL_FX_MAX_AGE_DAYS = env.integer("PORTAL_FX_MAX_AGE_DAYS", 7, minimum=1)
# The launch job: prices per Celery task, tasks working at once, the first pause after Stripe stops
# answering (doubling, at most 10 minutes).
CURRENCY_LAUNCH_CHUNK_SIZE = env.integer("CURRENCY_LAUNCH_CHUNK_SIZE", 25, minimum=1)
CURRENCY_LAUNCH_WORKERS = env.integer("CURRENCY_LAUNCH_WORKERS", 2, minimum=1)
CURRENCY_LAUNCH_PAUSE_SECONDS = env.integer("CURRENCY_LAUNCH_PAUSE_SECONDS", 30, minimum=1)

# --- Stripe ---------------------------------------------------------------------------------
# Pinned: the gateway, the sandbox, the intake and dj-stripe all use exactly this version.
STRIPE_API_VERSION = "2026-08-26.dahlia"
STRIPE_SECRET_KEY = env.secret_key_shaped("STRIPE_SECRET_KEY", env.optional("STRIPE_SECRET_KEY"), ("sk_", "rk_"))
STRIPE_PUBLISHABLE_KEY = env.secret_key_shaped(
    "STRIPE_PUBLISHABLE_KEY", env.optional("STRIPE_PUBLISHABLE_KEY"), ("pk_",)
)
STRIPE_WEBHOOK_SECRET = env.secret_key_shaped(
    "STRIPE_WEBHOOK_SECRET", env.optional("STRIPE_WEBHOOK_SECRET"), ("whsec_",)
)
STRIPE_SANDBOX_PORT = env.integer("STRIPE_SANDBOX_PORT", 12111, minimum=1)
# No key and no base: the portal runs against the local sandbox, as in `make run` and the tests.
STRIPE_USES_SANDBOX = STRIPE_SECRET_KEY is None
STRIPE_API_BASE = env.url("STRIPE_API_BASE", schemes={"http", "https"}) or (
    f"http://127.0.0.1:{STRIPE_SANDBOX_PORT}" if STRIPE_USES_SANDBOX else "https://api.stripe.com"
)
if STRIPE_USES_SANDBOX:
    # Not secrets: the sandbox takes any test key; these match dj-stripe's key pattern.
    STRIPE_SECRET_KEY = "sk_test_localsandbox0000000000000000"
    STRIPE_PUBLISHABLE_KEY = STRIPE_PUBLISHABLE_KEY or "pk_test_localsandbox0000000000000000"
STRIPE_JS_URL = f"{STRIPE_API_BASE}/v3/stripe.js" if STRIPE_USES_SANDBOX else "https://js.stripe.com/v3/"
STRIPE_LIVE_MODE = STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_"))
# Stripe allows 25 requests/s per endpoint in test mode; we stay at 80% of it by default.
STRIPE_RATE_LIMIT_PER_SECOND = env.integer("STRIPE_RATE_LIMIT_PER_SECOND", 20, minimum=1)
# Tokens the shared bucket may hold: any one-second window then sees at most rate + burst requests.
STRIPE_RATE_LIMIT_BURST = env.integer("STRIPE_RATE_LIMIT_BURST", 1, minimum=1)
STRIPE_MAX_RETRIES = env.integer("STRIPE_MAX_RETRIES", 4, minimum=0)
STRIPE_TIMEOUT_SECONDS = env.integer("STRIPE_TIMEOUT_SECONDS", 30, minimum=1)
# Where Stripe (or the sandbox) posts events; registered through the webhook endpoints API.
PORTAL_BASE_URL = env.url("PORTAL_BASE_URL", schemes={"http", "https"}, default="http://127.0.0.1:8000")
PORTAL_BENCH_VIEWS = env.boolean("PORTAL_BENCH_VIEWS", False)
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env.integer("STRIPE_WEBHOOK_TOLERANCE_SECONDS", 300, minimum=1)

# dj-stripe: we never let it process webhooks or call Stripe on its own.
STRIPE_TEST_SECRET_KEY = "" if STRIPE_LIVE_MODE else STRIPE_SECRET_KEY
STRIPE_LIVE_SECRET_KEY = STRIPE_SECRET_KEY if STRIPE_LIVE_MODE else ""
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
STRIPE_API_HOST = STRIPE_API_BASE  # dj-stripe's own calls (admin, stock handlers) go where ours go
DJSTRIPE_WEBHOOK_VALIDATION = "verify_signature"
DJSTRIPE_USE_NATIVE_JSONFIELD = True
SILENCED_SYSTEM_CHECKS = ["djstripe.I002", "djstripe.W009", "djstripe.W002"]  # W002: API host is ours on purpose

# --- Logging: never SQL (dj-stripe writes API keys through it), never secrets ---------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"refused_request": {"()": "config.errors.RefusedRequestFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.string("LOG_LEVEL", "INFO")},
    "loggers": {
        # Without Django's own handlers (a second console copy with DEBUG on, mail to ADMINS): root logs once.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.request": {"filters": ["refused_request"], "propagate": True},
        "django.db.backends": {"level": "WARNING", "propagate": True},
        "stripe": {"level": "WARNING", "propagate": True},
        "django.server": {"level": env.string("REQUEST_LOG_LEVEL", "WARNING"), "propagate": True},
        "kombu.connection": {"level": "ERROR", "propagate": True},
        "axes": {"level": "WARNING", "propagate": True},  # a line per login otherwise; lockouts still show
    },
}

# `@sensitive_variables` holds with DEBUG on too (Django's filter only acts with DEBUG off).
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.errors.SecretsHiddenFilter"

FORMS_URLFIELD_ASSUME_HTTPS = True
SESSION_COOKIE_HTTPONLY = True
# Signed out after this long without a request (every request renews it).
SESSION_COOKIE_AGE = env.integer("PORTAL_SESSION_IDLE_MINUTES", 30, minimum=1) * 60
SESSION_SAVE_EVERY_REQUEST = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- HTTPS: on wherever DEBUG is off. `make run` serves plain http on 127.0.0.1: PORTAL_HTTPS=false.
PORTAL_HTTPS = env.boolean("PORTAL_HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", PORTAL_HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^health/$"]  # load balancers probe the web processes over plain http
SESSION_COOKIE_SECURE = env.boolean("SESSION_COOKIE_SECURE", PORTAL_HTTPS)
CSRF_COOKIE_SECURE = env.boolean("CSRF_COOKIE_SECURE", PORTAL_HTTPS)
SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 31_536_000 if PORTAL_HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.boolean("SECURE_HSTS_INCLUDE_SUBDOMAINS", PORTAL_HTTPS)
SECURE_HSTS_PRELOAD = env.boolean("SECURE_HSTS_PRELOAD", PORTAL_HTTPS)
# The header by which the TLS-terminating proxy says a request came over https (`none`: no proxy).
_proxy_header = env.string("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto" if PORTAL_HTTPS else "none")
SECURE_PROXY_SSL_HEADER = (
    None if _proxy_header.lower() == "none" else ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https")
)
