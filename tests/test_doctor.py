"""`expertbot doctor` against the Telegram emulator, aiosmtpd and a served /healthz, with each
fault injected: every ✗ names the fix, the exit status says whether anything needs fixing, and
no secret is ever printed."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import trustme
from click.testing import Result

from bot.app import Service
from bot.config import Settings, load_settings
from bot.db import migrate
from bot.ops.doctor import check_disk
from bot.rendering import labels
from bot.sandbox import TelegramEmulator
from bot.sandbox.loopback import LoopbackServer
from bot.sandbox.mail_server import MailServer
from bot.web.app import WEBHOOK_PATH, build_web
from tests.conftest import Cli

SECRET_KEY = "k3y-" + "x" * 44
SMTP_USER, SMTP_PASSWORD = "tikls@km.example", "pässw0rd-not-to-show"
COORDINATOR = "sandra.jansone@km.example"


@dataclass
class Server:
    """Everything a live installation talks to, on loopback, and the settings that name it."""

    cli: Cli
    telegram: TelegramEmulator
    mail: MailServer
    web_url: str
    env: dict[str, str] = field(default_factory=dict)

    async def doctor(self, *args: str, **changes: str) -> Result:
        env = {**self.env, **changes}
        return await asyncio.to_thread(self.cli, "doctor", *args, **env)

    async def bot_api(self, method: str, **params: object) -> object:
        async with httpx.AsyncClient(trust_env=False) as client:
            answer = await client.post(
                f"{self.telegram.base_url}/bot{self.telegram.token}/{method}", json=params
            )
        return answer.json()["result"]

    async def register_commands(self) -> None:
        """What `expertbot run` does on start: the menu for each language and the default."""
        commands = labels()["commands"]
        for language in ("lv", "et", "en"):
            menu = [
                {"command": name, "description": texts[language]}
                for name, texts in commands.items()
            ]
            await self.bot_api("setMyCommands", commands=menu, language_code=language)
        menu = [{"command": name, "description": texts["en"]} for name, texts in commands.items()]
        await self.bot_api("setMyCommands", commands=menu)


def lines(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line[:1] in "✓✗"]


def failed(result: Result) -> list[str]:
    return [line for line in lines(result) if line.startswith("✗")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def add_coordinator(cli: Cli, folder: Path) -> None:
    sheet = folder / "coordinators.csv"
    sheet.write_text(f"name,email,role\nSandra Jansone,{COORDINATOR},coordinator\n", "utf-8")
    result = await asyncio.to_thread(cli, "contacts", "import", str(sheet))
    assert result.exit_code == 0, result.output


@pytest.fixture
async def live(cli: Cli) -> AsyncIterator[Server]:
    """A server set up as docs/going-live.md says: every check passes."""
    async with (
        TelegramEmulator() as telegram,
        MailServer(logins={SMTP_USER: SMTP_PASSWORD}) as mail,
        LoopbackServer(build_web()) as web,
    ):
        server = Server(cli, telegram, mail, web.url)
        server.env = {
            "EXPERTBOT_TELEGRAM_TOKEN": telegram.token,
            "EXPERTBOT_TELEGRAM_API_URL": telegram.base_url,
            "EXPERTBOT_SMTP_HOST": "127.0.0.1",
            "EXPERTBOT_SMTP_PORT": str(mail.port),
            "EXPERTBOT_SMTP_USERNAME": SMTP_USER,
            "EXPERTBOT_SMTP_PASSWORD": SMTP_PASSWORD,
            "EXPERTBOT_SECRET_KEY": SECRET_KEY,
            "EXPERTBOT_PUBLIC_URL": web.url,
        }
        await server.register_commands()
        yield server


@pytest.fixture
async def ready(live: Server, tmp_path: Path) -> Server:
    await add_coordinator(live.cli, tmp_path)
    return live


def secrets_of(server: Server) -> list[str]:
    return [server.telegram.token, SMTP_PASSWORD, SECRET_KEY]


async def test_a_ready_server_passes_every_check_and_sends_nothing(ready: Server) -> None:
    result = await ready.doctor()
    assert result.exit_code == 0, result.output
    assert failed(result) == []
    names = [line.split(":")[0][2:] for line in lines(result)]
    for name in ("Settings", "Database", "Secret key", "Telegram token", "Bot username"):
        assert name in names
    for name in ("Webhook", "Bot commands", "Mail server", "Mail TLS", "Mail login"):
        assert name in names
    for name in ("Public URL", "Time zone", "Coordinators", "Disk space"):
        assert name in names
    assert "@expertbot_test_bot" in result.output
    assert "All 14 checks passed." in result.output
    assert ready.mail.messages == []
    asked = {call.method for call in ready.telegram.calls}
    assert asked == {"setMyCommands", "getMe", "getWebhookInfo", "getMyCommands"}
    for secret in secrets_of(ready):
        assert secret not in result.output


async def test_a_running_service_in_webhook_mode_passes_every_check(
    live: Server, tmp_path: Path
) -> None:
    """The service sets the webhook and the command menu itself; doctor finds them as set."""
    await add_coordinator(live.cli, tmp_path)
    await live.bot_api("deleteMyCommands")  # what the fixture set up: now `run` has to
    port = free_port()
    env = {
        **live.env,
        "EXPERTBOT_DATABASE_URL": live.cli.url,
        "EXPERTBOT_TELEGRAM_WEBHOOK": "true",
        "EXPERTBOT_WEB_PORT": str(port),
        "EXPERTBOT_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    fields = {name.removeprefix("EXPERTBOT_").lower(): value for name, value in env.items()}
    service, stop = Service(load_settings(**fields)), asyncio.Event()
    running = asyncio.create_task(service.run(stop))
    try:
        await asyncio.wait_for(service.ready.wait(), 30)
        result = await live.doctor(**env)
    finally:
        stop.set()
        await running
    assert result.exit_code == 0, result.output
    assert f"✓ Webhook: webhook mode, delivering to http://127.0.0.1:{port}/telegram" in (
        result.output
    )
    assert f"✓ Public URL: http://127.0.0.1:{port}/healthz answers 200" in result.output


async def test_a_wrong_token_says_to_copy_it_again_from_botfather(ready: Server) -> None:
    wrong = "7000000001:AAAAwrongwrongwrongwrongwrongwro"
    result = await ready.doctor(EXPERTBOT_TELEGRAM_TOKEN=wrong)
    assert result.exit_code == 1
    [problem] = failed(result)
    assert problem.startswith("✗ Telegram token: Telegram refused it (401")
    assert "@BotFather" in problem and "EXPERTBOT_TELEGRAM_TOKEN" in problem
    assert wrong not in result.output and "wrongwrong" not in result.output


async def test_a_webhook_left_set_in_polling_mode_is_a_mismatch(ready: Server) -> None:
    await ready.bot_api("setWebhook", url="https://old.example.lv/telegram")
    result = await ready.doctor()
    assert result.exit_code == 1
    [problem] = failed(result)
    assert problem.startswith("✗ Webhook: long polling mode, but a webhook is set to")
    assert "EXPERTBOT_TELEGRAM_WEBHOOK=true" in problem


async def test_webhook_mode_wants_telegrams_webhook_on_the_public_url(ready: Server) -> None:
    result = await ready.doctor(EXPERTBOT_TELEGRAM_WEBHOOK="true")
    assert result.exit_code == 1
    [problem] = failed(result)
    assert problem.startswith("✗ Webhook: webhook mode, but Telegram's webhook is not set")
    assert f"{ready.web_url}{WEBHOOK_PATH}" in problem

    await ready.bot_api("setWebhook", url=f"{ready.web_url}{WEBHOOK_PATH}")
    result = await ready.doctor(EXPERTBOT_TELEGRAM_WEBHOOK="true")
    assert result.exit_code == 0, result.output
    assert f"✓ Webhook: webhook mode, delivering to {ready.web_url}{WEBHOOK_PATH}" in result.output


async def test_a_bot_without_its_command_menu_fails(ready: Server) -> None:
    await ready.bot_api("deleteMyCommands", language_code="et")
    result = await ready.doctor()
    [problem] = failed(result)
    assert problem.startswith("✗ Bot commands: the command menu is missing or out of date for: et")
    assert "expertbot run registers it" in problem


async def test_a_mail_server_that_is_down_fails_with_where_it_was_looked_for(
    ready: Server,
) -> None:
    await ready.mail.stop()
    result = await ready.doctor()
    assert result.exit_code == 1
    [problem] = failed(result)
    assert problem.startswith(f"✗ Mail server: cannot connect to 127.0.0.1:{ready.mail.port}")
    assert "EXPERTBOT_SMTP_HOST" in problem


async def test_a_refused_mail_login_fails_without_showing_the_password(ready: Server) -> None:
    wrong = "not-the-password-either"
    result = await ready.doctor(EXPERTBOT_SMTP_PASSWORD=wrong)
    assert result.exit_code == 1
    [problem] = failed(result)
    assert problem.startswith(f"✗ Mail login: the server refused {SMTP_USER} (535")
    assert "EXPERTBOT_SMTP_PASSWORD" in problem
    assert wrong not in result.output and SMTP_PASSWORD not in result.output
    assert ready.mail.messages == []


@pytest.fixture
def authority(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> trustme.CA:
    """A certificate authority this machine trusts (OpenSSL reads SSL_CERT_FILE)."""
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    return ca


def server_tls(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    return context


async def test_starttls_is_checked_with_the_servers_certificate(
    ready: Server, authority: trustme.CA
) -> None:
    logins = {SMTP_USER: SMTP_PASSWORD}
    tls = server_tls(authority)
    async with MailServer(tls_context=tls, require_starttls=True, logins=logins) as mail:
        result = await ready.doctor(EXPERTBOT_SMTP_PORT=str(mail.port))
        assert result.exit_code == 0, result.output
        assert "✓ Mail TLS: STARTTLS, certificate valid" in result.output
        assert f"✓ Mail login: accepted for {SMTP_USER}" in result.output

    strange = server_tls(trustme.CA())  # a certificate nobody vouches for
    async with MailServer(tls_context=strange, require_starttls=True, logins=logins) as mail:
        result = await ready.doctor(EXPERTBOT_SMTP_PORT=str(mail.port))
        [problem] = failed(result)
        assert problem.startswith(f"✗ Mail TLS: STARTTLS with 127.0.0.1:{mail.port} failed")
        assert "certificate" in problem


async def test_starttls_asked_for_but_not_offered_fails(ready: Server) -> None:
    result = await ready.doctor(EXPERTBOT_SMTP_SECURITY="starttls")
    assert result.exit_code == 1
    [problem] = failed(result)
    assert problem.startswith(f"✗ Mail TLS: 127.0.0.1:{ready.mail.port} offers no STARTTLS")


async def test_a_weak_secret_key_fails_with_how_to_make_one(ready: Server) -> None:
    result = await ready.doctor(EXPERTBOT_SECRET_KEY="only-sixteen-byt")
    assert result.exit_code == 1
    [problem] = failed(result)
    assert problem.startswith("✗ Secret key: EXPERTBOT_SECRET_KEY has 16 bytes, at least 32")
    assert "secrets.token_urlsafe(48)" in problem
    assert "only-sixteen-byt" not in result.output


async def test_an_installation_without_a_coordinator_fails(live: Server) -> None:
    result = await live.doctor()
    assert result.exit_code == 1
    [problem] = failed(result)
    assert problem.startswith("✗ Coordinators: there is no contact with role coordinator")
    assert "expertbot contacts import FILE" in problem


async def test_a_public_url_that_does_not_answer_fails(ready: Server) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    result = await ready.doctor(EXPERTBOT_PUBLIC_URL=nowhere)
    assert result.exit_code == 1
    [problem] = failed(result)
    assert problem.startswith(f"✗ Public URL: {nowhere}/healthz does not answer")


async def test_a_public_url_off_this_machine_must_be_https(ready: Server) -> None:
    result = await ready.doctor(EXPERTBOT_PUBLIC_URL="http://ekspertu-tikls.km.example.lv")
    [problem] = failed(result)
    assert problem.startswith("✗ Public URL: http://ekspertu-tikls.km.example.lv is not https")


async def test_a_database_with_pending_migrations_says_to_upgrade(ready: Server) -> None:
    await asyncio.to_thread(migrate.downgrade, ready.cli.url, "-1")
    result = await ready.doctor()
    assert result.exit_code == 1
    problems = failed(result)
    assert problems[0].startswith("✗ Database: sqlite:///")
    assert "run expertbot db upgrade" in problems[0]


async def test_a_missing_database_file_is_not_created(ready: Server, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "expertbot.db"
    result = await ready.doctor(EXPERTBOT_DATABASE_URL=f"sqlite:///{missing}")
    assert result.exit_code == 1
    assert f"✗ Database: no database file at {missing}" in result.output
    assert not missing.exists()


async def test_send_test_mails_one_message_in_the_default_language(ready: Server) -> None:
    result = await ready.doctor("--send-test", COORDINATOR, EXPERTBOT_DEFAULT_LANGUAGE="et")
    assert result.exit_code == 0, result.output
    assert f"✓ Test mail: sent to {COORDINATOR} (et)" in result.output
    [mail] = await ready.mail.wait_for_address(COORDINATOR)
    assert len(ready.mail.messages) == 1
    assert mail["Subject"] == "Proovikiri ekspertide võrgustikult"
    body = mail.get_body(("plain",))
    assert body is not None
    assert "Tere, Sandra Jansone!" in body.get_content()
    assert ready.web_url in body.get_content()


async def test_an_unconfigured_channel_is_not_a_failure_but_no_channel_at_all_is(
    ready: Server,
) -> None:
    result = await ready.doctor(EXPERTBOT_SMTP_HOST="")
    assert result.exit_code == 0, result.output
    assert "✓ Mail: not configured (EXPERTBOT_SMTP_HOST is not set)" in result.output

    del ready.env["EXPERTBOT_TELEGRAM_TOKEN"]
    result = await ready.doctor(EXPERTBOT_SMTP_HOST="")
    assert result.exit_code == 1
    assert "✓ Telegram: not configured (EXPERTBOT_TELEGRAM_TOKEN is not set)" in result.output
    [problem] = failed(result)
    assert problem.startswith("✗ Channels: neither Telegram nor email is configured")


async def test_a_malformed_setting_fails_with_its_fix(ready: Server) -> None:
    result = await ready.doctor(EXPERTBOT_QUIET_HOURS="late")
    assert result.exit_code == 1
    assert lines(result) == [
        "✗ Settings: EXPERTBOT_QUIET_HOURS: 'late' is not HH:MM-HH:MM; use HH:MM-HH:MM such as "
        "20:00-08:00, or leave it empty to turn quiet hours off."
    ]


def test_too_little_free_disk_space_fails(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'expertbot.db'}")
    assert check_disk(settings).ok
    short = check_disk(settings, min_free=1 << 60)
    assert not short.ok
    assert f"free in {tmp_path}" in short.detail
    assert "free some space" in short.detail


async def test_a_postgresql_database_is_checked_and_its_password_never_shown(
    live: Server, postgres_url: str, tmp_path: Path
) -> None:
    await add_coordinator(Cli(postgres_url), tmp_path)
    result = await live.doctor(EXPERTBOT_DATABASE_URL=postgres_url)
    assert result.exit_code == 0, result.output
    assert "✓ Database: postgresql://" in result.output
    assert "✓ Coordinators: 1, of whom 1 can be reached" in result.output

    password = "S3cret-db-pass"
    elsewhere = postgres_url.replace("postgres@", f"postgres:{password}@").rsplit("/", 1)[0]
    result = await live.doctor(EXPERTBOT_DATABASE_URL=f"{elsewhere}/no_such_database")
    assert result.exit_code == 1
    assert "✗ Database: cannot reach postgresql://postgres:***@" in result.output
    assert "no_such_database" in result.output
    assert password not in result.output
