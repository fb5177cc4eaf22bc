"""Settings for every environment, read from the environment (CONTRACT §12).

Development needs no variables at all. With DEBUG off (production), the starred variables of the contract
(DATABASE_URL, REDIS_URL, SECRET_KEY) are required and start-up refuses to go on without them.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import dj_database_url
from csp import constants as csp_constants
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent


_TRUE_WORDS = ("1", "true", "yes", "on")
_FALSE_WORDS = ("0", "false", "no", "off")


def env_bool(name: str, default: bool) -> bool:
    """Read a yes/no variable: 1/0, true/false, yes/no, on/off, in any case; unset gives `default`.

    Anything else stops start-up, an empty value too: a typo such as DEBUG=flase must not quietly mean "off",
    and an empty DEBUG (a template variable left blank) must not quietly mean its default, "on".
    """
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE_WORDS:
        return True
    if value in _FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a yes/no value: use one of {', '.join(_TRUE_WORDS)} (on) or "
        f"{', '.join(_FALSE_WORDS)} (off), in any case, or unset it for the default ({'on' if default else 'off'})."
    )


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

_REQUIRED_IN_PRODUCTION = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")
if not DEBUG:
    missing = [name for name in _REQUIRED_IN_PRODUCTION if not os.environ.get(name)]
    if missing:
        raise ImproperlyConfigured(f"Production settings need these environment variables: {', '.join(missing)}")

SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef")
# Encrypts the workspaces' credentials at rest (penguinflow.workspaces.credentials); empty: derived from
# SECRET_KEY. Changing it (or SECRET_KEY without it) makes the stored credentials unreadable: enter them again.
CREDENTIALS_KEY = os.environ.get("CREDENTIALS_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_rq",
    "channels",
    "anymail",
    "penguinflow.workspaces",
    "contacts",
    "campaigns",
    "templates",
    "tasks",
    "sms",  # SMS: outbox, delivery through SMS_URL, the provider's callbacks (CONTRACT §13)
    "events",
    "workflows",
    "webhooks",  # outbound webhook subscriptions and their deliveries (CONTRACT §14)
    "marketplace",  # workflow templates: the shipped catalogue, shared and community templates (CONTRACT §15)
    "predictions",  # predictive scores: features, training, backtests, scoring (CONTRACT §16)
    "connectors",  # CRM and social accounts the workflow steps act on (CONTRACT §18)
    "push",  # web push: VAPID keys, browsers' subscriptions, the push outbox (CONTRACT §13)
    "builder",  # the visual builder: serves the single-page app of frontend/
    "bench",  # `manage.py bench` (no models)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "penguinflow.common.csp.DocumentCSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "penguinflow.common.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication (a session's user owns its keys), outside any view's transaction (claims commit first).
    "penguinflow.common.idempotency.IdempotencyMiddleware",
    # Sets the cookie that sends a browser's next reads to the primary after it wrote (penguinflow.common.db_router).
    "penguinflow.common.db_router.ReadYourWritesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Every HTML page (builder, login, admin, public pages, API docs) may run only our own scripts and styles: an
# injected <script> or inline handler never runs, and an inline <style> needs the response's nonce. WebSockets
# are same-origin ('self' covers ws:/wss: of this host). The API docs' Redoc view widens style-src for itself.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp_constants.SELF],
        "script-src": [csp_constants.SELF, csp_constants.NONCE],
        "style-src": [csp_constants.SELF, csp_constants.NONCE],
        "img-src": [csp_constants.SELF, "data:"],
        "font-src": [csp_constants.SELF, "data:"],
        "connect-src": [csp_constants.SELF],
        "object-src": [csp_constants.NONE],
        "base-uri": [csp_constants.NONE],
        "frame-ancestors": [csp_constants.NONE],
        "form-action": [csp_constants.SELF],
    },
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

ROOT_URLCONF = "penguinflow.urls"
WSGI_APPLICATION = "penguinflow.wsgi.application"
ASGI_APPLICATION = "penguinflow.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "penguinflow" / "html"],
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

# Connections come from psycopg's pool (Django 5.2) by default: under ASGI every sync request runs in a thread
# of its own, and persistent per-thread connections (CONN_MAX_AGE > 0) piled up until PostgreSQL refused clients.
# With the pool a process holds at most DATABASE_POOL_MAX_SIZE connections, and CONN_MAX_AGE must be 0.
# DATABASE_POOL=0 goes back to per-thread connections kept DATABASE_CONN_MAX_AGE seconds.
DATABASE_POOL = env_bool("DATABASE_POOL", True)


def _database(variable: str, url: str) -> dict:
    database = dj_database_url.parse(
        url,
        conn_max_age=0 if DATABASE_POOL else int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        # With the pool this makes it check each connection it hands out (an empty query): one PostgreSQL dropped
        # while idle (a restart, a failover, pg_terminate_backend) is replaced, not handed to a request or a job.
        conn_health_checks=True,
    )
    if not database["ENGINE"].endswith("postgresql"):
        raise ImproperlyConfigured(f"PenguinFlow runs on PostgreSQL only: {variable} must be postgres://...")
    # Hot paths run a few statements thousands of times through `penguinflow.common.db.prepared_cursor`, prepared
    # once per connection. Django's own cursors bind on the client and never prepare, so this changes nothing else.
    # Behind a transaction-mode pgbouncer (which cannot keep prepared statements) set DATABASE_PREPARED_STATEMENTS=0.
    if env_bool("DATABASE_PREPARED_STATEMENTS", True):
        database.setdefault("OPTIONS", {})["prepare_threshold"] = 5
    if DATABASE_POOL:
        database.setdefault("OPTIONS", {})["pool"] = {
            "min_size": int(os.environ.get("DATABASE_POOL_MIN_SIZE", "1")),
            "max_size": int(os.environ.get("DATABASE_POOL_MAX_SIZE", "8")),
            # Seconds a request waits for a free connection before it fails (psycopg_pool.PoolTimeout).
            "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "10")),
        }
    return database


DATABASES = {
    "default": _database("DATABASE_URL", os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/penguinflow"))
}
# A streaming replica of it (docs/scaling.md): only the read-only screens (execution history, analytics, the CSV
# export) read there, through penguinflow.common.db_router; unset, everything stays on "default".
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = {**_database("DATABASE_REPLICA_URL", DATABASE_REPLICA_URL), "TEST": {"MIRROR": "default"}}
DATABASE_ROUTERS = ["penguinflow.common.db_router.ReplicaRouter"]
# Seconds the replica may be behind before those screens read the primary instead.
DATABASE_REPLICA_MAX_LAG = float(os.environ.get("DATABASE_REPLICA_MAX_LAG", "10"))
# Seconds a browser reads from the primary after it changed something (a retry, a bulk cancel): it sees its change.
READ_YOUR_WRITES_SECONDS = int(os.environ.get("READ_YOUR_WRITES_SECONDS", "15"))

# `POST /api/v1/events` under ASGI is served by events.fastpath in front of Django (EVENTS_FASTPATH=0: by Django),
# with its own async pool of at most this many connections per server process, on top of the pool above.
EVENTS_FASTPATH = env_bool("EVENTS_FASTPATH", True)
EVENTS_FASTPATH_CLASS = "events.fastpath.EventsFastPath"  # an ASGI app class taking the app it stands in front of
# The websocket routes (the history screens' live updates), named here as the project package imports no app.
WEBSOCKET_URLPATTERNS = "workflows.routing.websocket_urlpatterns"
# How committed changes reach the Channels groups: "thread" (a background publisher per process, so the runtime
# never waits on Redis) or "inline" (from the committing thread; the tests). LIVE_UPDATES=0 turns them off.
LIVE_UPDATES_PUBLISH = os.environ.get("LIVE_UPDATES_PUBLISH", "thread")
LIVE_UPDATES_ENABLED = os.environ.get("LIVE_UPDATES", "1") != "0"
# Caps on those websockets per user (workflows/socket_limits.py): sockets open at once across processes (a few
# tabs of screens need a handful), and frames a client may send a minute (clients only listen).
LIVE_MAX_SOCKETS_PER_USER = int(os.environ.get("LIVE_MAX_SOCKETS_PER_USER", "20"))
LIVE_MAX_CLIENT_FRAMES_PER_MINUTE = int(os.environ.get("LIVE_MAX_CLIENT_FRAMES_PER_MINUTE", "60"))
EVENTS_FASTPATH_POOL_MIN_SIZE = int(os.environ.get("EVENTS_FASTPATH_POOL_MIN_SIZE", "2"))
EVENTS_FASTPATH_POOL_MAX_SIZE = int(os.environ.get("EVENTS_FASTPATH_POOL_MAX_SIZE", "8"))
# The event dispatcher (`manage.py dispatch_events`) keeps at most this many batches waiting in the `events` RQ
# queue; the rest waits in PostgreSQL and is claimed in bigger batches when workers catch up (0: no limit).
EVENTS_DISPATCH_MAX_QUEUED = int(os.environ.get("EVENTS_DISPATCH_MAX_QUEUED", "2"))
# Seconds an event batch stays claimed by its job before another dispatch may claim it again (events.processing).
EVENTS_LEASE_SECONDS = int(os.environ.get("EVENTS_LEASE_SECONDS", "60"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "pf",
    }
}

RQ_QUEUES = {
    name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600}
    for name in ("default", "events", "engine", "email", "sms", "push", "webhooks")
}
# `manage.py rqworker` without --worker-class: RQ's non-forking worker, which closes a connection PostgreSQL dropped
# between jobs (penguinflow.common.workers).
RQ = {"WORKER_CLASS": "penguinflow.common.workers.Worker"}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL]},
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

LOGIN_URL = "/admin/login/"

# Request bodies: the events endpoint takes up to 5 MiB (CONTRACT §2), everything else 1 MiB.
BODY_SIZE_LIMITS = {"/api/v1/events": 5 * 1024 * 1024}
# Requests a workspace's websites may make to POST /api/v1/track (its public write key) per minute, all pages
# together: a public key must not be able to flood the event table.
TRACKING_RATE_PER_MINUTE = int(os.environ.get("TRACKING_RATE_PER_MINUTE", "60000"))
BODY_SIZE_LIMIT_DEFAULT = 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024

EVENT_RETENTION_DAYS = int(os.environ.get("EVENT_RETENTION_DAYS", "90"))

# The runtime's side of the narrow interface between event processing and the engine (events.gateway).
ENGINE_GATEWAY = os.environ.get("ENGINE_GATEWAY", "workflows.runtime_gateway.RuntimeGateway")
# Where prediction scoring finds the published trigger_prediction nodes it fires (the runtime, above it).
PREDICTION_TRIGGERS_SOURCE = "workflows.prediction_triggers.prediction_triggers_active"
# Overrides of the minimum data requirements of predictive models (predictions.training.Requirements).
PREDICTIONS_REQUIREMENTS: dict = {}
# How long a claimed batch of enrollments belongs to its job; when it runs out (the worker died, Redis lost the
# job) the scheduler claims the batch again.
ENGINE_LEASE_SECONDS = int(os.environ.get("ENGINE_LEASE_SECONDS", "60"))
# A factor on every node type's retry backoff (1: as declared, e.g. a webhook step's 30 s doubling). Tests and
# staging shorten it; a port's Retry-After is honoured whatever the factor.
WORKFLOW_STEP_RETRY_SCALE = float(os.environ.get("WORKFLOW_STEP_RETRY_SCALE", "1"))
# The scheduler keeps at most this many claimed batches waiting in the engine queue (backpressure).
ENGINE_MAX_QUEUED_BATCHES = int(os.environ.get("ENGINE_MAX_QUEUED_BATCHES", "8"))
# Calls a batch of steps makes inline (webhook, http_request; workflows/batch_calls.py): once they took this long
# in all, the batch starts no more and its remaining calling steps wait for the next batch (a batch's job has
# 300 s). A step to an endpoint that gave no answer earlier in the batch waits the pause instead of calling it.
# Neither spends one of the step's attempts.
# 30: with one last call's timeout (at most 30 s) a batch stays within its lease (ENGINE_LEASE_SECONDS, 60).
WORKFLOW_BATCH_CALL_SECONDS = float(os.environ.get("WORKFLOW_BATCH_CALL_SECONDS", "30"))
WORKFLOW_NO_ANSWER_PAUSE_SECONDS = float(os.environ.get("WORKFLOW_NO_ANSWER_PAUSE_SECONDS", "30"))
# Connections that apply one large version migration at once (workflows.version_migration): its work is all in
# PostgreSQL, so each one can keep a core of the database busy. Beyond the database's cores, each more takes a
# larger share of the CPU from the runtime for the migration's length: on 2 cores, with the runtime busy, 1,000,000
# enrollments moved at 19,000/s with 2 and 20,900/s with 3, while the runtime ran 3,300 and 2,700 steps/s meanwhile
# (bench migration, 2026-12-05). A migration is a burst of a minute that a marketer waits for; the steps it delays
# wait seconds.
WORKFLOW_MIGRATION_APPLIERS = max(1, int(os.environ.get("WORKFLOW_MIGRATION_APPLIERS", "3")))
# How often the scheduler sweeps the email outbox (stuck `sending` rows become `unknown`; lost jobs re-enqueued),
# and how long a due `queued` row waits before it counts as lost.
EMAIL_SWEEP_INTERVAL_SECONDS = float(os.environ.get("EMAIL_SWEEP_INTERVAL_SECONDS", "30"))
EMAIL_SWEEP_GRACE_SECONDS = int(os.environ.get("EMAIL_SWEEP_GRACE_SECONDS", "300"))

API_THROTTLE_RATE = os.environ.get("API_THROTTLE_RATE", "200000/min")
# A person's session in the builder (a screen asks for a few requests a second at most).
API_SESSION_THROTTLE_RATE = os.environ.get("API_SESSION_THROTTLE_RATE", "3000/min")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "penguinflow.common.auth.ApiKeyAuthentication",
        "penguinflow.common.auth.WorkspaceSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["penguinflow.common.permissions.WorkspaceRolePermission"],
    "DEFAULT_THROTTLE_CLASSES": ["penguinflow.common.throttling.ApiKeyRateThrottle"],
    # builder_session: password attempts of the builder's in-page login, per client address and user name.
    "DEFAULT_THROTTLE_RATES": {"api_key": API_THROTTLE_RATE, "builder_session": "5/min"},
    "DEFAULT_PAGINATION_CLASS": "penguinflow.common.pagination.CreatedCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["penguinflow.common.filtering.StrictFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "penguinflow.common.schema.AutoSchema",
    "EXCEPTION_HANDLER": "penguinflow.common.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["penguinflow.common.parsers.StorableJSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "PenguinFlow API",
    "DESCRIPTION": "The automation engine of PenguinMails: events, contacts, workflows and their executions.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ContactStatusEnum": "contacts.models.Contact.Status",
        "CampaignStatusEnum": "campaigns.models.Campaign.Status",
        "WorkflowStatusEnum": "workflows.models.Workflow.Status",
        "ExecutionStatusEnum": "workflows.models.Enrollment.Status",
        "StepRunStatusEnum": "workflows.models.StepRun.Status",
        "WebhookStatusEnum": "webhooks.models.WebhookSubscription.Status",
        "WebhookDeliveryStatusEnum": "webhooks.models.WebhookDelivery.Status",
        # The node kinds kept their first name when the timeline's `kind` (event | step) arrived beside them.
        "KindEnum": ["trigger", "logic", "wait", "action"],
        # One name for the channels wherever they are a choice (a contact's preferred channel, a timeline item's).
        "ChannelEnum": ["email", "sms", "push"],
    },
}

# Email (CONTRACT §12); the delivery pipeline reads EMAIL_URL.
def email_settings_from_url(url: str) -> dict:
    """Return Django's EMAIL_* settings for an EMAIL_URL.

    `smtp://user:pass@host:port` (plain, 25), `smtp+tls://...` (STARTTLS, 587), `smtps://...` (implicit TLS, 465),
    `console://`, `locmem://`, or an ESP through django-anymail: `anymail+postmark://` (or `postmark://`, ...),
    whose keys come from the ANYMAIL_* variables. Query options: `timeout`, `ssl_certfile`, `ssl_keyfile`.
    """
    from urllib.parse import parse_qs, unquote, urlsplit

    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme == "locmem":
        return {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    if scheme in {"smtp", "smtp+tls", "smtps", "smtp+ssl"}:
        use_tls, use_ssl = scheme == "smtp+tls", scheme in {"smtps", "smtp+ssl"}
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": parts.hostname or "localhost",
            "EMAIL_PORT": parts.port or (587 if use_tls else 465 if use_ssl else 25),
            "EMAIL_HOST_USER": unquote(parts.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
            "EMAIL_USE_TLS": use_tls,
            "EMAIL_USE_SSL": use_ssl,
            "EMAIL_TIMEOUT": float(options.get("timeout", 30)),
            "EMAIL_SSL_CERTFILE": options.get("ssl_certfile"),
            "EMAIL_SSL_KEYFILE": options.get("ssl_keyfile"),
        }
    esp = scheme.removeprefix("anymail+")
    if esp and esp.replace("_", "").isalnum():
        from importlib.util import find_spec

        # Only an ESP django-anymail has a backend for: a typo fails at start-up, not at the first send.
        if esp not in {"base", "base_requests"} and find_spec(f"anymail.backends.{esp}") is not None:
            return {"EMAIL_BACKEND": f"anymail.backends.{esp}.EmailBackend"}
    raise ImproperlyConfigured(f"EMAIL_URL: unknown scheme '{parts.scheme}' (smtp, smtp+tls, smtps, console, <esp>)")


EMAIL_URL = os.environ.get("EMAIL_URL", "console://")
globals().update(email_settings_from_url(EMAIL_URL))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "PenguinFlow <noreply@penguinmails.test>")
ANYMAIL = {key[len("ANYMAIL_"):]: value for key, value in os.environ.items() if key.startswith("ANYMAIL_")}
# The domain of our Message-ID headers (`<outbox id@domain>`); defaults to DEFAULT_FROM_EMAIL's domain.
EMAIL_MESSAGE_ID_DOMAIN = os.environ.get("EMAIL_MESSAGE_ID_DOMAIN", "")
# The mailto: half of List-Unsubscribe; replies to it are read by the anymail inbound webhook. Empty: HTTPS only
# unless DEFAULT_FROM_EMAIL's domain can be used (`unsubscribe@<domain>`).
EMAIL_UNSUBSCRIBE_MAILTO = os.environ.get("EMAIL_UNSUBSCRIBE_MAILTO", "")
# Signing salt of the tracking and unsubscribe tokens (with SECRET_KEY); changing it voids links already sent.
EMAIL_TOKEN_SALT = os.environ.get("EMAIL_TOKEN_SALT", "penguinflow.email.v1")
# Hits of link scanners and prefetchers are recorded but flagged {"bot": true}: HEAD requests, these user agents
# (case-insensitive substrings), and clicks this many seconds or less after delivery.
EMAIL_SCANNER_USER_AGENTS = env_list(
    "EMAIL_SCANNER_USER_AGENTS",
    "barracuda,mimecast,proofpoint,symantec,messagelabs,forcepoint,trendmicro,fireeye,safelinks,"
    "ms-office,microsoft office existence,bitdefender,sophos,zscaler,checkpoint,"
    "python-requests,curl/,wget/,go-http-client,headlesschrome,slackbot,linkexpander",
)
EMAIL_SCANNER_CLICK_SECONDS = int(os.environ.get("EMAIL_SCANNER_CLICK_SECONDS", "10"))
# A message found in `sending` this long after it was claimed became `unknown` (its worker died mid-send).
EMAIL_SEND_LEASE_SECONDS = int(os.environ.get("EMAIL_SEND_LEASE_SECONDS", "300"))
EMAIL_MAX_ATTEMPTS = int(os.environ.get("EMAIL_MAX_ATTEMPTS", "8"))
# The wait before the first retry of a delivery, doubled for each next one (at most an hour), +-20 % jitter: 8
# attempts span about an hour at 30 s. (The fault tests shorten it to run the schedule through.)
EMAIL_RETRY_BASE_SECONDS = float(os.environ.get("EMAIL_RETRY_BASE_SECONDS", "30"))
EMAIL_DELIVERY_BATCH = int(os.environ.get("EMAIL_DELIVERY_BATCH", "100"))
# Delivery claims (queued → sending) and records (sent) this many rows per statement. A worker killed mid-group
# leaves up to this many rows `unknown` (never re-sent automatically), handed over or not: 1 keeps that window to
# the message in hand, at one more database round trip and commit per message.
EMAIL_CLAIM_GROUP = int(os.environ.get("EMAIL_CLAIM_GROUP", "20"))
# Connections each delivery job keeps to the mail server (or ESP) and uses side by side: SMTP is round trips, so
# one connection leaves a worker mostly waiting; a relay that caps concurrent connections wants this lower.
EMAIL_SMTP_CONNECTIONS = int(os.environ.get("EMAIL_SMTP_CONNECTIONS", "4"))
# A worker keeps those connections open for its next delivery job this long (0: close them after each job). A
# connection the server closed meanwhile is noticed before anything is sent, and the message goes on a new one.
EMAIL_SMTP_KEEP_SECONDS = float(os.environ.get("EMAIL_SMTP_KEEP_SECONDS", "60"))

# SMS (CONTRACT §13): the provider (console://, twilio://SID:TOKEN@, twilio+http://SID:TOKEN@host:port) and the
# sender, a number in E.164 or a Messaging Service SID ("MG..."). Status callbacks come to PUBLIC_BASE_URL.
SMS_URL = os.environ.get("SMS_URL", "console://")
SMS_FROM = os.environ.get("SMS_FROM", "")
SMS_STATUS_CALLBACKS = env_bool("SMS_STATUS_CALLBACKS", True)
SMS_TIMEOUT_SECONDS = float(os.environ.get("SMS_TIMEOUT_SECONDS", "15"))
# An SMS found in `sending` this long after it was claimed became `unknown` (its worker died mid-send).
SMS_SEND_LEASE_SECONDS = int(os.environ.get("SMS_SEND_LEASE_SECONDS", "300"))
SMS_SWEEP_GRACE_SECONDS = int(os.environ.get("SMS_SWEEP_GRACE_SECONDS", "300"))
SMS_MAX_ATTEMPTS = int(os.environ.get("SMS_MAX_ATTEMPTS", "6"))
SMS_RETRY_BASE_SECONDS = float(os.environ.get("SMS_RETRY_BASE_SECONDS", "30"))  # as EMAIL_RETRY_BASE_SECONDS
SMS_DELIVERY_BATCH = int(os.environ.get("SMS_DELIVERY_BATCH", "100"))
# Claimed and recorded this many per statement: a worker killed mid-group leaves up to this many `unknown`.
SMS_CLAIM_GROUP = int(os.environ.get("SMS_CLAIM_GROUP", "20"))
# Hand-offs a delivery job makes side by side (one HTTP connection each): the provider's API is a round trip.
SMS_CONNECTIONS = int(os.environ.get("SMS_CONNECTIONS", "8"))


def _networks(name: str) -> list[str]:
    """Read comma-separated CIDRs; one that is not a network stops start-up (a typo must not open nothing, or
    quietly open more than meant)."""
    values = env_list(name, "")
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {value!r} is not a network, e.g. 127.0.0.1/32 or 10.0.0.0/8.") from None
    return values


# Outbound requests (the webhook action) never reach loopback, private, link-local, metadata... addresses
# (penguinflow/outbound/addresses.py); these networks are the only exemption, for development and tests.
OUTBOUND_ALLOWED_NETWORKS = _networks("OUTBOUND_ALLOWED_NETWORKS")
# Webhook subscriptions (webhooks/sending.py): sender threads per worker process, how many of them one
# subscription may hold at once, and how many claimed batches may wait in the `webhooks` queue.
WEBHOOKS_SENDER_THREADS = int(os.environ.get("WEBHOOKS_SENDER_THREADS", "16"))
WEBHOOKS_PER_SUBSCRIPTION = int(os.environ.get("WEBHOOKS_PER_SUBSCRIPTION", "2"))
WEBHOOKS_DISPATCH_MAX_QUEUED = int(os.environ.get("WEBHOOKS_DISPATCH_MAX_QUEUED", "2"))


def _seconds_list(name: str) -> list[float]:
    """Read comma-separated positive numbers of seconds; anything else stops start-up."""
    values = env_list(name, "")
    try:
        seconds = [float(value) for value in values]
    except ValueError:
        seconds = []
    if len(seconds) != len(values) or any(not 0 < value < float("inf") for value in seconds):
        raise ImproperlyConfigured(
            f"{name}={os.environ.get(name)!r}: give positive numbers of seconds, comma-separated (e.g. 1,5,30)."
        )
    return seconds


# A delivery's retry schedule: the wait after each failed attempt, in seconds (empty: the documented schedule in
# webhooks/schedule.py, 5 s to 10 h over 8 attempts); an attempt's deadline (at most 30 s, the outbound client's
# limit); and how long a subscription is paused after an attempt got no answer. Shorter ones are for tests and
# staging, where nobody waits hours.
WEBHOOKS_RETRY_DELAYS_SECONDS = _seconds_list("WEBHOOKS_RETRY_DELAYS_SECONDS")
WEBHOOKS_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOKS_TIMEOUT_SECONDS", "10"))
WEBHOOKS_NO_ANSWER_PAUSE_SECONDS = float(os.environ.get("WEBHOOKS_NO_ANSWER_PAUSE_SECONDS", "30"))

# Web push (push/): what a delivery job sends per batch, how long a push service may take, how long a service keeps
# a message for an offline browser (TTL), attempts before a message fails, the lease of a claimed message (then the
# sweep marks it `unknown`), and the CA file that verifies push services (empty: the system's; tests: their own).
PUSH_DELIVERY_BATCH = int(os.environ.get("PUSH_DELIVERY_BATCH", "200"))
PUSH_SENDER_THREADS = int(os.environ.get("PUSH_SENDER_THREADS", "8"))  # requests in flight per delivery job
PUSH_TIMEOUT_SECONDS = float(os.environ.get("PUSH_TIMEOUT_SECONDS", "10"))
PUSH_TTL_SECONDS = int(os.environ.get("PUSH_TTL_SECONDS", str(24 * 3600)))
PUSH_MAX_ATTEMPTS = int(os.environ.get("PUSH_MAX_ATTEMPTS", "6"))
PUSH_RETRY_BASE_SECONDS = float(os.environ.get("PUSH_RETRY_BASE_SECONDS", "30"))  # as EMAIL_RETRY_BASE_SECONDS
PUSH_SEND_LEASE_SECONDS = int(os.environ.get("PUSH_SEND_LEASE_SECONDS", "120"))
PUSH_SWEEP_GRACE_SECONDS = int(os.environ.get("PUSH_SWEEP_GRACE_SECONDS", "300"))
PUSH_CA_CERTS = os.environ.get("PUSH_CA_CERTS", "")
# The key that encrypts the workspaces' VAPID private keys at rest (empty: derived from SECRET_KEY).
PUSH_KEY_SECRET = os.environ.get("PUSH_KEY_SECRET", "")
# Subscribes and unsubscribes through a site's public endpoints, per client address and site.
PUSH_SITE_RATE = os.environ.get("PUSH_SITE_RATE", "60/min")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"refusals_on_one_line": {"()": "penguinflow.common.log_filters.RefusalsOnOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Named without handlers: this drops Django's own (a second console handler under DEBUG, which printed
        # every django.* line twice; mail_admins, inert without ADMINS), so django.* goes to the root's alone.
        "django": {"level": "INFO"},
        # A 4xx is a refusal the code meant to give (PermissionDenied, BadRequest): one line, no traceback.
        "django.request": {"filters": ["refusals_on_one_line"]},
        "django.db.backends": {"level": "WARNING"},
        "rq.worker": {"level": "WARNING"},
    },
}
# LOG_FILE: also write every record to this file (as well as to stderr). A file that cannot be written (a full
# disk) costs its records and one line on stderr, never the process's work (LogFileThatGivesWay).
LOG_FILE = os.environ.get("LOG_FILE", "")
if LOG_FILE:
    LOGGING["handlers"]["file"] = {
        "class": "penguinflow.common.log_handlers.LogFileThatGivesWay", "formatter": "plain", "filename": LOG_FILE,
    }
    LOGGING["root"]["handlers"].append("file")

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

# Development serves static files straight from the apps (no collectstatic); production from STATIC_ROOT.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
