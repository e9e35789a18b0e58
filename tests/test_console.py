# ruff: noqa: F811  (the `scene` fixture is imported from tests.test_rsvp)
"""The coordinator's console in live mode: sign-in by emailed link, sessions, CSRF, the overview,
inviting, and attendance at the door with walk-ins; over real HTTP to the running service."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import httpx
from sqlalchemy import select, update
from starlette.applications import Starlette
from starlette.requests import Request

from bot.db.models import AuditEntry, ConsoleSession, Contact, Event, Invitation, OutboxMessage
from bot.sandbox.mail_server import MailServer
from bot.services.contacts import registry
from bot.web.console.auth import client_ip
from tests.test_onboarding import ilze
from tests.test_rsvp import Scene, scene  # noqa: F401  (the fixture)

COORDINATOR = "sandra.jansone@km.example"
CSRF = re.compile(r'name="csrf" value="(\w+)"')
SIGNIN = re.compile(r"https?://\S+/console/signin/[\w\-]+")


def base(scene: Scene) -> str:
    return f"http://127.0.0.1:{scene.settings.web_port}/console"


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, page.text
    return found.group(1)


async def ask_for_link(scene: Scene, client: httpx.AsyncClient, address: str) -> httpx.Response:
    form = await client.get(f"{base(scene)}/login")
    return await client.post(f"{base(scene)}/login", data={"email": address, "csrf": csrf_of(form)})


async def emailed_link(scene: Scene, address: str, count: int = 1) -> str:
    scene.service_wake()
    mail: MailServer = scene.mail  # type: ignore[attr-defined]
    # The newest sign-in mail: the service may mail the same person something else meanwhile
    # (a survey, the daily overview), so the last message is not always the link.
    for _ in range(20):
        delivered = await mail.wait_for_address(address, count, timeout=30)
        for message in reversed(delivered[count - 1 :]):
            body = message.get_body(("plain",))
            assert body is not None
            links = SIGNIN.findall(body.get_content())
            if links:
                assert len(links) == 1
                return str(links[0])
        count = len(delivered) + 1
    raise AssertionError(f"no sign-in link reached {address}")


async def signed_in(scene: Scene, client: httpx.AsyncClient, address: str = COORDINATOR) -> None:
    mail: MailServer = scene.mail  # type: ignore[attr-defined]
    before = len(mail.mailbox(address))
    await ask_for_link(scene, client, address)
    link = await emailed_link(scene, address, before + 1)
    shown = await client.get(link)
    done = await client.post(link, data={"csrf": csrf_of(shown)})
    assert done.status_code == 303 and done.headers["location"].endswith("/console/")


async def test_a_coordinator_signs_in_from_the_emailed_link_and_sees_coming_events(
    scene: Scene,
) -> None:
    await scene.event()
    async with httpx.AsyncClient() as client:
        away = await client.get(f"{base(scene)}/")
        assert away.status_code == 303 and away.headers["location"].endswith("/console/login")
        form = await client.get(f"{base(scene)}/login")
        assert 'name="email"' in form.text and "Pieteikšanās" in form.text
        sent = await ask_for_link(scene, client, COORDINATOR)
        assert sent.status_code == 200 and "pieteikšanās saite jau ir ceļā" in sent.text
        link = await emailed_link(scene, COORDINATOR)
        shown = await client.get(link)  # a mail scanner's look signs nobody in
        assert shown.status_code == 200 and "Sandra Jansone" in shown.text
        assert (await client.get(f"{base(scene)}/")).status_code == 303
        done = await client.post(link, data={"csrf": csrf_of(shown)})
        assert done.status_code == 303
        cookie = done.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/console" in cookie
        home = await client.get(f"{base(scene)}/")
        assert home.status_code == 200
        assert "Latvijas un Igaunijas ekspertu sanāksme Valgā" in home.text
        again = await client.post(link, data={"csrf": csrf_of(shown)})
        assert again.status_code == 410 and "jau ir izmantota" in again.text
    async with scene.database.session_scope() as session:
        actions = list(await session.scalars(select(AuditEntry.action)))
        stored = [
            f"{row.params} {row.rendered_text}"
            for row in await session.scalars(select(OutboxMessage))
        ]
    assert actions == ["sign_in"]
    assert stored and not any(link.rsplit("/", 1)[1] in text for text in stored)


async def test_anyone_else_gets_the_same_answer_and_no_link(scene: Scene) -> None:
    async with httpx.AsyncClient() as client:
        for address in ("ilze.kalnina@jelgava.example", "nobody@nowhere.example"):
            answer = await ask_for_link(scene, client, address)
            assert answer.status_code == 200 and "pieteikšanās saite jau ir ceļā" in answer.text
        forged = await client.post(
            f"{base(scene)}/login", data={"email": COORDINATOR, "csrf": "0" * 64}
        )
        assert forged.status_code == 403
        # A token with letters outside ASCII is refused the same way, not a server error.
        foreign = await client.post(
            f"{base(scene)}/login", data={"email": COORDINATOR, "csrf": "ā" * 64}
        )
        assert foreign.status_code == 403
    async with scene.database.session_scope() as session:
        kinds = list(await session.scalars(select(OutboxMessage.kind)))
    assert "console_signin" not in kinds


async def test_attempts_are_limited_per_address(scene: Scene) -> None:
    async with httpx.AsyncClient() as client:
        answers = [await ask_for_link(scene, client, "nobody@nowhere.example") for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]


async def test_attempts_behind_the_proxy_are_limited_per_forwarded_address(scene: Scene) -> None:
    # The test's client is 127.0.0.1, a trusted proxy by default (Caddy on the same machine).
    async def attempt(client: httpx.AsyncClient, forwarded: str, n: int) -> int:
        form = await client.get(f"{base(scene)}/login")
        answer = await client.post(
            f"{base(scene)}/login",
            data={"email": f"nobody{n}@nowhere.example", "csrf": csrf_of(form)},
            headers={"X-Forwarded-For": forwarded},
        )
        return answer.status_code

    async with httpx.AsyncClient() as client:
        # A forged left-most entry changes nothing: the proxy's right-most addition counts.
        first = [await attempt(client, f"10.9.9.{n}, 203.0.113.5", n) for n in range(21)]
        other = await attempt(client, "203.0.113.6", 99)
    assert first == [200] * 20 + [429] and other == 200


def forwarded_from(peer: str, chain: str, trusted: str) -> str:
    app = Starlette()
    app.state.trusted_proxies = trusted
    app.state.web = SimpleNamespace()
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/console/login",
        "headers": [(b"x-forwarded-for", chain.encode())],
        "client": (peer, 50000),
        "app": app,
    }
    return client_ip(Request(scope))


def test_forwarded_for_is_believed_only_from_a_trusted_proxy() -> None:
    trusted = "127.0.0.1,::1,10.0.0.0/8"
    assert forwarded_from("127.0.0.1", "198.51.100.7, 203.0.113.5, 10.1.2.3", trusted) == (
        "203.0.113.5"
    )
    assert forwarded_from("::1", "203.0.113.9", trusted) == "203.0.113.9"
    # Anyone else's X-Forwarded-For is theirs to forge: the peer's address counts.
    assert forwarded_from("198.51.100.20", "203.0.113.5", trusted) == "198.51.100.20"
    assert forwarded_from("127.0.0.1", "203.0.113.5", "10.0.0.1") == "127.0.0.1"


async def test_an_expired_or_unknown_link_is_refused(scene: Scene) -> None:
    async with httpx.AsyncClient() as client:
        await ask_for_link(scene, client, COORDINATOR)
        link = await emailed_link(scene, COORDINATOR)
        scene.clock.advance(timedelta(minutes=16))
        late = await client.get(link)
        assert late.status_code == 410 and "derīguma termiņš ir beidzies" in late.text
        unknown = await client.get(f"{base(scene)}/signin/not-a-token")
        assert unknown.status_code == 410


async def test_no_page_without_a_session_and_no_post_without_the_csrf_token(scene: Scene) -> None:
    event_key = "valga-2027"
    await scene.event()
    async with httpx.AsyncClient() as client:
        for path in ("/", "/audit", f"/events/{event_key}", f"/events/{event_key}/attendance"):
            assert (await client.get(f"{base(scene)}{path}")).status_code == 303
        await signed_in(scene, client)
        refused = await client.post(f"{base(scene)}/events/{event_key}/invite", data={})
        assert refused.status_code == 403
    async with scene.database.session_scope() as session:
        assert list(await session.scalars(select(Invitation))) == []


async def test_a_session_ends_when_the_role_is_taken_away(scene: Scene) -> None:
    async with httpx.AsyncClient() as client:
        await signed_in(scene, client)
        assert (await client.get(f"{base(scene)}/")).status_code == 200
        async with scene.database.session_scope() as session:
            await session.execute(
                update(Contact).where(Contact.email == COORDINATOR).values(role="regional_expert")
            )
        assert (await client.get(f"{base(scene)}/")).status_code == 303
    async with scene.database.session_scope() as session:
        (row,) = list(await session.scalars(select(ConsoleSession)))
    assert row.ended_at is not None


async def test_a_session_ends_after_eight_idle_hours_and_on_sign_out(scene: Scene) -> None:
    async with httpx.AsyncClient() as client:
        await signed_in(scene, client)
        scene.clock.advance(timedelta(hours=7, minutes=59))
        home = await client.get(f"{base(scene)}/")
        assert home.status_code == 200
        out = await client.post(f"{base(scene)}/logout", data={"csrf": csrf_of(home)})
        assert out.status_code == 303
        assert (await client.get(f"{base(scene)}/")).status_code == 303
        await signed_in(scene, client)
        scene.clock.advance(timedelta(hours=8, minutes=1))
        assert (await client.get(f"{base(scene)}/")).status_code == 303


async def test_live_tables_refresh_by_htmx_shipped_with_the_console_and_do_not_keep_it_open(
    scene: Scene,
) -> None:
    async with httpx.AsyncClient() as client:
        script = await client.get(f"{base(scene)}/static/htmx.min.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert "script-src 'self'" in script.headers["content-security-policy"]
        licence = await client.get(f"{base(scene)}/static/htmx.LICENSE.txt")
        assert licence.status_code == 200 and "Zero-Clause BSD" in licence.text
        await signed_in(scene, client)
        home = await client.get(f"{base(scene)}/")
        assert '<script src="/console/static/htmx.min.js" defer></script>' in home.text
        assert 'hx-get="/console/" hx-trigger="every 5s" hx-select="#live"' in home.text
        # A page left open refreshes its tables all night: that is not the coordinator at work.
        poll = {"HX-Request": "true"}
        for _ in range(8):
            scene.clock.advance(timedelta(hours=1))
            assert (await client.get(f"{base(scene)}/", headers=poll)).status_code == 200
        scene.clock.advance(timedelta(hours=1))
        ended = await client.get(f"{base(scene)}/", headers=poll)
        assert ended.status_code == 204 and ended.headers["hx-redirect"] == "/console/login"
        assert (await client.get(f"{base(scene)}/")).status_code == 303


async def test_the_console_speaks_the_language_the_coordinator_chooses(scene: Scene) -> None:
    async with httpx.AsyncClient() as client:
        await signed_in(scene, client)
        home = await client.get(f"{base(scene)}/")
        assert "Pārskats" in home.text
        switched = await client.post(
            f"{base(scene)}/language", data={"csrf": csrf_of(home), "language": "et", "back": "/"}
        )
        assert switched.status_code == 303
        assert "Ülevaade" in (await client.get(f"{base(scene)}/")).text


async def test_invite_shows_the_counts_first_then_sends_and_is_audited(scene: Scene) -> None:
    event_id = await scene.event()
    async with scene.database.session_scope() as session:
        event = await session.get(Event, event_id)
        assert event is not None
        event.audience = {"emails": ["kadri.tamm@valga.example", "ilze.kalnina@jelgava.example"]}
    async with httpx.AsyncClient() as client:
        await signed_in(scene, client)
        preview = await client.get(f"{base(scene)}/events/valga-2027/invite")
        assert preview.status_code == 200 and "Tiks uzaicināti 2 jauni dalībnieki" in preview.text
        async with scene.database.session_scope() as session:
            assert list(await session.scalars(select(Invitation))) == []
        sent = await client.post(
            f"{base(scene)}/events/valga-2027/invite", data={"csrf": csrf_of(preview)}
        )
        assert sent.status_code == 303 and sent.headers["location"].endswith("?invited=2")
        page = await client.get(f"{base(scene)}/events/valga-2027?invited=2")
        assert "Kadri Tamm" in page.text and "vēl nav atbildes" in page.text
    async with scene.database.session_scope() as session:
        assert len(list(await session.scalars(select(Invitation)))) == 2
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "invite"))
    assert entry is not None and entry.after == {"invited": 2}


async def test_attendance_at_the_door_marks_taps_and_records_walk_ins(scene: Scene) -> None:
    event_id = await scene.event()
    await scene.invite(event_id, "ilze.kalnina@jelgava.example")
    door = f"{base(scene)}/events/valga-2027/attendance"
    async with httpx.AsyncClient() as client:
        await signed_in(scene, client)
        page = await client.get(door)
        assert page.status_code == 200 and "Ilze Kalniņa" in page.text
        async with scene.database.session_scope() as session:
            ilze = await registry.find(session, "ilze.kalnina@jelgava.example")
            kadri = await registry.find(session, "kadri.tamm@valga.example")
            assert ilze is not None and kadri is not None
            ilze_id, kadri_id = ilze.id, kadri.id
        token = csrf_of(page)
        tap = {"csrf": token, "contact_id": str(ilze_id), "present": "1"}
        assert (await client.post(f"{door}/mark", data=tap)).status_code == 303
        known = {"csrf": token, "who": "kadri.tamm@valga.example"}
        assert (await client.post(f"{door}/walk-in", data=known)).status_code == 303
        new = {"csrf": token, "who": "Olga Petrova", "organisation": "Biedrība Ezerzeme"}
        assert (await client.post(f"{door}/walk-in", data=new)).status_code == 303
        shown = await client.get(door)
        assert "Olga Petrova" in shown.text and "Klātesošie: <strong>3</strong> no 3" in shown.text
        undo = {"csrf": token, "contact_id": str(ilze_id), "present": "0"}
        await client.post(f"{door}/mark", data=undo)
    async with scene.database.session_scope() as session:
        rows = await session.execute(
            select(Contact.name, Contact.role, Invitation.status)
            .join(Invitation, Invitation.contact_id == Contact.id)
            .order_by(Contact.name)
        )
        statuses = {name: (role, status) for name, role, status in rows.all()}
    assert statuses["Ilze Kalniņa"] == ("regional_expert", "invited")
    assert statuses["Kadri Tamm"][1] == "attended"
    assert statuses["Olga Petrova"] == ("guest", "attended")
    assert kadri_id != ilze_id


def event_form(token: str, **changes: str) -> dict[str, str]:
    """A valid new-event form in Latvian with an Estonian title, with changes applied."""
    form = {
        "csrf": token,
        "key": "daugavpils-2027",
        "kind": "expert_meeting",
        "title_lv": "Reģionālo ekspertu sanāksme Daugavpilī",
        "title_et": "Piirkondlike ekspertide kohtumine Daugavpilsis",
        "day": "2027-03-11",
        "start": "10:00",
        "end": "14:00",
        "timezone": "Europe/Riga",
        "venue": "Daugavpils Universitāte",
        "address": "Parādes iela 1",
        "capacity": "30",
        "rsvp_by": "2027-03-04",
        "reminders": "7d, 1d",
        "roles": "regional_expert",
        "agenda-0-at": "10:00",
        "agenda-0-until": "10:30",
        "agenda-0-title_lv": "Iepazīšanās",
        "agenda-0-title_et": "Tutvustus",
    }
    form.update(changes)
    return form


async def test_an_event_is_created_by_the_form_with_errors_at_the_fields_first(
    scene: Scene,
) -> None:
    async with httpx.AsyncClient() as client:
        await signed_in(scene, client)
        blank = await client.get(f"{base(scene)}/events/new")
        assert blank.status_code == 200 and 'name="title_et"' in blank.text
        token = csrf_of(blank)
        wrong = await client.post(
            f"{base(scene)}/events/new",
            data=event_form(token, end="09:00", **{"agenda-0-until": "09:30"}),
        )
        assert wrong.status_code == 422
        assert "nekas vēl nav saglabāts" in wrong.text
        assert "Beigām jābūt vēlāk par sākumu" in wrong.text and "is not after" not in wrong.text
        assert "Daugavpils Universitāte" in wrong.text
        async with scene.database.session_scope() as session:
            assert list(await session.scalars(select(Event))) == []
        made = await client.post(f"{base(scene)}/events/new", data=event_form(token))
        assert made.status_code == 303 and made.headers["location"].endswith("/daugavpils-2027")
        again = await client.post(f"{base(scene)}/events/new", data=event_form(token))
        assert again.status_code == 422 and "jau ir piešķirts citam pasākumam" in again.text
        listed = await client.get(f"{base(scene)}/events")
        assert "Reģionālo ekspertu sanāksme Daugavpilī" in listed.text
        edit = await client.get(f"{base(scene)}/events/daugavpils-2027/edit")
        assert 'value="Piirkondlike ekspertide kohtumine Daugavpilsis"' in edit.text
        moved = await client.post(
            f"{base(scene)}/events/daugavpils-2027/edit", data=event_form(token, end="15:00")
        )
        assert moved.status_code == 303
    async with scene.database.session_scope() as session:
        event = await session.scalar(select(Event).where(Event.slug == "daugavpils-2027"))
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert (
        event is not None and event.title["et"] == "Piirkondlike ekspertide kohtumine Daugavpilsis"
    )
    assert (
        event.ends_at.hour == 13
        and event.capacity == 30
        and event.audience == {"roles": ["regional_expert"]}
    )
    assert actions == ["sign_in", "create_event", "edit_event"]


async def test_an_answer_by_phone_the_agenda_now_and_a_cancellation(scene: Scene) -> None:
    event_id = await scene.event()
    async with scene.database.session_scope() as session:
        event = await session.get(Event, event_id)
        assert event is not None
        event.reminder_offsets = [86400, 7200]
    await scene.invite(event_id, "kadri.tamm@valga.example")
    page_url = f"{base(scene)}/events/valga-2027"
    async with httpx.AsyncClient() as client:
        await signed_in(scene, client)
        page = await client.get(page_url)
        assert "Atgādinājumi" in page.text and "2027. gada 3. februāris" in page.text
        token = csrf_of(page)
        kadri = re.search(r'<option value="(\d+)">Kadri Tamm</option>', page.text)
        assert kadri is not None
        phoned = await client.post(
            f"{page_url}/answer",
            data={"csrf": token, "contact_id": kadri.group(1), "answer": "yes"},
        )
        assert phoned.headers["location"].endswith("?answer=recorded")
        shown = await client.get(page_url)
        assert re.search(r"Kadri Tamm.*?piedalīsies.*?koordinators", shown.text, re.S)
        agenda = await client.post(f"{page_url}/agenda", data={"csrf": token})
        assert agenda.headers["location"].endswith("?agenda=1")  # by email: no Telegram linked
        asked = await client.get(f"{page_url}/cancel")
        assert "Ziņu saņems 1 dalībnieks" in asked.text
        empty = await client.post(f"{page_url}/cancel", data={"csrf": token, "reason": " "})
        assert "Lūdzam norādīt iemeslu" in empty.text
        done = await client.post(
            f"{page_url}/cancel", data={"csrf": token, "reason": "Telpas nav pieejamas."}
        )
        assert done.status_code == 303
        assert "Šis pasākums ir atcelts" in (await client.get(page_url)).text
    async with scene.database.session_scope() as session:
        cancelled = await session.get(Event, event_id)
        kinds = set(await session.scalars(select(OutboxMessage.kind)))
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert cancelled is not None and cancelled.status == "cancelled"
    assert "event_cancelled" in kinds
    assert actions == ["sign_in", "answer", "send_agenda", "cancel_event"]


async def test_the_funding_report_and_the_full_export_come_from_the_reports_page(
    scene: Scene,
) -> None:
    async with httpx.AsyncClient() as client:
        await signed_in(scene, client)
        page = await client.get(f"{base(scene)}/reports?from=2027-01-01&to=2027-06-30")
        assert page.status_code == 200 and "Rezultāti finansētājam" in page.text
        shown = await client.get(
            f"{base(scene)}/reports/funding.html?from=2027-01-01&to=2027-06-30"
        )
        assert shown.status_code == 200 and "Kvantitatīvie rezultāti" in shown.text
        sheet = await client.get(
            f"{base(scene)}/reports/funding.xlsx?from=2027-01-01&to=2027-06-30"
        )
        assert sheet.status_code == 200 and sheet.content[:2] == b"PK"
        wrong = await client.get(f"{base(scene)}/reports?from=2027-07-01&to=2027-01-01")
        assert wrong.status_code == 422 and "pirmais nedrīkst būt vēlāks" in wrong.text
        everything = await client.get(f"{base(scene)}/export.xlsx")
        assert everything.status_code == 200 and everything.content[:2] == b"PK"
        assert "attachment" in everything.headers["content-disposition"]
        import io

        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(everything.content), read_only=True)
        logged = [row[2] for row in book["audit"].iter_rows(min_row=2, values_only=True)]
        assert logged == ["sign_in"]  # the export's own entry is written after the sheets
    async with scene.database.session_scope() as session:
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["sign_in", "export"]


def person_form(token: str, **changes: str) -> dict[str, str]:
    form = {
        "csrf": token,
        "name": "Olga Petrova",
        "email": "olga.petrova@daugavpils.example",
        "telegram_username": "",
        "phone": "+371 2000 0099",
        "role": "mediator",
        "organization": "Biedrība Ezerzeme",
        "municipality": "Daugavpils",
        "country": "LV",
        "language": "lv",
        "stakeholder_group": "ngo",
        "consent": "",
        "tags": "education",
    }
    form.update(changes)
    return form


async def test_contacts_are_found_added_edited_and_erased_from_the_console(scene: Scene) -> None:
    async with httpx.AsyncClient() as client:
        await signed_in(scene, client)
        listed = await client.get(f"{base(scene)}/contacts", params={"country": "EE"})
        assert "Kadri Tamm" in listed.text and "Ilze Kalniņa" not in listed.text
        found = await client.get(f"{base(scene)}/contacts", params={"q": "jelgava"})
        assert "Ilze Kalniņa" in found.text and "Kadri Tamm" not in found.text
        form = await client.get(f"{base(scene)}/contacts/new")
        token = csrf_of(form)
        bad = await client.post(
            f"{base(scene)}/contacts/new",
            data=person_form(token, email="olga@", stakeholder_group="roma_representative"),
        )
        assert bad.status_code == 422 and "nekas vēl nav saglabāts" in bad.text
        assert 'value="Olga Petrova"' in bad.text and "olga@" in bad.text
        taken = await client.post(
            f"{base(scene)}/contacts/new", data=person_form(token, email=COORDINATOR)
        )
        assert taken.status_code == 422
        added = await client.post(f"{base(scene)}/contacts/new", data=person_form(token))
        assert added.status_code == 303
        page = await client.get(f"{base(scene)}{added.headers['location'].split('/console')[1]}")
        assert "Olga Petrova" in page.text and "Saglabāts" in page.text
        person_id = re.search(r"/contacts/(\d+)", added.headers["location"])
        assert person_id is not None
        edit = f"{base(scene)}/contacts/{person_id.group(1)}/edit"
        assert 'value="Biedrība Ezerzeme"' in (await client.get(edit)).text
        changed = await client.post(edit, data=person_form(token, municipality="Rēzekne"))
        assert changed.status_code == 303
        sheet = await client.get(f"{base(scene)}/contacts/export.xlsx", params={"q": "Olga"})
        assert sheet.content[:2] == b"PK"
        erase = f"{base(scene)}/contacts/{person_id.group(1)}/erase"
        assert "To nevar atsaukt" in (await client.get(erase)).text
        assert (await client.post(erase, data={"csrf": token})).status_code == 303
        assert "Olga Petrova" not in (await client.get(f"{base(scene)}/contacts")).text
    async with scene.database.session_scope() as session:
        olga = await session.get(Contact, int(person_id.group(1)))
        entries = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert olga is not None and olga.erased_at is not None and olga.email is None
    assert [e.action for e in entries] == [
        "sign_in",
        "add_contact",
        "edit_contact",
        "export",
        "erase",
    ]
    about_olga = [e for e in entries if e.subject == f"contact:{olga.id}"]
    assert all(e.before is None and e.after is None for e in about_olga)
    assert "Olga" not in str([(e.before, e.after) for e in entries])


async def test_taking_the_coordinator_role_away_in_the_console_ends_their_sessions(
    scene: Scene,
) -> None:
    async with httpx.AsyncClient() as sandra, httpx.AsyncClient() as other:
        await signed_in(scene, sandra)
        async with scene.database.session_scope() as session:
            await session.execute(
                update(Contact)
                .where(Contact.email == "ilze.kalnina@jelgava.example")
                .values(role="coordinator")
            )
        await signed_in(scene, other, "ilze.kalnina@jelgava.example")
        form = await sandra.get(f"{base(scene)}/contacts/new")
        async with scene.database.session_scope() as session:
            ilze = await registry.find(session, "ilze.kalnina@jelgava.example")
            assert ilze is not None
            row = registry.as_row(ilze)
        row.update(role="regional_expert", csrf=csrf_of(form))
        saved = await sandra.post(f"{base(scene)}/contacts/{ilze.id}/edit", data=row)
        assert saved.status_code == 303
        assert (await other.get(f"{base(scene)}/")).status_code == 303


async def test_survey_results_show_rates_bars_and_labels_in_the_console_language(
    scene: Scene,
) -> None:
    from bot.db.models import SurveyRecipient
    from bot.services.surveys import answering
    from bot.services.surveys import registry as survey_registry
    from bot.services.surveys.files import read_survey_file
    from tests.conftest import DATA

    async with scene.database.session_scope() as session:
        spec = read_survey_file(DATA / "surveys" / "visit-feedback.yaml")
        loaded = await survey_registry.load_survey(session, spec)
        kadri = await registry.find(session, "kadri.tamm@valga.example")
        assert kadri is not None
        recipient = SurveyRecipient(survey_id=loaded.survey_id, contact_id=kadri.id)
        session.add(recipient)
        await session.flush()
        answers = {
            "useful": "4",
            "best_part": "people",
            "topics": ["education"],
            "need_mediator": "yes",
        }
        state, _ = await answering.submit_form(
            session, recipient, answers, now=scene.clock.now(), secret="s"
        )
        assert state == "saved", state
    async with httpx.AsyncClient() as client:
        await signed_in(scene, client)
        listed = await client.get(f"{base(scene)}/surveys")
        assert "Atgriezeniskā saite par vizīti" in listed.text and "1 / 1" in listed.text
        shown = await client.get(f"{base(scene)}/surveys/visit-feedback")
        assert "Vidējais vērtējums: <strong>4</strong> no 5" in shown.text
        assert "Tikšanās ar romu ģimenēm un jauniešiem" in shown.text  # the option's label
        answers_file = await client.get(f"{base(scene)}/surveys/visit-feedback/answers.xlsx")
        assert answers_file.content[:2] == b"PK"


async def test_the_recommendations_board_filters_and_sets_a_status_with_a_comment(
    scene: Scene,
) -> None:
    from zoneinfo import ZoneInfo

    from bot.db.models import Recommendation
    from bot.services.recommendations import registry as recs
    from bot.services.recommendations.files import read_rec_file
    from tests.conftest import DATA

    async with scene.database.session_scope() as session:
        spec = read_rec_file(DATA / "recommendations" / "valga-2020.yaml")
        await recs.load_recs(session, spec, now=scene.clock.now(), zone=ZoneInfo("Europe/Riga"))
    async with httpx.AsyncClient() as client:
        await signed_in(scene, client)
        board = await client.get(f"{base(scene)}/recommendations")
        assert "Organizēt Valgas un Latvijas romu mediatoru pieredzes apmaiņu." in board.text
        only = await client.get(f"{base(scene)}/recommendations", params={"area": "education"})
        assert "romu mediatoru pieredzes apmaiņu" not in only.text
        saved = await client.post(
            f"{base(scene)}/recommendations/valga-2020-mediators/status",
            data={"csrf": csrf_of(board), "status": "in_progress", "comment": "Norunāts martā."},
        )
        assert "saved=recorded" in saved.headers["location"]
        assert "Norunāts martā." in (await client.get(f"{base(scene)}/recommendations")).text
    async with scene.database.session_scope() as session:
        rec = await session.scalar(
            select(Recommendation).where(Recommendation.slug == "valga-2020-mediators")
        )
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "set_status"))
    assert rec is not None and rec.status == "in_progress"
    assert entry is not None and entry.after == {
        "status": "in_progress",
        "comment": "Norunāts martā.",
    }


async def test_a_broadcast_is_previewed_with_counts_then_sent_and_followed(scene: Scene) -> None:
    expert = ilze(scene.emulator)
    await scene.joined(expert, "ilze.kalnina@jelgava.example")
    async with httpx.AsyncClient() as client:
        await signed_in(scene, client)
        page = await client.get(f"{base(scene)}/broadcast")
        token = csrf_of(page)
        empty = await client.post(
            f"{base(scene)}/broadcast/preview",
            data={"csrf": token, "audience": "all", "text_lv": " "},
        )
        assert empty.status_code == 422 and "Vispirms uzrakstiet ziņu" in empty.text
        text = "Tikšanās Valgā sāksies 10:00 & pēc tam pusdienas."
        shown = await client.post(
            f"{base(scene)}/broadcast/preview",
            data={"csrf": token, "audience": "country:EE", "text_lv": text},
        )
        assert shown.status_code == 200 and "Pārbaudiet pirms nosūtīšanas" in shown.text
        assert "Igaunija" in shown.text
        async with scene.database.session_scope() as session:
            assert list(await session.scalars(select(OutboxMessage.kind))) == ["console_signin"]
        estonian = "Kohtumine Valgas algab kell 10 ja pärast on lõuna."
        sent = await client.post(
            f"{base(scene)}/broadcast/send",
            data={
                "csrf": token,
                "audience": "role:regional_expert",
                "text_lv": text,
                "text_et": estonian,
            },
        )
        assert sent.status_code == 303
        scene.service_wake()
        got = await expert.wait_for_message(lambda m: "pusdienas" in (m.text or ""))
        assert got.text and text in got.text and estonian not in got.text
        mail: MailServer = scene.mail  # type: ignore[attr-defined]
        (kadri,) = await mail.wait_for_address("kadri.tamm@valga.example", timeout=30)
        body = str(kadri.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        assert estonian in body and text not in body  # Kadri reads Estonian
        follow = await client.get(f"{base(scene)}{sent.headers['location'].split('/console')[1]}")
        assert follow.status_code == 200 and "Nosūtītas:" in follow.text


async def test_the_overview_names_delivery_problems_in_words_and_resends_one(scene: Scene) -> None:
    async with scene.database.session_scope() as session:
        kadri = await registry.find(session, "kadri.tamm@valga.example")
        assert kadri is not None
        failed = OutboxMessage(
            dedupe_key="test:failed",
            contact_id=kadri.id,
            channel="telegram",
            kind="broadcast",
            params={"text": "Sveiki!", "subject": ""},
            status="failed",
            last_error="Telegram 403: Forbidden: bot was blocked by the user",
        )
        session.add(failed)
        await session.flush()
        failed_id = failed.id
    async with httpx.AsyncClient() as client:
        await signed_in(scene, client)
        home = await client.get(f"{base(scene)}/")
        assert "tērzēšanas robots ir bloķēts" in home.text and "Forbidden" not in home.text
        again = await client.post(
            f"{base(scene)}/resend", data={"csrf": csrf_of(home), "outbox_id": str(failed_id)}
        )
        assert again.headers["location"].endswith("?resent=1")
    async with scene.database.session_scope() as session:
        row = await session.get(OutboxMessage, failed_id)
    assert row is not None and row.status in ("queued", "sending", "sent")


async def test_a_contacts_file_is_checked_before_anything_is_imported(scene: Scene) -> None:
    header = "name,email,role,organization,municipality,country,language\n"
    good = "Olga Petrova,olga.petrova@daugavpils.example,mediator,Ezerzeme,Daugavpils,LV,lv\n"
    bad = "Pēteris Bez Adreses,peteris@,regional_expert,,Rēzekne,LV,lv\n"
    async with httpx.AsyncClient() as client:
        await signed_in(scene, client)
        page = await client.get(f"{base(scene)}/contacts/import")
        token = csrf_of(page)
        upload = {"file": ("kontakti.csv", (header + good + bad).encode("utf-8"), "text/csv")}
        checked = await client.post(
            f"{base(scene)}/contacts/import/preview", data={"csrf": token}, files=upload
        )
        assert checked.status_code == 200 and "Rindas ar kļūdām: 1" in checked.text
        assert "peteris@" in checked.text and "Ielādēt tikai pareizās rindas" in checked.text
        kept = re.search(r'name="upload" value="([\w\-.]+)"', checked.text)
        assert kept is not None
        everything = await client.post(
            f"{base(scene)}/contacts/import/apply",
            data={"csrf": token, "upload": kept.group(1), "mode": "all"},
        )
        assert everything.headers["location"].endswith("/contacts/import")  # refused
        async with scene.database.session_scope() as session:
            assert await registry.find(session, "olga.petrova@daugavpils.example") is None
        valid = await client.post(
            f"{base(scene)}/contacts/import/apply",
            data={"csrf": token, "upload": kept.group(1), "mode": "valid"},
        )
        assert valid.headers["location"].endswith("/contacts?imported=1&changed=0")
        wrong_kind = await client.post(
            f"{base(scene)}/contacts/import/preview",
            data={"csrf": token},
            files={"file": ("kontakti.pdf", b"%PDF", "application/pdf")},
        )
        assert wrong_kind.status_code == 422
    async with scene.database.session_scope() as session:
        assert await registry.find(session, "olga.petrova@daugavpils.example") is not None


async def test_an_event_is_downloaded_as_its_file_and_a_file_is_uploaded(scene: Scene) -> None:
    from tests.conftest import DATA

    async with httpx.AsyncClient() as client:
        await signed_in(scene, client)
        page = await client.get(f"{base(scene)}/events")
        token = csrf_of(page)
        source = (DATA / "events" / "valga-2027.yaml").read_bytes()
        broken = source.replace(b"ends:", b"endz:", 1)
        refused = await client.post(
            f"{base(scene)}/events/upload",
            data={"csrf": token},
            files={"file": ("valga-2027.yaml", broken, "application/yaml")},
        )
        assert refused.status_code == 422 and "valga-2027.yaml:" in refused.text
        assert "nekas nav mainīts" in refused.text
        loaded = await client.post(
            f"{base(scene)}/events/upload",
            data={"csrf": token},
            files={"file": ("valga-2027.yaml", source, "application/yaml")},
        )
        assert loaded.status_code == 303
        key = loaded.headers["location"].rsplit("/", 1)[1]
        fetched = await client.get(f"{base(scene)}/events/{key}/event.yaml")
        assert fetched.status_code == 200 and "attachment" in fetched.headers["content-disposition"]
        again = await client.post(
            f"{base(scene)}/events/upload",
            data={"csrf": token},
            files={"file": (f"{key}.yaml", fetched.content, "application/yaml")},
        )
        assert again.status_code == 303
    async with scene.database.session_scope() as session:
        entries = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "load_event"))
        )
    assert [e.after["outcome"] for e in entries if e.after] == ["new", "unchanged"]


def survey_form(token: str, **changes: str) -> dict[str, str]:
    form = {
        "csrf": token,
        "key": "seminar-feedback",
        "title_lv": "Atgriezeniskā saite par semināru",
        "title_et": "Tagasiside seminari kohta",
        "send_after": "2h",
        "remind_after": "3d",
        "closes_after": "14d",
        "q-0-key": "useful",
        "q-0-type": "rating",
        "q-0-scale": "5",
        "q-0-required": "1",
        "q-0-text_lv": "Cik noderīgs bija seminārs?",
        "q-0-text_et": "Kui kasulik oli seminar?",
        "q-1-key": "best",
        "q-1-type": "single_choice",
        "q-1-required": "1",
        "q-1-text_lv": "Kas bija visnoderīgākais?",
        "q-1-text_et": "Mis oli kõige kasulikum?",
        "q-1-options": "Lekcijas | Loengud\nDiskusija | Arutelu",
    }
    form.update(changes)
    return form


async def test_a_survey_is_created_and_edited_by_the_form_checked_like_a_file(
    scene: Scene,
) -> None:
    async with httpx.AsyncClient() as client:
        await signed_in(scene, client)
        token = csrf_of(await client.get(f"{base(scene)}/surveys/new"))
        wrong = await client.post(
            f"{base(scene)}/surveys/new",
            data=survey_form(token, **{"q-1-options": "Lekcijas | Loengud\nDiskusija"}),
        )
        assert wrong.status_code == 422 and "nekas vēl nav saglabāts" in wrong.text
        assert "Lekcijas | Loengud" in wrong.text  # input kept
        made = await client.post(f"{base(scene)}/surveys/new", data=survey_form(token))
        assert made.status_code == 303 and made.headers["location"].endswith("/seminar-feedback")
        edit = await client.get(f"{base(scene)}/surveys/seminar-feedback/edit")
        assert "Diskusija | Arutelu" in edit.text
        changed = await client.post(
            f"{base(scene)}/surveys/seminar-feedback/edit",
            data=survey_form(token, **{"q-1-options": "Lekcijas | Loengud\nSarunas | Vestlused"}),
        )
        assert changed.status_code == 303
        shown = await client.get(f"{base(scene)}/surveys/seminar-feedback")
        assert "Atgriezeniskā saite par semināru" in shown.text
    async with scene.database.session_scope() as session:
        from bot.services.surveys import registry as survey_registry

        survey = await survey_registry.find_survey(session, "seminar-feedback")
        assert survey is not None
        options = survey.questions[1].options
    assert [o["id"] for o in options] == ["o1", "o2"]
    assert options[1]["text"] == {"lv": "Sarunas", "et": "Vestlused"}


async def test_a_persons_telegram_link_is_shown_with_a_qr_code_and_emailed(scene: Scene) -> None:
    async with scene.database.session_scope() as session:
        kadri = await registry.find(session, "kadri.tamm@valga.example")
        assert kadri is not None
    page_url = f"{base(scene)}/contacts/{kadri.id}"
    async with httpx.AsyncClient() as client:
        await signed_in(scene, client)
        page = await client.get(page_url)
        assert "Pievienošanās lietotnē Telegram" in page.text
        shown = await client.post(f"{page_url}/telegram-link", data={"csrf": csrf_of(page)})
        assert shown.status_code == 200 and "<svg" in shown.text
        link = re.search(r'href="(https://t\.me/[^"]+)"', shown.text)
        assert link is not None
        token = link.group(1).rsplit("=", 1)[1]
        user = scene.emulator.user(702, "Kadri", "Tamm", "kadrit", "et")
        await user.send(f"/start {token}")
        greeting = await user.wait_for_message()
        assert "Kadri Tamm" in (greeting.text or "")
        sent = await client.post(f"{page_url}/send-link", data={"csrf": csrf_of(page)})
        assert sent.headers["location"].endswith("?link_sent=1")
    scene.service_wake()
    mail: MailServer = scene.mail  # type: ignore[attr-defined]
    (message,) = await mail.wait_for_address("kadri.tamm@valga.example")
    assert "t.me/" in str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]


async def test_a_recommendation_is_added_and_edited_by_the_form(scene: Scene) -> None:
    await scene.event()
    form = {
        "key": "valga-2027-mediators",
        "event": "valga-2027",
        "area": "mediation",
        "text_lv": "Organizēt Valgas un Latvijas romu mediatoru pieredzes apmaiņu.",
        "text_et": "Korraldada Valga ja Läti romade mediaatorite kogemuste vahetus.",
        "owners": "kadri.tamm@valga.example, nobody@nowhere.example",
        "due": "2027-05-31",
        "remind": "monthly",
    }
    async with httpx.AsyncClient() as client:
        await signed_in(scene, client)
        token = csrf_of(await client.get(f"{base(scene)}/recommendations/new"))
        wrong = await client.post(
            f"{base(scene)}/recommendations/new", data={**form, "csrf": token}
        )
        assert wrong.status_code == 422 and "nobody@nowhere.example" in wrong.text
        form["owners"] = "kadri.tamm@valga.example"
        made = await client.post(f"{base(scene)}/recommendations/new", data={**form, "csrf": token})
        assert made.status_code == 303
        board = await client.get(f"{base(scene)}/recommendations")
        assert "Organizēt Valgas un Latvijas romu mediatoru pieredzes apmaiņu." in board.text
        edit = await client.get(f"{base(scene)}/recommendations/valga-2027-mediators/edit")
        assert 'value="kadri.tamm@valga.example"' in edit.text
        form["remind"] = "quarterly"
        changed = await client.post(
            f"{base(scene)}/recommendations/valga-2027-mediators/edit", data={**form, "csrf": token}
        )
        assert changed.status_code == 303
    async with scene.database.session_scope() as session:
        from bot.db.models import Recommendation

        rec = await session.scalar(
            select(Recommendation).where(Recommendation.slug == "valga-2027-mediators")
        )
    assert rec is not None and rec.cadence == "quarterly" and rec.area == "mediation"


async def test_the_telegram_desk_sends_a_coordinator_a_sign_in_link(scene: Scene) -> None:
    sandra = scene.emulator.user(900, "Sandra", "Jansone", "sandraj", "lv")
    await scene.joined(sandra, COORDINATOR)
    await sandra.send("/console")
    reply = await sandra.wait_for_message(lambda m: "/console/signin/" in (m.text or ""))
    link = SIGNIN.search(reply.text or "")
    assert link is not None and "vadības panelī" in (reply.text or "")
    async with httpx.AsyncClient() as client:
        shown = await client.get(link.group(0))
        done = await client.post(link.group(0), data={"csrf": csrf_of(shown)})
        assert done.status_code == 303
        assert (await client.get(f"{base(scene)}/")).status_code == 200
    expert = ilze(scene.emulator)
    await scene.joined(expert, "ilze.kalnina@jelgava.example")
    await expert.send("/console")
    answer = await expert.wait_for_message()
    assert "/console/signin/" not in (answer.text or "")  # not a coordinator: the ordinary help


async def test_a_survey_is_sent_now_to_those_who_came(scene: Scene) -> None:
    from bot.services.surveys import registry as survey_registry
    from bot.services.surveys.files import read_survey_file
    from tests.conftest import DATA

    async with scene.database.session_scope() as session:
        await survey_registry.load_survey(
            session, read_survey_file(DATA / "surveys" / "visit-feedback.yaml")
        )
    event_id = await scene.event()
    async with scene.database.session_scope() as session:
        event = await session.get(Event, event_id)
        assert event is not None
        event.survey_slug = "visit-feedback"
    await scene.invite(event_id, "kadri.tamm@valga.example")
    async with httpx.AsyncClient() as client:
        await signed_in(scene, client)
        door = await client.get(f"{base(scene)}/events/valga-2027/attendance")
        await client.post(
            f"{base(scene)}/events/valga-2027/attendance/walk-in",
            data={"csrf": csrf_of(door), "who": "kadri.tamm@valga.example"},
        )
        page = await client.get(f"{base(scene)}/surveys/visit-feedback")
        assert "Nosūtīt dalībniekiem (1)" in page.text
        sent = await client.post(
            f"{base(scene)}/surveys/visit-feedback/send",
            data={"csrf": csrf_of(page), "event": "valga-2027"},
        )
        assert sent.headers["location"].endswith("?sent=1")
        again = await client.post(
            f"{base(scene)}/surveys/visit-feedback/send",
            data={"csrf": csrf_of(page), "event": "valga-2027"},
        )
        assert again.headers["location"].endswith("?sent=0")  # once each
    scene.service_wake()
    mail: MailServer = scene.mail  # type: ignore[attr-defined]
    messages = await mail.wait_for_address("kadri.tamm@valga.example", 2, timeout=30)
    assert any("Tagasiside" in str(m["Subject"]) for m in messages)
