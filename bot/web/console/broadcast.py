"""Broadcast from the console: write, choose the audience, see who gets it on which channel,
send, and follow the progress to the end (the page refreshes itself while messages wait)."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from bot.db.models import Event
from bot.db.vocab import LANGUAGES, ROLES
from bot.rendering import label
from bot.services.delivery import broadcasts
from bot.textformat import pick_language
from bot.web.console.auth import Signed, signed_in
from bot.web.console.render import pages, see_other
from bot.web.pages import deps_of

TEXT_LIMIT = 3500  # leaves room in Telegram's 4,096 characters


async def _audiences(request: Request, signed: Signed) -> list[tuple[str, str]]:
    """Who a broadcast can go to: everyone, a role, a country, a language, an event's invited."""
    lang = signed.language
    choices = [("all", label("buttons", "everyone", lang))]
    choices += [(f"role:{r}", label("roles", r, lang)) for r in ROLES]
    choices += [(f"country:{c}", label("countries", c, lang)) for c in ("LV", "EE")]
    choices += [(f"lang:{code}", label("languages", code, lang)) for code in LANGUAGES]
    async with deps_of(request).database.read_scope() as session:
        coming = await session.scalars(
            select(Event).where(Event.ends_at >= signed.now).order_by(Event.starts_at)
        )
        choices += [(f"event:{e.id}", pick_language(e.title, lang)) for e in coming]
    return choices


def _common(signed: Signed) -> dict[str, Any]:
    return {"me": signed.who.name, "csrf": signed.csrf, "here": "/broadcast"}


def _texts(form: Any) -> dict[str, str]:
    """The message in each language written (the form has one box a language)."""
    return {
        lang: str(form.get(f"text_{lang}", "")).strip()
        for lang in LANGUAGES
        if str(form.get(f"text_{lang}", "")).strip()
    }


async def _compose(request: Request, signed: Signed) -> Response:
    """Write the message (in one language or more) and choose who gets it."""
    return pages(request).render(
        "broadcast",
        signed.language,
        audiences=await _audiences(request, signed),
        chosen="all",
        texts={},
        errors=[],
        **_common(signed),
    )


async def _preview(request: Request, signed: Signed) -> Response:
    """Show the message and the counts per channel and language before anything is sent."""
    form = await request.form()
    texts = _texts(form)
    choice = str(form.get("audience", "all"))
    audiences = await _audiences(request, signed)
    errors = ["empty"] if not texts else []
    if any(len(t) > TEXT_LIMIT for t in texts.values()):
        errors.append("too_long")
    if choice not in dict(audiences):
        errors.append("audience")
    if errors:
        return pages(request).render(
            "broadcast",
            signed.language,
            422,
            audiences=audiences,
            chosen=choice,
            texts=texts,
            errors=errors,
            limit=TEXT_LIMIT,
            **_common(signed),
        )
    async with deps_of(request).database.session_scope() as session:
        people = await broadcasts.recipients(session, choice)
        shown = await broadcasts.preview(session, people)
    return pages(request).render(
        "broadcast_preview",
        signed.language,
        texts=texts,
        choice=choice,
        audience=dict(audiences)[choice],
        preview=shown,
        language_names=[(code, label("languages", code, signed.language)) for code in LANGUAGES],
        **_common(signed),
    )


async def _send(request: Request, signed: Signed) -> Response:
    """Queue the message for everyone chosen, then follow its progress."""
    form = await request.form()
    texts = {lang: text[:TEXT_LIMIT] for lang, text in _texts(form).items()}
    choice = str(form.get("audience", ""))
    deps = deps_of(request)
    if not texts or choice not in dict(await _audiences(request, signed)) or deps.policy is None:
        return see_other(request, "/broadcast")
    key = f"broadcast:console:{secrets.token_hex(6)}"
    async with deps.database.session_scope() as session:
        people = await broadcasts.recipients(session, choice)
        # One language written: everyone gets it as written; several: each their own (or lv).
        text: str | dict[str, str] = next(iter(texts.values())) if len(texts) == 1 else texts
        queued = await broadcasts.send(
            session, people, text, key=key, now=signed.now, policy=deps.policy
        )
        await signed.log(session, "broadcast", key, after={"audience": choice, "messages": queued})
    return see_other(request, f"/broadcast/{key.rsplit(':', 1)[1]}")


async def _progress(request: Request, signed: Signed) -> Response:
    """How far a broadcast has gone: sent, waiting, not delivered and why."""
    key = f"broadcast:console:{request.path_params['key']}"
    async with deps_of(request).database.read_scope() as session:
        state = await broadcasts.progress(session, key)
    return pages(request).render(
        "broadcast_progress",
        signed.language,
        sent=state.counts["sent"],
        pending=state.pending,
        failures=state.failures,
        total=sum(state.counts.values()),
        **_common(signed),
    )


compose = signed_in(_compose)
preview = signed_in(_preview)
send = signed_in(_send)
progress = signed_in(_progress)
