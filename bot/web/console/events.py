"""An event in the console: answers, inviting its audience, attendance at the door."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from bot.db.models import Contact, Event, Invitation
from bot.services.contacts.audience import Audience
from bot.services.events import attendance, invitations, reminders
from bot.services.events import registry as events
from bot.services.events.invitation_messages import load_event
from bot.web.console.auth import Signed, signed_in
from bot.web.console.render import pages, see_other
from bot.web.pages import deps_of


async def _event(session: AsyncSession, request: Request) -> Event | None:
    found = await events.find_event(session, request.path_params["key"])
    return await load_event(session, found.id) if found else None


def _common(request: Request, signed: Signed, here: str) -> dict[str, Any]:
    return {"me": signed.who.name, "csrf": signed.csrf, "here": here}


def _missing(request: Request, signed: Signed) -> Response:
    key = request.path_params["key"]
    return pages(request).render(
        "not_found", signed.language, 404, key=key, **_common(request, signed, "/")
    )


async def _show(request: Request, signed: Signed) -> Response:
    """Show an event with everyone's answer and the channel it came by."""
    async with deps_of(request).database.read_scope() as session:
        event = await _event(session, request)
        if event is None:
            return _missing(request, signed)
        rsvps = await events.list_rsvps(session, event)
        counts = (await events.answer_counts(session, [event.id]))[event.id]
    key = event.slug
    schedule = sorted(event.starts_at - timedelta(seconds=s) for s in event.reminder_offsets)
    return pages(request).render(
        "event",
        signed.language,
        event=event,
        rsvps=rsvps,
        counts=counts,
        invited=request.query_params.get("invited"),
        answered=request.query_params.get("answer"),
        agenda_sent=request.query_params.get("agenda"),
        reminders=[{"at": at, "past": at <= signed.now} for at in schedule],
        **_common(request, signed, f"/events/{key}"),
    )


async def _invite(request: Request, signed: Signed) -> Response:
    """Preview an invitation round (GET) with counts per channel and language; POST sends it."""
    deps = deps_of(request)
    async with deps.database.session_scope(write=request.method == "POST") as session:
        event = await _event(session, request)
        if event is None:
            return _missing(request, signed)
        plan = await invitations.plan(session, event, Audience.from_mapping(event.audience))
        if request.method == "POST" and deps.policy is not None and not plan.missing_language:
            sent = await invitations.invite(
                session, event, plan, now=signed.now, policy=deps.policy
            )
            await signed.log(session, "invite", f"event:{event.slug}", after={"invited": sent})
            return see_other(request, f"/events/{event.slug}?invited={sent}")
    return pages(request).render(
        "invite",
        signed.language,
        event=event,
        plan=plan,
        **_common(request, signed, f"/events/{event.slug}"),
    )


async def _attendance(request: Request, signed: Signed) -> Response:
    """The list to tap at the door: who is here, and a box for walk-ins."""
    async with deps_of(request).database.read_scope() as session:
        event = await _event(session, request)
        if event is None:
            return _missing(request, signed)
        people = await attendance.people(session, event)
    return pages(request).render(
        "attendance",
        signed.language,
        event=event,
        people=people,
        present=sum(p.present for p in people),
        added=request.query_params.get("added"),
        **_common(request, signed, f"/events/{event.slug}/attendance"),
    )


async def _mark(request: Request, signed: Signed) -> Response:
    """Mark one person present, or take the mark back."""
    form = await request.form()
    try:
        contact_id = int(str(form.get("contact_id", "")))
    except ValueError:
        contact_id = 0
    present = str(form.get("present", "")) == "1"
    async with deps_of(request).database.session_scope() as session:
        event = await _event(session, request)
        if event is None:
            return _missing(request, signed)
        if await attendance.set_present(session, event, contact_id, present, now=signed.now):
            await signed.log(
                session,
                "present" if present else "not_present",
                f"event:{event.slug}",
                after={"contact_id": contact_id},
            )
    return see_other(request, f"/events/{event.slug}/attendance#c{contact_id}")


async def _walk_in(request: Request, signed: Signed) -> Response:
    """Record someone who came without an invitation: a known address, or a new guest."""
    form = await request.form()
    given = str(form.get("who", "")).strip()[:200]
    organisation = str(form.get("organisation", "")).strip()[:300]
    async with deps_of(request).database.session_scope() as session:
        event = await _event(session, request)
        if event is None:
            return _missing(request, signed)
        if not given:
            return see_other(request, f"/events/{event.slug}/attendance")
        contact = await _known(session, given)
        if contact is None:
            contact = await attendance.add_walk_in(
                session, event, given, now=signed.now, organisation=organisation
            )
        else:
            await attendance.set_present(session, event, contact.id, True, now=signed.now)
        await signed.log(
            session, "walk_in", f"event:{event.slug}", after={"contact_id": contact.id}
        )
        added = contact.id
    return see_other(request, f"/events/{event.slug}/attendance?added={added}#c{added}")


async def _known(session: AsyncSession, given: str) -> Contact | None:
    """The registered person a walk-in names: by email, or by exactly one matching name."""
    if "@" in given:
        where = func.lower(Contact.email) == given.lower()
    else:
        where = func.lower(Contact.name) == given.lower()
    found = list(await session.scalars(select(Contact).where(where, Contact.erased_at.is_(None))))
    return found[0] if len(found) == 1 else None


show = signed_in(_show)
invite = signed_in(_invite)
attendance_page = signed_in(_attendance)
mark = signed_in(_mark)
walk_in = signed_in(_walk_in)


async def _answer(request: Request, signed: Signed) -> Response:
    """Record the answer someone gave by phone (the channel says: the coordinator)."""
    form = await request.form()
    code = str(form.get("answer", ""))
    deps = deps_of(request)
    async with deps.database.session_scope() as session:
        event = await _event(session, request)
        if event is None:
            return _missing(request, signed)
        invitation = await session.scalar(
            select(Invitation).where(
                Invitation.event_id == event.id,
                Invitation.contact_id == _int(form.get("contact_id")),
            )
        )
        verdict = "missing"
        if invitation is not None:
            outcome = await invitations.record_answer(
                session,
                invitation.id,
                code,
                channel="coordinator",
                now=signed.now,
                policy=deps.policy,
            )
            verdict = outcome.verdict
            if verdict == "recorded":
                await signed.log(
                    session,
                    "answer",
                    f"event:{event.slug}",
                    after={"contact_id": invitation.contact_id, "answer": outcome.status},
                )
    return see_other(request, f"/events/{event.slug}?answer={verdict}")


async def _agenda(request: Request, signed: Signed) -> Response:
    """Send the agenda now to everyone coming or unsure."""
    deps = deps_of(request)
    async with deps.database.session_scope() as session:
        event = await _event(session, request)
        if event is None:
            return _missing(request, signed)
        queued = 0
        if deps.policy is not None:
            queued = await reminders.send_agenda(session, event, now=signed.now, policy=deps.policy)
        await signed.log(session, "send_agenda", f"event:{event.slug}", after={"queued": queued})
    return see_other(request, f"/events/{event.slug}?agenda={queued}")


async def _cancel(request: Request, signed: Signed) -> Response:
    """Ask for the reason and say how many will be told (GET); cancel and tell them (POST)."""
    deps = deps_of(request)
    async with deps.database.session_scope(write=request.method == "POST") as session:
        event = await _event(session, request)
        if event is None:
            return _missing(request, signed)
        told = await session.scalar(
            select(func.count()).where(
                Invitation.event_id == event.id,
                Invitation.status.in_(invitations.STILL_EXPECTED),
            )
        )
        if request.method == "POST" and deps.policy is not None and event.status != "cancelled":
            reason = str((await request.form()).get("reason", "")).strip()[:500]
            if reason:
                await invitations.cancel_event(
                    session, event, reason, now=signed.now, policy=deps.policy
                )
                await signed.log(
                    session, "cancel_event", f"event:{event.slug}", after={"reason": reason}
                )
                return see_other(request, f"/events/{event.slug}")
    return pages(request).render(
        "cancel",
        signed.language,
        event=event,
        told=told,
        missing_reason=request.method == "POST",
        **_common(request, signed, f"/events/{event.slug}"),
    )


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


answer = signed_in(_answer)
agenda = signed_in(_agenda)
cancel = signed_in(_cancel)
