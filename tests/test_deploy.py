"""deploy/ and docs/going-live.md stay true to the code: every EXPERTBOT_ variable they name is
a setting, every `expertbot ...` command they show exists with those options, the Caddyfile
proxies the webhook path the service serves, and the systemd unit passes `systemd-analyze
verify` where that program exists."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pytest
import yaml

from bot.cli import main
from bot.config import PREFIX, Settings
from bot.web.app import WEBHOOK_PATH

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "expertbot.service"
CADDYFILE = DEPLOY / "Caddyfile"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / "env.example"
DEPLOY_FILES = sorted(path for path in DEPLOY.iterdir() if path.is_file())
SETTINGS = {PREFIX + name.upper() for name in Settings.model_fields}
VARIABLE = re.compile(r"\bEXPERTBOT_[A-Z0-9_]*[A-Z0-9]")
# `expertbot ...` where a program is run: after a path, at a line's start, after "$ ", "&& ",
# "exec " or an opening quote or backtick (so prose such as "the expertbot group" is not one);
# its arguments run up to the end of the line, a quote, a backtick, "&&", ";", "|" or "#".
COMMAND = re.compile(
    r"(?:(?<=/)|(?<=^)|(?<=\$ )|(?<=&& )|(?<=exec )|(?<=[`\"']))"
    r"expertbot((?: +[^\s`'\"&;|)\]#]+)*)",
    re.M,
)


# --- helpers, shared with the guide's test ------------------------------------------------


def variables_in(text: str) -> set[str]:
    return set(VARIABLE.findall(text))


def commands_in(text: str) -> list[list[str]]:
    """Every `expertbot ...` invocation in a text, as its arguments (without `expertbot`)."""
    found = []
    for match in COMMAND.finditer(text):
        args = match.group(1).split()
        if args[:1] == ["expertbot"]:  # `docker compose exec expertbot expertbot doctor`
            args = args[1:]
        if args and re.fullmatch(r"[a-z][a-z-]*", args[0]):
            found.append(args)
    return found


def command_problem(args: list[str]) -> str | None:
    """Say what is wrong with `expertbot ARGS`: an unknown (sub)command or option; else None."""
    command: click.Command = main
    context = click.Context(main, info_name="expertbot")
    path = ["expertbot"]
    rest = list(args)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        name = rest.pop(0)
        sub = command.get_command(context, name)
        if sub is None:
            return f"`{' '.join(path)}` has no command {name!r}"
        path.append(name)
        command, context = sub, click.Context(sub, info_name=name, parent=context)
    if isinstance(command, click.Group) and not rest:
        return None  # a group named on its own, e.g. `expertbot contacts`
    known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    known |= {"--help", "-h"}
    for token in rest:
        option = token.split("=", 1)[0]
        if option.startswith("-") and option not in known:
            return f"`{' '.join(path)}` has no option {option}"
    return None


# --- every deploy file ----------------------------------------------------------------------


@pytest.mark.parametrize("path", DEPLOY_FILES, ids=lambda p: p.name)
def test_every_variable_a_deploy_file_names_is_a_setting(path: Path) -> None:
    unknown = variables_in(path.read_text("utf-8")) - SETTINGS
    assert not unknown, f"{path.name} names settings that do not exist: {sorted(unknown)}"


@pytest.mark.parametrize("path", DEPLOY_FILES, ids=lambda p: p.name)
def test_every_command_a_deploy_file_runs_exists(path: Path) -> None:
    problems = [command_problem(args) for args in commands_in(path.read_text("utf-8"))]
    assert [p for p in problems if p] == []


def test_the_command_check_catches_a_wrong_command_and_option() -> None:
    assert commands_in("ExecStart=/opt/expertbot/bin/expertbot run --no-browser") == [
        ["run", "--no-browser"]
    ]
    assert command_problem(["run", "--no-browser"]) is None
    assert command_problem(["contacts", "import", "FILE", "--dry-run"]) is None
    assert command_problem(["db", "upgrade"]) is None
    assert command_problem(["serve"]) == "`expertbot` has no command 'serve'"
    assert command_problem(["db", "migrate"]) == "`expertbot db` has no command 'migrate'"
    assert command_problem(["run", "--daemon"]) == "`expertbot run` has no option --daemon"


def test_the_example_settings_parse_as_the_service_reads_them() -> None:
    settings = Settings(_env_file=ENV_EXAMPLE)  # type: ignore[call-arg]
    assert settings.telegram_webhook
    assert settings.public_url.startswith("https://")
    assert settings.mail_from == "Ekspertu tīkls <tikls@km.example.lv>"


# --- systemd --------------------------------------------------------------------------------


def unit_entries() -> list[tuple[str, str]]:
    """(key, value) of every line of the unit, in order."""
    entries = []
    for line in UNIT.read_text("utf-8").splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            entries.append((key.strip(), value.strip()))
    return entries


def unit_value(key: str) -> str:
    [value] = [v for k, v in unit_entries() if k == key]
    return value


def test_the_unit_starts_the_real_command_after_migrating() -> None:
    script = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["scripts"]
    assert "expertbot" in script
    start = shlex.split(unit_value("ExecStart"))
    assert Path(start[0]).name == "expertbot" and start[1] == "run"
    assert command_problem(start[1:]) is None
    before = shlex.split(unit_value("ExecStartPre"))
    assert Path(before[0]) == Path(start[0]) and before[1:] == ["db", "upgrade"]


def test_the_unit_is_hardened_and_may_write_where_the_data_is() -> None:
    for key, value in {
        "User": "expertbot",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "EnvironmentFile": "/etc/expertbot/env",
        "Restart": "on-failure",
    }.items():
        assert unit_value(key) == value, key
    assert set(unit_value("RestrictAddressFamilies").split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    writable = [Path(p.lstrip("-")) for p in unit_value("ReadWritePaths").split()]
    example = Settings(_env_file=ENV_EXAMPLE, secret_key=None)  # type: ignore[call-arg]
    database = Path(example.database_url.removeprefix("sqlite:///"))
    assert example.backup_dir is not None
    for place in (database.parent, Path(example.backup_dir)):
        assert any(place.is_relative_to(folder) for folder in writable), place


def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # verify wants the programs to exist: point them at this checkout's own `expertbot`.
    installed = Path(sys.executable).parent / "expertbot"
    assert installed.is_file()
    unit = tmp_path / "expertbot.service"
    start = Path(shlex.split(unit_value("ExecStart"))[0])
    unit.write_text(UNIT.read_text("utf-8").replace(str(start), str(installed)), "utf-8")
    result = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "expertbot.service" not in result.stderr, result.stderr


# --- Caddy, the image, compose --------------------------------------------------------------


def test_the_caddyfile_proxies_the_webhook_path_and_the_pages_to_the_service() -> None:
    text = CADDYFILE.read_text("utf-8")
    webhook = re.search(r"handle\s+(\S+)\s*\{\s*reverse_proxy\s+(\S+)\s*\}", text)
    assert webhook is not None and webhook.group(1) == WEBHOOK_PATH
    pages = re.search(r"handle\s*\{\s*reverse_proxy\s+(\S+)\s*\}", text)
    assert pages is not None and pages.group(1) == webhook.group(2)
    example = Settings(_env_file=ENV_EXAMPLE, secret_key=None)  # type: ignore[call-arg]
    assert pages.group(1) == f"{{$UPSTREAM:{example.web_host}:{example.web_port}}}"
    assert re.search(r"handle\s+/metrics\s*\{\s*respond\s+404\s*\}", text), "/metrics is public"
    code = re.sub(r"#.*", "", text)
    assert code.count("{") == code.count("}"), "unbalanced braces"


def test_caddy_accepts_the_caddyfile() -> None:
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed")
    result = subprocess.run(
        [caddy, "adapt", "--config", str(CADDYFILE), "--adapter", "caddyfile", "--validate"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_the_image_installs_the_package_and_runs_unprivileged_with_a_health_check() -> None:
    text = DOCKERFILE.read_text("utf-8")
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = {project["project"]["readme"], "pyproject.toml", *wheel["packages"]}
    needed |= set(wheel["force-include"])
    copied = {
        Path(p).name for line in re.findall(r"^COPY (.+)$", text, re.M) for p in line.split()[:-1]
    }
    assert needed <= copied, f"the image misses {needed - copied}"
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text("utf-8").splitlines()
    let_in = {line[1:] for line in ignore if line.startswith("!")}
    assert needed <= let_in, f"Dockerfile.dockerignore keeps out {needed - let_in}"
    users = re.findall(r"^USER (\S+)$", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*/healthz", text, re.M | re.S)
    assert re.search(r"pip install \.", text)


def test_compose_runs_postgresql_the_service_in_webhook_mode_and_caddy() -> None:
    compose = yaml.safe_load(COMPOSE.read_text("utf-8"))
    services = compose["services"]
    assert set(services) == {"postgres", "expertbot", "caddy"}
    service = services["expertbot"]
    build = service["build"]
    assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    environment = service["environment"]
    assert environment["EXPERTBOT_TELEGRAM_WEBHOOK"] == "true"
    assert environment["EXPERTBOT_DATABASE_URL"].startswith("postgresql://")
    assert environment["EXPERTBOT_DATABASE_URL"].endswith("@postgres/expertbot")
    assert environment["EXPERTBOT_PUBLIC_URL"].startswith("https://")
    assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
    caddy = services["caddy"]
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    assert caddy["environment"]["UPSTREAM"] == f"expertbot:{environment['EXPERTBOT_WEB_PORT']}"
    proxy = caddy["networks"]["internal"]["ipv4_address"]
    assert environment["EXPERTBOT_TRUSTED_PROXIES"] == proxy


# --- docs/going-live.md -------------------------------------------------------------------

GUIDE = ROOT / "docs" / "going-live.md"


def code_in(markdown: str) -> list[str]:
    """The guide's code: fenced blocks and inline spans (a span may wrap onto the next line)."""
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", markdown, re.M | re.S)
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", markdown, flags=re.M | re.S)
    inline = [span.replace("\n", " ") for span in re.findall(r"`([^`]+)`", prose)]
    return fenced + inline


def guide_commands() -> list[list[str]]:
    return [args for code in code_in(GUIDE.read_text("utf-8")) for args in commands_in(code)]


def test_every_command_the_guide_shows_exists_with_its_options() -> None:
    problems = [command_problem(args) for args in guide_commands()]
    assert [p for p in problems if p] == []


def test_the_guide_shows_the_commands_of_each_step() -> None:
    shown = {" ".join(args[:2]) for args in guide_commands()}
    for command in (
        "doctor",
        "doctor --send-test",
        "db upgrade",
        "contacts import",
        "contacts links",
        "backup /var/lib/expertbot/backups/before-upgrade.db",
        "restore /var/lib/expertbot/backups/expertbot-2027-03-01.db",
        "outbox retry",
    ):
        assert command in shown, command


def test_every_setting_the_guide_names_exists() -> None:
    named = variables_in(GUIDE.read_text("utf-8"))
    assert named - SETTINGS == set()
    for needed in ("RETENTION_DAYS", "BACKUP_DIR", "BACKUP_KEEP", "METRICS_TOKEN", "SECRET_KEY"):
        assert PREFIX + needed in named


def test_the_guide_check_catches_a_command_or_setting_that_does_not_exist() -> None:
    markdown = "Run `expertbot backup-now` or\n\n```sh\nexpertbot db upgrade --all\n```\n"
    found = [command_problem(a) for c in code_in(markdown) for a in commands_in(c)]
    assert found == [
        "`expertbot db upgrade` has no option --all",
        "`expertbot` has no command 'backup-now'",
    ]
    assert variables_in("set EXPERTBOT_BACKUP_FOLDER") - SETTINGS == {"EXPERTBOT_BACKUP_FOLDER"}


def test_the_readme_links_the_guide() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "](docs/going-live.md)" in readme
