"""Import a contacts file (CSV or XLSX) from the console: upload, see every line's problems and
what would change, then import all of it, or only the valid rows; nothing is written before.

The preview and the plan only read (no write lock); the import itself is written in short
batches like the CLI's (bot.services.contacts.imports), so a big upload never keeps the
service's other writers waiting long, and a failed batch takes back the ones before it."""

from __future__ import annotations

import logging
import re
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from bot.services.contacts import imports, registry
from bot.services.contacts.rows import ContactFileError, ParsedFile, parse_rows, read_table
from bot.web.console.auth import Signed, signed_in
from bot.web.console.problems import recognise
from bot.web.console.render import pages, see_other
from bot.web.pages import deps_of

UPLOADS = Path(tempfile.gettempdir()) / "expertbot-uploads"
MAX_BYTES = 20 * 1024 * 1024
KEEP_SECONDS = 3600
SHOWN = 20  # problems listed one by one; the rest are counted
TOKEN = re.compile(r"^[\w-]{16,64}\.(csv|xlsx)$")

log = logging.getLogger(__name__)


def _common(signed: Signed) -> dict[str, Any]:
    return {"me": signed.who.name, "csrf": signed.csrf, "here": "/contacts"}


async def _upload_page(request: Request, signed: Signed) -> Response:
    """Choose the file."""
    return pages(request).render(
        "contacts_import", signed.language, problem=None, **_common(signed)
    )


def _stored(name: str) -> Path | None:
    """The uploaded file a preview named, if it is still kept."""
    if not TOKEN.match(name):
        return None
    path = UPLOADS / name
    return path if path.is_file() else None


def _clean_old() -> None:
    for old in UPLOADS.glob("*"):
        if time.time() - old.stat().st_mtime > KEEP_SECONDS:
            old.unlink(missing_ok=True)


async def _preview(request: Request, signed: Signed) -> Response:
    """Read the file and show what importing it would do; keep it for the next step."""
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return pages(request).render(
            "contacts_import", signed.language, 422, problem="no_file", **_common(signed)
        )
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in (".csv", ".xlsx") or (upload.size or 0) > MAX_BYTES:
        return pages(request).render(
            "contacts_import", signed.language, 422, problem="kind", **_common(signed)
        )
    UPLOADS.mkdir(mode=0o700, parents=True, exist_ok=True)
    _clean_old()
    name = f"{secrets.token_urlsafe(18)}{suffix}"
    (UPLOADS / name).write_bytes(await upload.read())
    return await _show(request, signed, name, upload.filename)


async def _parse(path: Path) -> ParsedFile | str:
    try:
        return parse_rows(read_table(path))
    except ContactFileError as error:
        return str(error).split(": ", 1)[-1]


async def _show(request: Request, signed: Signed, name: str, filename: str) -> Response:
    path = _stored(name)
    parsed = await _parse(path) if path else "gone"
    if isinstance(parsed, str):
        return pages(request).render(
            "contacts_import",
            signed.language,
            422,
            problem="unreadable",
            detail=parsed,
            **_common(signed),
        )
    async with deps_of(request).database.read_scope() as session:
        plan = await registry.plan_import(session, parsed.rows)
    problems = sorted(parsed.errors + plan.conflicts, key=lambda p: p.line)
    return pages(request).render(
        "contacts_import_preview",
        signed.language,
        filename=filename,
        upload=name,
        problems=[
            {"line": p.line, "column": p.column, "reason": recognise(p.reason)}
            for p in problems[:SHOWN]
        ],
        more=max(0, len(problems) - SHOWN),
        bad_lines=len({p.line for p in problems}),
        new=len(plan.new),
        updated=len(plan.updated),
        unchanged=len(plan.unchanged),
        **_common(signed),
    )


async def _apply(request: Request, signed: Signed) -> Response:
    """Import the kept file: all of it (refused if any line is wrong) or only its valid rows."""
    form = await request.form()
    path = _stored(str(form.get("upload", "")))
    valid_only = form.get("mode") == "valid"
    parsed = await _parse(path) if path else "gone"
    if isinstance(parsed, str):
        return see_other(request, "/contacts/import")
    database = deps_of(request).database
    async with database.read_scope() as session:
        plan = await registry.plan_import(session, parsed.rows)
    if (parsed.errors or plan.conflicts) and not valid_only:
        return see_other(request, "/contacts/import")
    try:
        await imports.write_in_batches(database, plan)
    except imports.ImportStopped as stopped:
        if not stopped.undone:  # the batches written stay: say so in the audit log too
            async with database.session_scope() as session:
                await signed.log(
                    session,
                    "import",
                    "contacts",
                    after={"stopped": stopped.written, "of": stopped.total},
                )
        log.warning("a console import stopped: %s", stopped)
        raise stopped.cause from stopped  # a busy database answers "try again in a moment"
    async with database.session_scope() as session:
        await signed.log(
            session,
            "import",
            "contacts",
            after={"new": len(plan.new), "updated": len(plan.updated)},
        )
    assert path is not None
    path.unlink(missing_ok=True)
    return see_other(request, f"/contacts?imported={len(plan.new)}&changed={len(plan.updated)}")


upload_page = signed_in(_upload_page)
preview = signed_in(_preview)
apply = signed_in(_apply)
