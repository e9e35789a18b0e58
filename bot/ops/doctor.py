"""`expertbot doctor`: check a server's set-up, one finding per check, each ✗ with its fix.

Nothing here changes the service's state: the Telegram checks only ask (getMe,
getWebhookInfo, getMyCommands), the mail check logs in and quits without sending, and only
`--send-test` sends one email. No finding shows a secret: `scrub` masks every secret value
in the texts that come back from servers and libraries.
"""

from __future__ import annotations

import ipaddress
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, or_, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.config import MAKE_SECRET_KEY, MIN_SECRET_KEY_BYTES, Settings
from bot.db.migrate import alembic_config
from bot.db.models import Contact
from bot.db.session import Database

MIN_FREE_BYTES = 1 << 30  # below 1 GiB a busy day's queue, logs and a backup may not fit
TIMEOUT = 10.0


@dataclass(frozen=True)
class Finding:
    """The outcome of one check: what was found, or what is wrong and how to fix it."""

    ok: bool
    name: str
    detail: str

    @property
    def mark(self) -> str:
        return "✓" if self.ok else "✗"

    def __str__(self) -> str:
        return f"{self.mark} {self.name}: {self.detail}"


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value the settings hold, the database password included."""
    values = [settings.telegram_token, settings.smtp_password, settings.secret_key]
    found = [v.get_secret_value() for v in values if v is not None]
    found.append(settings.metrics_token.get_secret_value() if settings.metrics_token else "")
    found.append(make_url(settings.database_url).password or "")
    return [value for value in found if value]


def scrub(text: str, secrets: list[str]) -> str:
    """Mask every secret value in a text that is about to be shown."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "********")
    return text


def shown_url(url: str) -> str:
    """The database URL with its password masked."""
    return make_url(url).render_as_string(hide_password=True)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# --- the machine and the database ---------------------------------------------------------


def check_secret_key(settings: Settings) -> Finding:
    """The signing key for email links, the console and the webhook: set and long enough."""
    fix = f"make one with: {MAKE_SECRET_KEY} and set it as EXPERTBOT_SECRET_KEY"
    key = settings.secret_key.get_secret_value() if settings.secret_key is not None else ""
    size = len(key.encode("utf-8"))
    if not key:
        return Finding(False, "Secret key", f"EXPERTBOT_SECRET_KEY is not set; {fix}")
    if size < MIN_SECRET_KEY_BYTES:
        return Finding(
            False,
            "Secret key",
            f"EXPERTBOT_SECRET_KEY has {size} bytes, at least {MIN_SECRET_KEY_BYTES} are "
            f"needed; {fix}",
        )
    return Finding(True, "Secret key", f"set, {size} bytes")


def check_clock(settings: Settings, now: datetime) -> Finding:
    """The zone people's times are shown in, and the hours non-urgent messages wait."""
    local = now.astimezone(settings.zone)
    quiet = (
        f"quiet hours {settings.quiet} (non-urgent messages wait until they end)"
        if settings.quiet
        else "no quiet hours (EXPERTBOT_QUIET_HOURS is empty)"
    )
    return Finding(
        True, "Time zone", f"{settings.timezone}, local time now {local:%Y-%m-%d %H:%M}; {quiet}"
    )


def check_disk(settings: Settings, min_free: int = MIN_FREE_BYTES) -> Finding:
    """Free space where the database file and the daily backups are written."""
    places: list[Path] = []
    if settings.database_url.startswith("sqlite"):
        database = make_url(settings.database_url).database
        if database and database != ":memory:":
            places.append(Path(database).resolve().parent)
    if settings.backup_dir:
        places.append(Path(settings.backup_dir))
    places = places or [Path.cwd()]
    parts, short = [], []
    for place in places:
        existing = next((p for p in (place, *place.parents) if p.exists()), Path("/"))
        free = shutil.disk_usage(existing).free
        parts.append(f"{gigabytes(free)} free in {place}")
        if free < min_free:
            short.append(str(place))
    if short:
        return Finding(
            False,
            "Disk space",
            f"{'; '.join(parts)}: less than {gigabytes(min_free)} in {', '.join(short)}; "
            "free some space (old backups, logs) or give the service a larger disk",
        )
    return Finding(True, "Disk space", "; ".join(parts))


def gigabytes(size: int) -> str:
    return f"{size / (1 << 30):.1f} GB"


async def check_database(settings: Settings, secrets: list[str]) -> tuple[Finding, Database | None]:
    """Connect, and compare the schema's revision with this version's newest migration."""
    url = settings.database_url
    where = shown_url(url)
    if url.startswith("sqlite"):
        path = make_url(url).database or ""
        if path != ":memory:" and not Path(path).is_file():
            return Finding(
                False,
                "Database",
                f"no database file at {path}; create it with: expertbot db upgrade",
            ), None
    database = Database(url)
    try:
        async with database.read_scope() as session:  # no lock: the service may be writing
            connection = await session.connection()
            current = await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_heads()
            )
    except Exception as error:  # any driver's refusal: name it, do not crash
        await database.dispose()
        reason = scrub(str(getattr(error, "orig", None) or error).splitlines()[0], secrets)
        return Finding(
            False,
            "Database",
            f"cannot reach {where}: {reason}; check EXPERTBOT_DATABASE_URL and that the "
            "database server runs and lets this user in",
        ), None
    heads = ScriptDirectory.from_config(alembic_config(url)).get_heads()
    if set(current) != set(heads):
        found = ", ".join(current) or "no schema"
        return Finding(
            False,
            "Database",
            f"{where} is at {found}, this version needs {', '.join(heads)}: "
            "run expertbot db upgrade (with the service stopped, or before it starts)",
        ), database
    return Finding(
        True, "Database", f"{where} reachable, migrations current ({heads[0]})"
    ), database


async def check_coordinators(database: Database) -> Finding:
    """At least one coordinator: the console, access requests and digests need one."""
    coordinator = (Contact.role == "coordinator") & Contact.erased_at.is_(None)
    reachable = or_(
        Contact.email.is_not(None) & (Contact.email_state == "active"),
        Contact.telegram_state == "active",
    )
    async with database.read_scope() as session:
        total = await session.scalar(select(func.count()).where(coordinator))
        with_channel = await session.scalar(select(func.count()).where(coordinator & reachable))
    if not total:
        return Finding(
            False,
            "Coordinators",
            "there is no contact with role coordinator, so nobody can sign in to the console "
            "or approve access requests; add one with: expertbot contacts import FILE "
            "(a row with role = coordinator and their email)",
        )
    return Finding(True, "Coordinators", f"{total}, of whom {with_channel} can be reached")


# --- the public address -------------------------------------------------------------------


async def check_public_url(settings: Settings) -> Finding:
    """EXPERTBOT_PUBLIC_URL/healthz answers from this machine, over https unless on loopback."""
    base = settings.public_url
    parts = urlsplit(base)
    loopback = is_loopback(parts.hostname or "")
    if parts.scheme != "https" and not loopback:
        return Finding(
            False,
            "Public URL",
            f"{base} is not https: links in emails and the webhook need TLS; serve it through "
            "a reverse proxy with a certificate (deploy/Caddyfile) and set an https:// address",
        )
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, trust_env=not loopback) as client:
            answer = await client.get(f"{base}/healthz")
    except httpx.HTTPError as error:
        return Finding(
            False,
            "Public URL",
            f"{base}/healthz does not answer ({type(error).__name__}: {error}); check that "
            "expertbot run is running, the reverse proxy forwards to EXPERTBOT_WEB_HOST:"
            "EXPERTBOT_WEB_PORT, and DNS and the firewall let this address through",
        )
    if answer.status_code != 200:
        return Finding(
            False,
            "Public URL",
            f"{base}/healthz answered {answer.status_code} {answer.text[:200].strip()}; see the "
            "service's log for the part that is down",
        )
    return Finding(True, "Public URL", f"{base}/healthz answers 200")


async def name_of(database: Database | None, address: str) -> str:
    """The name of the contact with this address, to greet them in the test mail; else the
    address itself."""
    if database is None:
        return address
    try:
        async with database.read_scope() as session:
            name = await session.scalar(
                select(Contact.name).where(
                    func.lower(Contact.email) == address.lower(), Contact.erased_at.is_(None)
                )
            )
    except SQLAlchemyError:
        return address
    return name or address


async def coordinators_or_why_not(database: Database | None) -> Finding:
    if database is None:
        return Finding(False, "Coordinators", "not checked: the database cannot be reached")
    try:
        return await check_coordinators(database)
    except SQLAlchemyError:
        return Finding(False, "Coordinators", "not checked: upgrade the database first")
    finally:
        await database.dispose()


# --- everything -----------------------------------------------------------------------------


async def run_checks(
    settings: Settings, *, send_test: str | None = None, min_free: int = MIN_FREE_BYTES
) -> list[Finding]:
    """Run every check in order; one failing check never stops the others."""
    from bot.ops import doctor_mail, doctor_telegram  # they build on the findings here

    secrets = secrets_of(settings)
    findings: list[Finding] = []
    database_finding, database = await check_database(settings, secrets)
    findings.append(database_finding)
    findings.append(check_secret_key(settings))
    if settings.sandbox:
        findings.append(
            Finding(
                False,
                "Channels",
                "neither Telegram nor email is configured, so expertbot run starts the offline "
                "playground; set EXPERTBOT_TELEGRAM_TOKEN and/or EXPERTBOT_SMTP_HOST",
            )
        )
    findings += await doctor_telegram.check_telegram(settings)
    test = (send_test, await name_of(database, send_test)) if send_test else None
    findings += await doctor_mail.check_mail(settings, test)
    findings.append(await check_public_url(settings))
    findings.append(check_clock(settings, datetime.now(UTC)))
    findings.append(await coordinators_or_why_not(database))
    findings.append(check_disk(settings, min_free))
    return [Finding(f.ok, f.name, scrub(f.detail, secrets)) for f in findings]
