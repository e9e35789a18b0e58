"""Email goes through aiosmtplib to a real SMTP server on loopback, with TLS, AUTH and faults."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.header import decode_header, make_header

import pytest
import trustme

from bot.channels.email import EmailSender, SmtpConfig
from bot.sandbox.mail_server import MailServer
from bot.services.delivery.port import Attachment, Outgoing

NOW = datetime(2027, 1, 20, 9, 0, tzinfo=UTC)


def outgoing(address: str = "kadri.tamm@valga.example", **changes: object) -> Outgoing:
    values: dict[str, object] = dict(
        outbox_id=7,
        channel="email",
        kind="event_invitation",
        contact_id=1,
        address=address,
        name="Anneli Õunapuu-Kalniņa",
        language="et",
        subject="Kutse: Läti ja Eesti ekspertide kohtumine Valgas — ŠŽ āēīū",
        text="Tere, Anneli!\nKohtumine toimub 4. veebruaril 2027.",
        html="<p>Tere, <b>Anneli</b>!</p>",
        telegram="",
        unsubscribe_url="https://bot.example/u/signed-token",
        unsubscribe_mailto="mailto:tikls@km.example?subject=unsubscribe",
    )
    values.update(changes)
    return Outgoing(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server_tls(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def client_tls(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    authority.configure_trust(context)
    return context


@pytest.fixture
async def plain_server() -> AsyncIterator[MailServer]:
    async with MailServer() as server:
        yield server


def plain_config(server: MailServer, **changes: object) -> SmtpConfig:
    values: dict[str, object] = dict(
        host="127.0.0.1",
        port=server.port,
        security="none",
        mail_from="Ekspertu tīkls <tikls@km.example>",
        reply_to="sandra.jansone@km.example",
        timeout=5,
    )
    values.update(changes)
    return SmtpConfig(**values)  # type: ignore[arg-type]


async def test_a_message_arrives_multipart_with_encoded_headers(plain_server: MailServer) -> None:
    sender = EmailSender(plain_config(plain_server))
    result = await sender.send(outgoing(), now=NOW)
    assert result.outcome == "sent" and result.provider_id
    mail = (await plain_server.wait_for(1))[0].message
    raw_headers = plain_server.messages[0].raw.split(b"\r\n\r\n", 1)[0]
    assert b"=?utf-8?" in raw_headers  # RFC 2047, not raw 8-bit
    assert str(make_header(decode_header(str(mail["Subject"])))).endswith("ŠŽ āēīū")
    assert "Õunapuu-Kalniņa" in str(mail["To"])
    assert str(mail["Message-ID"]) == result.provider_id
    assert mail["Reply-To"] == "sandra.jansone@km.example"
    assert mail["List-Unsubscribe"] == (
        "<https://bot.example/u/signed-token>, <mailto:tikls@km.example?subject=unsubscribe>"
    )
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Date"] == "Wed, 20 Jan 2027 09:00:00 +0000"
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None and "4. veebruaril 2027" in text.get_content()
    assert html is not None and "<b>Anneli</b>" in html.get_content()
    await sender.close()


async def test_a_line_break_in_a_name_or_subject_stays_inside_its_header(
    plain_server: MailServer,
) -> None:
    sender = EmailSender(plain_config(plain_server))
    broken = outgoing(name="Anneli\r\n\r\nBcc: x@evil.example", subject="Kutse\n\nSeminārs")
    assert (await sender.send(broken, now=NOW)).outcome == "sent"
    mail = (await plain_server.wait_for(1))[0].message
    assert mail["Bcc"] is None and "Bcc: x@evil.example" in str(
        make_header(decode_header(str(mail["To"])))
    )
    assert str(make_header(decode_header(str(mail["Subject"])))) == "Kutse Seminārs"
    assert mail.get_body(("plain",)) is not None  # the body is still the body
    await sender.close()


async def test_connections_are_reused_across_messages(plain_server: MailServer) -> None:
    sender = EmailSender(plain_config(plain_server), pool_size=2)
    for n in range(5):
        assert (await sender.send(outgoing(outbox_id=n))).outcome == "sent"
    assert sender.connections_opened == 1
    assert len(await plain_server.wait_for(5)) == 5
    await sender.close()


async def test_a_calendar_invitation_is_attached_with_method_request(
    plain_server: MailServer,
) -> None:
    ics = b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
    invite = Attachment("valga-2027.ics", "text/calendar", ics, {"method": "REQUEST"})
    sender = EmailSender(plain_config(plain_server))
    await sender.send(outgoing(attachments=(invite,)))
    mail = (await plain_server.wait_for(1))[0].message
    parts = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    assert parts[0].get_param("method") == "REQUEST"
    assert parts[0].get_filename() == "valga-2027.ics"
    assert parts[0].get_content().encode() == ics
    await sender.close()


async def test_starttls_and_auth_are_used_when_the_server_requires_them(
    server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    logins = {"bot": "pässword"}
    async with MailServer(tls_context=server_tls, require_starttls=True, logins=logins) as server:
        config = plain_config(
            server, security="starttls", username="bot", password="pässword", tls_context=client_tls
        )
        assert (await EmailSender(config).send(outgoing())).outcome == "sent"
        wrong = plain_config(
            server, security="starttls", username="bot", password="wrong", tls_context=client_tls
        )
        refused = await EmailSender(wrong).send(outgoing())
        assert refused.outcome == "misconfigured" and "535" in refused.reason
        assert len(server.messages) == 1


async def test_implicit_tls_on_port_465_style_servers(
    server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    async with MailServer(tls_context=server_tls, implicit_tls=True) as server:
        config = plain_config(server, security="tls", tls_context=client_tls)
        assert (await EmailSender(config).send(outgoing())).outcome == "sent"


async def test_a_550_for_the_recipient_is_a_bounce(plain_server: MailServer) -> None:
    plain_server.faults.refuse["gone@valga.example"] = "550 5.1.1 No such user"
    result = await EmailSender(plain_config(plain_server)).send(outgoing("gone@valga.example"))
    assert result.outcome == "unreachable" and result.state == "bounced"
    assert "550" in result.reason


async def test_a_450_for_the_recipient_is_retried(plain_server: MailServer) -> None:
    plain_server.faults.refuse["full@valga.example"] = "450 4.2.2 Mailbox full"
    result = await EmailSender(plain_config(plain_server)).send(outgoing("full@valga.example"))
    assert result.outcome == "retry" and "450" in result.reason


async def test_a_421_from_a_busy_server_is_retried(plain_server: MailServer) -> None:
    plain_server.faults.busy = 1
    sender = EmailSender(plain_config(plain_server))
    result = await sender.send(outgoing())
    assert result.outcome == "retry" and "421" in result.reason
    assert (await sender.send(outgoing())).outcome == "sent"


async def test_a_dropped_connection_is_retried_and_the_next_send_reconnects(
    plain_server: MailServer,
) -> None:
    plain_server.faults.drop = 2
    sender = EmailSender(plain_config(plain_server))
    result = await sender.send(outgoing())
    assert result.outcome == "retry"
    assert (await sender.send(outgoing())).outcome == "sent"
    assert len(plain_server.messages) == 1


async def test_no_server_listening_is_a_retry_not_a_crash() -> None:
    config = SmtpConfig(host="127.0.0.1", port=1, security="none", timeout=2)
    result = await EmailSender(config).send(outgoing())
    assert result.outcome == "retry" and "cannot connect" in result.reason
