"""Imports point inward: cli/telegram/web/playground → services → db.

Services know nothing of Telegram, HTTP or the sandbox; channels know only the delivery port;
the database layer knows no one above it. Read from the source (every import, lazy ones inside
functions included), so a violation fails here before anything runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bot"

# What a layer must not import: module prefixes (a prefix matches itself and its submodules).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "bot.services": (
        "telegram",
        "starlette",
        "uvicorn",
        "httpx",
        "aiosmtplib",
        "aiosmtpd",
        "bot.app",
        "bot.cli",
        "bot.telegram",
        "bot.web",
        "bot.playground",
        "bot.sandbox",
        "bot.channels",
        "bot.scheduler",
    ),
    "bot.db": ("bot.",),
    "bot.rendering": ("bot.services", "bot.db", "bot.telegram", "bot.web", "bot.cli"),
    "bot.textformat": ("bot.",),
    # The emulated outside world: it must not lean on the code it stands in front of.
    "bot.sandbox": ("bot.services", "bot.db", "bot.telegram", "bot.web", "bot.cli", "bot.app"),
}
# Channels may take from the services only the delivery port.
CHANNEL_ALLOWED_SERVICES = ("bot.services.delivery.port",)
# What bot.db may import of the project after all.
DB_ALLOWED = ("bot.db", "bot.config")


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str) -> list[tuple[int, str]]:
    """Every module a source imports, with its line: `from a import b` counts as a and a.b."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing package
                anchor = module.split(".")[: -node.level]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def _within(name: str, prefix: str) -> bool:
    return name == prefix.rstrip(".") or name.startswith(prefix.rstrip(".") + ".")


def violations(path: Path, package: Path = PACKAGE) -> list[str]:
    """Name every import of one module that points outward."""
    module = module_name(path, package)
    problems = []
    for line, imported in imports_of(path.read_text("utf-8"), module):
        where = f"{path.relative_to(package.parent)}:{line} imports {imported}"
        for layer, forbidden in FORBIDDEN.items():
            if not _within(module, layer):
                continue
            if layer == "bot.db" and any(_within(imported, ok) for ok in DB_ALLOWED):
                continue
            if any(_within(imported, prefix) for prefix in forbidden):
                problems.append(f"{where}: {layer} must not depend on it")
        if _within(module, "bot.channels") and _within(imported, "bot.services"):
            allowed = CHANNEL_ALLOWED_SERVICES
            if not any(_within(imported, ok) or _within(ok, imported) for ok in allowed):
                problems.append(f"{where}: a channel depends only on the delivery port")
    return problems


def all_violations(package: Path = PACKAGE) -> list[str]:
    return [
        problem for path in sorted(package.rglob("*.py")) for problem in violations(path, package)
    ]


def test_imports_point_inward() -> None:
    assert all_violations() == []


def test_every_service_package_says_what_it_owns() -> None:
    for init in sorted((PACKAGE / "services").glob("*/__init__.py")):
        docstring = ast.get_docstring(ast.parse(init.read_text("utf-8")))
        assert docstring, f"{init.relative_to(PACKAGE.parent)} needs a docstring"


@pytest.mark.parametrize(
    ("where", "source", "complaint"),
    [
        ("services/events/probe.py", "from telegram import Bot\n", "bot.services must not"),
        ("services/events/probe.py", "def f():\n    import starlette.requests\n", "must not"),
        ("services/probe.py", "from bot.web.pages import Pages\n", "must not"),
        ("services/probe.py", "from bot.sandbox import TelegramEmulator\n", "must not"),
        ("db/probe.py", "from bot.services.delivery import outbox\n", "bot.db must not"),
        ("channels/probe.py", "from bot.services.delivery import outbox\n", "delivery port"),
        ("channels/probe.py", "from bot.services.events import reminders\n", "delivery port"),
    ],
)
def test_an_outward_import_is_caught(
    tmp_path: Path, where: str, source: str, complaint: str
) -> None:
    package = tmp_path / "bot"
    path = package / where
    path.parent.mkdir(parents=True)
    path.write_text(source, "utf-8")
    found = violations(path, package)
    assert any(complaint in problem for problem in found), found


def test_an_inward_import_passes(tmp_path: Path) -> None:
    package = tmp_path / "bot"
    for where, source in {
        "channels/probe.py": "from bot.services.delivery.port import Outgoing\n",
        "services/events/probe.py": "from bot.db.models import Event\nfrom . import registry\n",
        "web/probe.py": "from bot.services.events import invitations\n",
    }.items():
        path = package / where
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, "utf-8")
        assert violations(path, package) == []
