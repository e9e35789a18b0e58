"""The doctor's mail checks: the SMTP server answers, TLS is as configured, the login is
accepted; nothing is sent unless a test mail is asked for."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime

import aiosmtplib

from bot.channels.email import EmailSender, SmtpConfig
from bot.config import Settings
from bot.ops.doctor import Finding, is_loopback
from bot.rendering import Renderer
from bot.services.delivery.port import Outgoing

TIMEOUT = 10.0
TEST_KIND = "test_mail"


def smtp_config(settings: Settings) -> SmtpConfig:
    """The configuration the service's own email sender gets."""
    assert settings.smtp_host
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=password,
        security=settings.smtp_security,
        mail_from=settings.mail_from,
        timeout=TIMEOUT,
    )


async def check_mail(settings: Settings, send_test: tuple[str, str] | None = None) -> list[Finding]:
    """Connect, secure and log in as the service would, then quit; with `send_test`
    (address, name), then send one test mail."""
    if not settings.smtp_host:
        return [Finding(True, "Mail", "not configured (EXPERTBOT_SMTP_HOST is not set)")]
    config = smtp_config(settings)
    where = f"{config.host}:{config.port}"
    implicit = config.security == "tls" or (config.security == "auto" and config.port == 465)
    client = aiosmtplib.SMTP(
        hostname=config.host, port=config.port, use_tls=implicit, start_tls=False, timeout=TIMEOUT
    )
    try:
        await client.connect()
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
        return [
            Finding(
                False,
                "Mail server",
                f"cannot connect to {where} ({error}); check EXPERTBOT_SMTP_HOST and "
                "EXPERTBOT_SMTP_PORT, and that the firewall lets this machine connect there",
            )
        ]
    try:
        findings = [Finding(True, "Mail server", f"{where} answers")]
        tls = await _secure(client, config, implicit, where)
        findings.append(tls)
        if tls.ok:
            findings.append(await _log_in(client, config))
    finally:
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            client.close()
    if send_test and all(finding.ok for finding in findings):
        findings.append(await send_test_mail(settings, config, *send_test))
    return findings


async def _secure(
    client: aiosmtplib.SMTP, config: SmtpConfig, implicit: bool, where: str
) -> Finding:
    if implicit:
        return Finding(True, "Mail TLS", "TLS from the first byte (port 465 style)")
    if config.security == "none":
        return Finding(True, "Mail TLS", "none, as configured (EXPERTBOT_SMTP_SECURITY=none)")
    try:
        await client.ehlo()
        if not client.supports_extension("starttls"):
            if config.security == "auto" and is_loopback(config.host):
                return Finding(True, "Mail TLS", "none: a relay on this machine")
            return Finding(
                False,
                "Mail TLS",
                f"{where} offers no STARTTLS, so the password and every message would cross "
                "the network unencrypted; use the provider's submission port (587 with "
                "STARTTLS, or 465 with EXPERTBOT_SMTP_SECURITY=tls)",
            )
        await client.starttls()
    except (aiosmtplib.SMTPException, ssl.SSLError, OSError) as error:
        return Finding(
            False,
            "Mail TLS",
            f"STARTTLS with {where} failed ({error}); the server's certificate must be valid "
            "for EXPERTBOT_SMTP_HOST",
        )
    return Finding(True, "Mail TLS", "STARTTLS, certificate valid")


async def _log_in(client: aiosmtplib.SMTP, config: SmtpConfig) -> Finding:
    if not config.username:
        return Finding(True, "Mail login", "none configured (the server relays for this machine)")
    try:
        await client.login(config.username, config.password or "")
    except aiosmtplib.SMTPAuthenticationError as error:
        return Finding(
            False,
            "Mail login",
            f"the server refused {config.username} ({error.code} {error.message}); check "
            "EXPERTBOT_SMTP_USERNAME and EXPERTBOT_SMTP_PASSWORD",
        )
    except aiosmtplib.SMTPException as error:
        return Finding(
            False,
            "Mail login",
            f"cannot log in as {config.username} ({error}); the server may not offer AUTH on "
            "this port: check EXPERTBOT_SMTP_PORT and EXPERTBOT_SMTP_SECURITY",
        )
    return Finding(True, "Mail login", f"accepted for {config.username}")


async def send_test_mail(
    settings: Settings, config: SmtpConfig, address: str, name: str
) -> Finding:
    """Send one test message in the default language through the service's own sender."""
    language = settings.default_language
    values = {"contact_name": name, "public_url": settings.public_url}
    rendered = Renderer(default_timezone=settings.timezone).render(TEST_KIND, language, values)
    message = Outgoing(
        outbox_id=0,
        channel="email",
        kind=TEST_KIND,
        contact_id=0,
        address=address,
        name=name if name != address else "",
        language=language,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        telegram=rendered.telegram,
    )
    sender = EmailSender(config, pool_size=1)
    try:
        result = await sender.send(message, datetime.now(UTC))
    finally:
        await sender.close()
    if result.outcome != "sent":
        return Finding(False, "Test mail", f"not sent to {address}: {result.reason}")
    return Finding(True, "Test mail", f"sent to {address} ({language}); check that it arrived")
