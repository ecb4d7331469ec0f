"""The schema, in one place. Identity tables are generated from the resource registry."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Float, Index, Integer, MetaData, String, Table, Text, false

from hookdoor.db.types import UTCDateTime
from hookdoor.identity.registry import KINDS, ResourceKind

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Columns that hold what must never round-trip through the JSON document (hashes, expiries).
def _private_columns(table_name: str) -> tuple[Column, ...]:
    if table_name == "users":
        return (Column("password_hash", Text, nullable=True),)
    if table_name == "tokens":
        return (
            Column("access_token_hash", String(64), nullable=True, index=True),
            Column("refresh_token_hash", String(64), nullable=True, index=True),
            Column("code_hash", String(64), nullable=True, index=True),
            Column("expires_at", UTCDateTime, nullable=True),
            # When the refresh token stops working (it may outlive its access token); rows are purged
            # once both have expired (oauth/repository.py).
            Column("refresh_expires_at", UTCDateTime, nullable=True),
        )
    return ()


def lookup_column_name(field: str) -> str:
    return f"lk_{field}"


def _kind_table(kind: ResourceKind) -> Table:
    return Table(
        kind.table_name,
        metadata,
        Column("owner", String(100), primary_key=True),
        Column("name", String(100), primary_key=True),
        Column("organization", String(100), nullable=False, index=True),
        Column("created_time", String(40), nullable=False, index=True),
        Column("updated_time", String(40), nullable=False),
        Column("data", JSON, nullable=False),
        *(Column(lookup_column_name(f), String(255), nullable=True, index=True) for f in kind.lookup_columns),
        *_private_columns(kind.table_name),
    )


KIND_TABLES: dict[str, Table] = {kind.singular: _kind_table(kind) for kind in KINDS}

events = Table(
    "events",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("action", String(100), nullable=False, index=True),
    Column("organization", String(100), nullable=False, index=True),
    Column("actor", String(201), nullable=False),
    Column("subject", String(201), nullable=True, index=True),
    Column("outcome", String(10), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("message", Text, nullable=False),
    Column("user", JSON, nullable=True),
    Column("object", JSON, nullable=True),
    Column("request", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("dispatched", Boolean, nullable=False, default=False),
)
Index("ix_events_undispatched", events.c.dispatched, events.c.id)

auth_sessions = Table(
    "auth_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("owner", String(100), nullable=False),
    Column("name", String(100), nullable=False),
    Column("application", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("csrf_token", String(64), nullable=False),
    # "owner/name" of the user a global administrator acts as in this session (impersonation/).
    Column("impersonating", String(201), nullable=True),
)
Index("ix_auth_sessions_user", auth_sessions.c.owner, auth_sessions.c.name)

server_state = Table(
    "server_state",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# Casbin policy rules of the adapters that keep them in this database (authz/repository.py), one row
# per rule as Casbin's adapters store them (ptype, v0..v5), tagged with the adapter's "owner/name".
casbin_rules = Table(
    "casbin_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # insertion order: Casbin's policy order
    Column("adapter", String(201), nullable=False),
    Column("ptype", String(100), nullable=False),
    *(Column(f"v{i}", Text, nullable=False, default="") for i in range(6)),
)
Index("ix_casbin_rules_adapter", casbin_rules.c.adapter, casbin_rules.c.ptype)

# Failed sign-ins, one row each, for login throttling (identity/throttle.py): shared by every server
# process and kept across restarts. A row older than HOOKDOOR_LOGIN_LOCKOUT_SECONDS no longer matters.
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # insertion order within a key
    Column("key", String(256), nullable=False),  # "account:<organization>/<name>" or "ip:<address>"
    Column("failed_at", Float, nullable=False),  # Unix time: compared across processes
    Column("locks", Boolean, nullable=False),  # it reached the limit: the key is locked for the lock-out from then
)
Index("ix_login_failures_key", login_failures.c.key, login_failures.c.failed_at)
Index("ix_login_failures_failed_at", login_failures.c.failed_at)

# ---- sign-in through other providers (federation/) -------------------------------------------

# Which upstream account is which user: the link a first sign-in through a provider makes. Kept out of
# the user's document, which its owner may edit: a link is authority only the server issues.
provider_links = Table(
    "provider_links",
    metadata,
    Column("organization", String(100), primary_key=True),
    Column("provider", String(201), primary_key=True),  # owner/name of the provider object
    Column("subject", String(255), primary_key=True),  # the upstream's id of its user (OIDC "sub")
    # The user's id, which is issued and never edited: a renamed user keeps the link, and a user made
    # later under a deleted one's name does not inherit it.
    Column("user_id", String(100), nullable=False),
    Column("username", String(255), nullable=False),  # the upstream's username, for the console
    Column("created_at", UTCDateTime, nullable=False),
)
Index("ix_provider_links_user", provider_links.c.user_id, provider_links.c.provider, unique=True)

# Sign-ins sent to a provider and not back yet: the state parameter (as its hash) is good once, for the
# browser that started it, for ten minutes, and carries the PKCE verifier and where to go after.
provider_sign_ins = Table(
    "provider_sign_ins",
    metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("browser_hash", String(64), nullable=False),
    Column("provider", String(201), nullable=False),
    Column("application", String(100), nullable=False),
    Column("method", String(10), nullable=False),  # signin, or link (the signed-in user adds a provider)
    Column("user_name", String(100), nullable=False),  # for link: who is adding it
    Column("code_verifier", String(128), nullable=False),
    Column("next", Text, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

# ---- delivery ------------------------------------------------------------------------------------
# Ids in the queue, data in tables: a delivery names its event and webhook; the payload it sends is
# rendered once, at dispatch, so every retry sends the same bytes under the same webhook-id.

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(40), primary_key=True),  # the webhook-id header, the same on every retry
    Column("event_id", String(32), nullable=False, index=True),
    Column("action", String(100), nullable=False),
    Column("webhook_owner", String(100), nullable=False),
    Column("webhook_name", String(100), nullable=False),
    Column("organization", String(100), nullable=False),
    Column("state", String(12), nullable=False),  # pending, delivering, succeeded, failed
    Column("ordered", Boolean, nullable=False, default=False),
    Column("trigger", String(12), nullable=False, default="event"),  # event, test
    Column("payload", Text, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_expires_at", UTCDateTime, nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("updated_at", UTCDateTime, nullable=False),
)
Index("ix_deliveries_due", deliveries.c.state, deliveries.c.next_attempt_at)
Index("ix_deliveries_webhook", deliveries.c.webhook_owner, deliveries.c.webhook_name, deliveries.c.id)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", String(40), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("trigger", String(12), nullable=False),  # scheduled, manual, test
    Column("started_at", UTCDateTime, nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("request_url", Text, nullable=False),
    Column("request_headers", JSON, nullable=False),  # credentials redacted
    Column("response_status", Integer, nullable=True),
    Column("response_headers", JSON, nullable=True),
    Column("response_body", Text, nullable=True),  # the first 4 KB
    Column("error", Text, nullable=True),
)

endpoint_health = Table(
    "endpoint_health",
    metadata,
    Column("webhook_owner", String(100), primary_key=True),
    Column("webhook_name", String(100), primary_key=True),
    Column("failing_since", UTCDateTime, nullable=True),
    Column("failure_streak", Integer, nullable=False, default=0),
    Column("last_success_at", UTCDateTime, nullable=True),
    Column("last_failure_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
)

# ---- inspector -----------------------------------------------------------------------------------
# Private request bins served at /inspect/<token>: every request to one is captured, whatever its
# method or subpath. The token is the bin's capability; it is stored so the console can show the URL.

inspector_bins = Table(
    "inspector_bins",
    metadata,
    Column("id", String(32), primary_key=True),  # a ULID: the console's handle, never the capability
    Column("token", String(64), nullable=False),
    Column("organization", String(100), nullable=False, index=True),
    Column("created_by", String(201), nullable=False),
    Column("label", String(200), nullable=False),
    Column("webhook_owner", String(100), nullable=True),  # the webhook whose secret verifies arrivals
    Column("webhook_name", String(100), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)
Index("ix_inspector_bins_token", inspector_bins.c.token, unique=True)

inspector_requests = Table(
    "inspector_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # the SSE event id: arrival order
    Column("bin_id", String(32), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("source", String(10), nullable=False),  # http, or delivery (handed over by the worker in-process)
    Column("method", String(20), nullable=False),
    Column("path", Text, nullable=False),
    Column("query", Text, nullable=False),
    Column("headers", JSON, nullable=False),  # [[name, value], ...] in arrival order
    Column("body", Text, nullable=False),  # UTF-8 text, or base64 when body_base64
    Column("body_base64", Boolean, nullable=False),
    Column("body_size", Integer, nullable=False),  # bytes received; the body is cut at the capture limit
    Column("client_ip", String(64), nullable=False),
)
Index("ix_inspector_requests_bin", inspector_requests.c.bin_id, inspector_requests.c.id)

# ---- synchronization (sync/) ------------------------------------------------------------------

# The last run of each syncer or LDAP server (source "syncer" or "ldap", key "owner/name" or
# "owner/id"): when it started and ended, its outcome, counts and error. Shared by every process, so
# that one of them runs a due source and the others see it ran.
sync_runs = Table(
    "sync_runs",
    metadata,
    Column("source", String(10), primary_key=True),
    Column("key", String(201), primary_key=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("outcome", String(10), nullable=False),  # running, ok, failed
    Column("counts", JSON, nullable=False),
    Column("error", Text, nullable=False),
)

# On SQLite, who runs a source now: a lease row, taken by a conditional UPDATE (PostgreSQL uses an
# advisory lock instead), expiring so that a dead process does not hold it for ever.
sync_leases = Table(
    "sync_leases",
    metadata,
    Column("key", String(220), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("expires_at", Float, nullable=False),  # Unix time: compared across processes
)

# ---- multi-factor authentication (mfa/) ----------------------------------------------------------
# Kept out of the user's document, which its owner may edit and administrators read: the TOTP secret
# (which the server needs in clear to check a passcode) and the recovery codes' hashes are secrets only
# the server holds. Keyed by the user's issued id, so that a renamed user keeps their factors.
mfa_factors = Table(
    "mfa_factors",
    metadata,
    Column("user_id", String(100), primary_key=True),
    Column("owner", String(100), nullable=False),
    Column("name", String(100), nullable=False),
    Column("totp_secret", Text, nullable=True),  # base32, as the authenticator app holds it
    Column("totp_last_step", Integer, nullable=False),  # the last 30 s step used: a passcode is good once
    Column("recovery_code_hashes", JSON, nullable=False),  # SHA-256 of each unused recovery code
    Column("preferred", String(20), nullable=False),  # "" means MFA is off (Casdoor: preferredMfaType)
    # Codes sent to the account's own email address or phone number (Casdoor's mfaEmailEnabled and
    # mfaPhoneEnabled): where they go is the user's email or phone at the time of sign-in.
    Column("email_enabled", Boolean, nullable=False, server_default=false()),
    Column("phone_enabled", Boolean, nullable=False, server_default=false()),
    Column("updated_at", UTCDateTime, nullable=False),
)
Index("ix_mfa_factors_user", mfa_factors.c.owner, mfa_factors.c.name)

# A setup begun by mfa/setup/initiate: the secret and recovery code the server made, good for 30 minutes;
# mfa/setup/verify marks it verified, and only a verified setup of that same secret can be enabled.
mfa_setups = Table(
    "mfa_setups",
    metadata,
    Column("user_id", String(100), primary_key=True),
    Column("mfa_type", String(20), primary_key=True),
    Column("secret", Text, nullable=False),
    Column("recovery_code_hash", String(64), nullable=False),
    Column("verified", Boolean, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

# A sign-in whose password was right and whose second factor is awaited (Casdoor's "NextMfa"): the
# browser holds the token (as a cookie), the server its hash; a bounded number of passcode tries.
mfa_challenges = Table(
    "mfa_challenges",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(100), nullable=False),
    Column("owner", String(100), nullable=False),
    Column("name", String(100), nullable=False),
    Column("application", String(100), nullable=False),
    Column("failures", Integer, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

# ---- WebAuthn (webauthn/) ------------------------------------------------------------------------
# A user's registered credentials (passkeys): the public key and the signature counter only; the
# private key never leaves the authenticator.
webauthn_credentials = Table(
    "webauthn_credentials",
    metadata,
    Column("credential_id", String(1400), primary_key=True),  # base64url of the raw id
    Column("user_id", String(100), nullable=False, index=True),
    Column("owner", String(100), nullable=False),
    Column("name", String(100), nullable=False),
    Column("public_key", Text, nullable=False),  # base64url of the COSE key
    Column("sign_count", Integer, nullable=False),
    Column("transports", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
)

# A ceremony begun and not finished: its challenge, for the browser holding the cookie, five minutes,
# good once (signup: for the signed-in user; signin: for a named user or any discoverable credential).
webauthn_ceremonies = Table(
    "webauthn_ceremonies",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("purpose", String(10), nullable=False),  # signup or signin
    Column("user_id", String(100), nullable=False),  # "" for a discoverable sign-in
    Column("challenge", String(200), nullable=False),  # base64url
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

# ---- providers that send, verification codes, captchas (messaging/, verification/) ------------------

# One row per message sent through a provider (a verification code, send-email, send-sms...), for the
# limits per destination and per caller, shared by every server process. Rows older than the window
# no longer matter and are removed as new ones are written.
message_sends = Table(
    "message_sends",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("destination", String(320), nullable=False),  # "email:<address>", "sms:<number>", "notification:<provider>"
    Column("caller", String(320), nullable=False),  # the principal's ref, or "ip:<address>" for anonymous callers
    Column("sent_at", Float, nullable=False),  # Unix time: compared across processes
)
Index("ix_message_sends_destination", message_sends.c.destination, message_sends.c.sent_at)
Index("ix_message_sends_caller", message_sends.c.caller, message_sends.c.sent_at)
Index("ix_message_sends_sent_at", message_sends.c.sent_at)

# Verification codes sent (Casdoor's verification records): the code only as an HMAC under the
# server's key, good until expires_at for max tries; verify-code marks it verified, and a flow that
# needs a code verified earlier (set-password in the forget flow) spends it.
verification_codes = Table(
    "verification_codes",
    metadata,
    Column("id", String(32), primary_key=True),  # Casdoor's record name
    Column("organization", String(100), nullable=False, index=True),
    Column("application", String(100), nullable=False),
    Column("purpose", String(20), nullable=False),  # signup, login, reset, forget, mfaSetup, mfaAuth
    Column("type", String(10), nullable=False),  # Casdoor's record type: the provider's category, Email or SMS
    Column("receiver", String(320), nullable=False),
    Column("user_id", String(201), nullable=False),  # owner/name, "" before sign-up
    Column("provider", String(201), nullable=False),
    Column("remote_addr", String(100), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("wrong_tries", Integer, nullable=False),
    Column("verified", Boolean, nullable=False),
    Column("used", Boolean, nullable=False),
)
Index("ix_verification_codes_receiver", verification_codes.c.receiver, verification_codes.c.created_at)

# Image captchas handed out by get-captcha: the answer only as a hash, good once, for a few minutes.
captchas = Table(
    "captchas",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("answer_hash", String(64), nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)
