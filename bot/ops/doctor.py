"""`expertbot doctor`: check a server's set-up, one finding per check, each ✗ with its fix.

Nothing here changes the service's state: the Telegram checks only ask (getMe,
getWebhookInfo, getMyCommands), the mail check logs in and quits without sending, and only
`--send-test` sends one email. No finding shows a secret: `scrub` masks every secret value
in the texts that come back from servers and libraries.
"""

from __future__ import annotations

import ipaddress
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
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
from bot.rendering import labels
from bot.web.app import WEBHOOK_PATH

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


# --- Telegram -----------------------------------------------------------------------------


class TelegramRefused(Exception):
    """The Bot API answered a call with an error."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code} {description}")
        self.code = code


async def check_telegram(settings: Settings) -> list[Finding]:
    """The token, the bot's username, the webhook against the mode, and the command menu."""
    if settings.telegram_token is None:
        return [Finding(True, "Telegram", "not configured (EXPERTBOT_TELEGRAM_TOKEN is not set)")]
    token = settings.telegram_token.get_secret_value()
    root = f"{settings.telegram_api_url}/bot{token}"
    loopback = is_loopback(urlsplit(settings.telegram_api_url).hostname or "")
    async with httpx.AsyncClient(timeout=TIMEOUT, trust_env=not loopback) as client:

        async def call(method: str, **params: Any) -> Any:
            answer = await client.post(f"{root}/{method}", json=params)
            body = answer.json()
            if not body.get("ok"):
                raise TelegramRefused(answer.status_code, str(body.get("description", "")))
            return body["result"]

        try:
            me = await call("getMe")
        except TelegramRefused as error:
            fix = (
                "copy the token again from @BotFather (/mybots, API Token) into "
                "EXPERTBOT_TELEGRAM_TOKEN"
                if error.code in (401, 404)
                else "try again later"
            )
            return [Finding(False, "Telegram token", f"Telegram refused it ({error}); {fix}")]
        except (httpx.HTTPError, ValueError) as error:
            reason = scrub(f"{type(error).__name__}: {error}", [token])
            return [
                Finding(
                    False,
                    "Telegram token",
                    f"cannot reach {settings.telegram_api_url} ({reason}); check "
                    "EXPERTBOT_TELEGRAM_API_URL and that this machine may connect out on 443",
                )
            ]
        findings = [Finding(True, "Telegram token", "valid"), username_finding(settings, me)]
        try:
            findings.append(webhook_finding(settings, await call("getWebhookInfo")))
            findings.append(await commands_finding(call))
        except (TelegramRefused, httpx.HTTPError, ValueError) as error:
            reason = scrub(str(error), [token])
            findings.append(Finding(False, "Telegram", f"a check failed midway: {reason}"))
    return findings


def username_finding(settings: Settings, me: dict[str, Any]) -> Finding:
    actual = str(me.get("username", ""))
    configured = settings.telegram_bot_username
    if configured and configured.lower() != actual.lower():
        return Finding(
            False,
            "Bot username",
            f"EXPERTBOT_TELEGRAM_BOT_USERNAME is @{configured} but the token belongs to "
            f"@{actual}; invite links would open the wrong bot: set it to {actual} or remove it",
        )
    return Finding(True, "Bot username", f"@{actual} ({me.get('first_name', '')})")


def webhook_finding(settings: Settings, info: dict[str, Any]) -> Finding:
    url = str(info.get("url") or "")
    expected = f"{settings.public_url}{WEBHOOK_PATH}"
    if settings.telegram_webhook:
        if url != expected:
            now = f"set to {url}" if url else "not set"
            return Finding(
                False,
                "Webhook",
                f"webhook mode, but Telegram's webhook is {now} instead of {expected}: start "
                "the service (expertbot run sets it), and check EXPERTBOT_PUBLIC_URL and that "
                "no other installation uses this token",
            )
        if info.get("last_error_message"):
            return Finding(
                False,
                "Webhook",
                f"Telegram cannot deliver to {url}: {info['last_error_message']}; check that "
                "the address is reachable from the internet with a valid certificate",
            )
        pending = info.get("pending_update_count", 0)
        return Finding(True, "Webhook", f"webhook mode, delivering to {url} ({pending} pending)")
    if url:
        return Finding(
            False,
            "Webhook",
            f"long polling mode, but a webhook is set to {url}, so polling gets no updates: "
            "set EXPERTBOT_TELEGRAM_WEBHOOK=true if that address is this service, else start "
            "expertbot run (it removes the webhook) and check that no other installation uses "
            "this token",
        )
    return Finding(True, "Webhook", "long polling mode, no webhook set")


async def commands_finding(call: Callable[..., Awaitable[Any]]) -> Finding:
    """The command menu `run` registers: the default list and one per language."""
    wanted = set(labels()["commands"])
    missing = []
    for language in ("", "lv", "et", "en"):
        params = {"language_code": language} if language else {}
        found = {item["command"] for item in await call("getMyCommands", **params)}
        if found != wanted:
            missing.append(language or "default")
    if missing:
        return Finding(
            False,
            "Bot commands",
            f"the command menu is missing or out of date for: {', '.join(missing)}; "
            "expertbot run registers it when it starts",
        )
    return Finding(True, "Bot commands", f"registered in lv, et, en: /{', /'.join(sorted(wanted))}")


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
    from bot.ops import doctor_mail  # it builds on the findings above

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
    findings += await check_telegram(settings)
    test = (send_test, await name_of(database, send_test)) if send_test else None
    findings += await doctor_mail.check_mail(settings, test)
    findings.append(await check_public_url(settings))
    findings.append(check_clock(settings, datetime.now(UTC)))
    findings.append(await coordinators_or_why_not(database))
    findings.append(check_disk(settings, min_free))
    return [Finding(f.ok, f.name, scrub(f.detail, secrets)) for f in findings]
