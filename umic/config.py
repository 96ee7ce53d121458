"""Configuration.

Every key can be overridden from the environment with the prefix ``UMIC_`` (Flask's
``from_prefixed_env``): ``UMIC_SECRET_KEY``, ``UMIC_MAIL_PORT=2525`` and so on. Values are
parsed as JSON when they can be (numbers, ``true``/``false``), else kept as strings.
README.md documents each key.
"""

from __future__ import annotations

#: The key used only on a developer's machine and in tests. In production the app refuses it.
DEV_SECRET_KEY = "dev-only-insecure-secret-key"


class Config:
    """Safe defaults; secrets come only from the environment."""

    SECRET_KEY = DEV_SECRET_KEY
    # A relative SQLite path lives in the instance folder: instance/umic.db
    SQLALCHEMY_DATABASE_URI = "sqlite:///umic.db"
    # hide_parameters: a database error's message and traceback show the SQL, never the
    # values (names, e-mails...) it was writing (umic/web/logs.py).
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"hide_parameters": True}
    # A pooled connection idle this long is checked (a round trip) before it is used again;
    # one in steady use is not (umic/connections.py). 0 checks at every use.
    DATABASE_PING_AFTER_IDLE_SECONDS = 10.0

    # Links in e-mails and invitations are built on this address.
    BASE_URL = "http://127.0.0.1:5000"
    TIMEZONE = "Europe/Madrid"
    # Catalan public holidays come from the holidays package (country ES, subdivision CT).
    HOLIDAYS_COUNTRY = "ES"
    HOLIDAYS_SUBDIVISION = "CT"

    # Booking rules.
    BOOKING_MIN_NOTICE_MINUTES = 120
    BOOKING_HORIZON_DAYS = 30
    BOOKING_CHANGE_CUTOFF_MINUTES = 120
    BOOKING_DAYS_PER_PAGE = 7
    BOOKING_DRAFT_HOURS = 24
    # The citizen's join button is live this many minutes before the call (core/join.py).
    JOIN_OPENS_MINUTES_BEFORE = 10
    # How long a citizen's manage link keeps working after the appointment ends.
    MANAGE_LINK_DAYS_AFTER = 90

    # Video link: {room} becomes a random room per booking; without {room} the link is fixed
    # (for example one Teams meeting with a lobby). A service can override it.
    VIDEO_LINK_TEMPLATE = "https://meet.jit.si/umic-{room}"

    # E-mail (Flask-Mail) and the outbox worker.
    MAIL_SERVER = "localhost"
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_DEFAULT_SENDER = "Consum Diputació de Barcelona <cites@example.org>"
    MAIL_SUPPRESS_SEND = False
    MAIL_TIMEOUT_SECONDS = 20
    OUTBOX_MAX_ATTEMPTS = 8
    OUTBOX_RETRY_BASE_SECONDS = 60
    OUTBOX_RETRY_MAX_SECONDS = 6 * 3600
    OUTBOX_BATCH_SIZE = 50
    OUTBOX_STALE_LOCK_MINUTES = 15
    WORKER_POLL_SECONDS = 5
    REMINDER_HOURS_BEFORE = 24

    # Invitations.
    ICS_PRODID = "-//Diputacio de Barcelona//umic//CA"
    ICS_ALARM_MINUTES = 15

    # What citizens see about the service and where else they can get help.
    SERVICE_ORGANISATION = "Servei de Consum de la Diputació de Barcelona"
    HELP_PHONE = "012"
    HELP_EMAIL = ""
    # An external mailbox's address, used only when the app has no mailbox of its own
    # (the in-app one, /bustia/, is the way; umic/booking/ways.py).
    MAILBOX_URL = ""

    # Accessibility statement: the date of its last review (reviewed at least yearly).
    ACCESSIBILITY_REVIEWED = "2026-11-29"

    # Privacy notice: bump the version whenever the text in pages/privacy.html changes.
    PRIVACY_NOTICE_VERSION = "2026-12-04"
    # The data-protection contact the privacy page names. CONFIGURE THESE: the address is the
    # Diputació's registered seat; the DPO's own name and mailbox were not verified here, so
    # the page names the office (translated) and its address until they are set. No phone.
    DPO_NAME = ""
    DPO_EMAIL = ""
    DPO_ADDRESS = "Rambla de Catalunya, 126, 08008 Barcelona"

    # Retention schedule (umic.privacy.schedule, docs/privacy.md): how many days each kind of
    # record keeps its personal data after the moment named; null ("never"): kept until
    # someone acts. The defaults are to be confirmed with the DPO and the archive's TAAD.
    # Unconfirmed booking drafts last BOOKING_DRAFT_HOURS (above).
    RETENTION_CANCELLED_BOOKINGS_DAYS = 30  # after cancelling: anonymised
    RETENTION_PAST_BOOKINGS_DAYS = 365  # after the appointment (attended, missed, unmarked)
    RETENTION_CLOSED_CASES_DAYS = 5 * 365  # after the case is closed: anonymised
    RETENTION_DOCUMENTS_DAYS = 365  # after their case is closed: deleted, files included
    RETENTION_OUTBOX_DAYS = 30  # after an e-mail is sent (or given up): deleted
    RETENTION_SIGN_IN_ATTEMPTS_DAYS = 1  # staff sign-in attempts: deleted
    RETENTION_SURVEY_COMMENTS_DAYS = 365  # after the answer: the comment is blanked

    # Forms: a CSRF token lives as long as the browser session, so a slow citizen never
    # loses a form to an expired token (WCAG 2.2.1).
    WTF_CSRF_TIME_LIMIT = None

    BABEL_DEFAULT_LOCALE = "ca"
    BABEL_DEFAULT_TIMEZONE = "Europe/Madrid"
    # Offered in the language switch and matched against Accept-Language, in this order.
    # English (umic/translations/en) is complete but not offered by default: the service's
    # public speaks Catalan or Spanish, and a browser left in English would get English pages.
    LANGUAGES = ["ca", "es"]

    # How many reverse proxies (HTTPS terminator, load balancer) stand in front of the app.
    PROXY_COUNT = 0
    # Compress static files and the booking's public fragments (never pages with a form token:
    # umic.web.compression says why). Off (false) when a proxy in front already compresses.
    COMPRESS = True

    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_HTTPONLY = True
    # Secure (sent over HTTPS only): None means "when BASE_URL starts with https://", so a
    # developer's http://127.0.0.1 keeps working; true/false forces it (umic.web.security).
    SESSION_COOKIE_SECURE: bool | None = None
    # No PERMANENT_SESSION_LIFETIME: no session is permanent. The cookie ends with the browser;
    # a staff session's limits are on the server (STAFF_IDLE_MINUTES, STAFF_SESSION_MAX_HOURS).

    # Show the outbox (each e-mail and its .ics) to staff in the browser.
    OUTBOX_PAGE_SIZE = 50

    # Staff sign-in: a session ends after this much inactivity, and this long after signing in
    # however busy (ASVS L2 asks for at most 12 hours); its last use is written at most once
    # per STAFF_SESSION_TOUCH_SECONDS. Repeated failures are throttled. (docs/sessions.md)
    STAFF_IDLE_MINUTES = 60
    STAFF_SESSION_MAX_HOURS = 10
    STAFF_SESSION_TOUCH_SECONDS = 60
    SIGN_IN_MAX_FAILURES = 5
    SIGN_IN_WINDOW_MINUTES = 15

    # Workspace.
    JOIN_LINK_MINUTES_BEFORE = 10  # the join link is live from this long before the start
    CASE_ORGANIC = "E02020000 - Ser. Suport Polítiques de Consum"
    CASES_PAGE_SIZE = 25

    # Documents: kept on disk outside static/ (default: instance/uploads), checked on content.
    UPLOAD_FOLDER = ""
    UPLOAD_MAX_BYTES = 10 * 1024 * 1024
    # Flask refuses larger requests outright: a citizen may send several files at once,
    # each at most UPLOAD_MAX_BYTES.
    MAX_CONTENT_LENGTH = 32 * 1024 * 1024
    DOCUMENT_REMINDER_DAYS_BEFORE = 2
    # Mediation with a company (umic.mediation): working days it has to answer, and its one
    # reminder this many days before.
    MEDIATION_ANSWER_DAYS = 15
    MEDIATION_REMINDER_DAYS = 5
    # Triage (umic.triage): the models trained on the service's own cases. A model whose
    # measured accuracy (on cases it was not trained on) is below TRIAGE_MIN_ACCURACY shows no
    # suggestion at all; a suggestion less confident than TRIAGE_MIN_CONFIDENCE is not shown.
    # The worker retrains every TRIAGE_RETRAIN_HOURS (0: only by command or a coordinator's
    # button); with fewer than TRIAGE_MIN_EXAMPLES labelled cases nothing is trained.
    TRIAGE_MIN_ACCURACY = 0.75
    TRIAGE_MIN_CONFIDENCE = 0.5
    TRIAGE_RETRAIN_HOURS = 24
    TRIAGE_MIN_EXAMPLES = 30
    # The optional language model (umic.assist), off while ASSIST_URL is empty: an
    # OpenAI-compatible server the service runs itself (vLLM, Ollama...), e.g.
    # http://127.0.0.1:11434/v1. Its key, if any, only from the environment (UMIC_ASSIST_API_KEY).
    ASSIST_URL = ""
    ASSIST_MODEL = ""
    ASSIST_API_KEY = ""
    ASSIST_TIMEOUT_SECONDS = 60
    ASSIST_SUMMARY_MIN_CHARS = 600  # descriptions at least this long offer a summary
    UPLOAD_MAX_CITIZEN_FILES = 30  # per case, through the citizen's link
    # The documents' total size above which a case's PDF dossier is refused (the ZIP is not).
    DOSSIER_MAX_BYTES = 100 * 1024 * 1024

    # Satisfaction survey: sent once a call marked attended has ended, or this long after its
    # end if nobody marked it; the link works for SURVEY_LINK_DAYS.
    SURVEY_UNMARKED_AFTER_HOURS = 24
    SURVEY_LINK_DAYS = 30
    SURVEY_MAX_AGE_DAYS = 14  # never survey calls older than this (e.g. when switched on)

    # Expansion plan: the seed's criterion "more than 12 requests a year".
    EXPANSION_MIN_REQUESTS_PER_YEAR = 12

    # Abuse without puzzles (umic.web.limits): limits per client address
    # ("N per minute;M per day"), kept in RATELIMIT_STORAGE_URI: memory:// is per process;
    # with several processes use a shared store (redis://host:6379, memcached://host:11211).
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_BOOKING = "20 per minute;200 per day"  # POST details and confirm
    RATELIMIT_MANAGE = "60 per minute;600 per day"  # every request to /cita/<token>...
    RATELIMIT_TOKEN_PAGES = "60 per minute;600 per day"  # survey and document-upload links
    RATELIMIT_SIGN_IN = "10 per minute;100 per day"  # failed staff sign-ins
    # At most this many upcoming appointments per e-mail address (0: no cap); staff exempt.
    BOOKING_MAX_ACTIVE_PER_EMAIL = 2
    # A details form sent sooner than this after it was shown is taken for a bot (0: off).
    BOOKING_MIN_FILL_SECONDS = 2
    # Per-day caps on NEW online bookings, counted in the database over any 24 hours (so they
    # hold across processes): per e-mail address (+tags, case and Gmail dots folded) and per
    # client network (IPv4 /24, IPv6 /56); 0: off. Staff bookings are exempt.
    # docs/booking-abuse.md explains the defaults.
    BOOKING_MAX_NEW_PER_EMAIL_PER_DAY = 3
    BOOKING_MAX_NEW_PER_NETWORK_PER_DAY = 12
    # E-mail every active coordinator (at most once an hour per reason, once a day for the daily
    # one) when more than this many bookings arrive online within an hour or within 24 hours,
    # or the caps refuse more than this many within an hour; 0: off.
    BOOKING_ALERT_NEW_PER_HOUR = 10
    BOOKING_ALERT_NEW_PER_DAY = 15
    BOOKING_ALERT_REFUSALS_PER_HOUR = 5
    # The mailbox (umic.mailbox): per-day caps on messages per e-mail address and per client
    # network, counted like the bookings' (0: off); its POST shares RATELIMIT_BOOKING's numbers
    # in a bucket of its own, and its too-fast check BOOKING_MIN_FILL_SECONDS.
    MAILBOX_MAX_PER_EMAIL_PER_DAY = 3
    MAILBOX_MAX_PER_NETWORK_PER_DAY = 12
    MAILBOX_MAX_FILES = 5  # per message, each at most UPLOAD_MAX_BYTES


class TestConfig(Config):
    """Used by the test suite; the database URL is given by the fixture."""

    TESTING = True
    SECRET_KEY = "test-secret-key"
    MAIL_SUPPRESS_SEND = True
    BASE_URL = "http://localhost"
    WORKER_POLL_SECONDS = 0
    # Other suites book many times with one address, at machine speed, from one client:
    # the abuse checks are off here and on in tests/test_security.py.
    RATELIMIT_ENABLED = False
    BOOKING_MAX_ACTIVE_PER_EMAIL = 0
    BOOKING_MIN_FILL_SECONDS = 0
    BOOKING_MAX_NEW_PER_EMAIL_PER_DAY = 0
    BOOKING_MAX_NEW_PER_NETWORK_PER_DAY = 0
    BOOKING_ALERT_NEW_PER_HOUR = 0
    BOOKING_ALERT_NEW_PER_DAY = 0
    BOOKING_ALERT_REFUSALS_PER_HOUR = 0
    MAILBOX_MAX_PER_EMAIL_PER_DAY = 0
    MAILBOX_MAX_PER_NETWORK_PER_DAY = 0
    # The worker trains the triage models only when asked (tests/test_triage_schedule.py sets
    # the schedule itself): a pass must stay instant in every other test.
    TRIAGE_RETRAIN_HOURS = 0
