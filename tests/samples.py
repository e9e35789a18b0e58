"""Realistic values for every message kind, shared by the message tests and the spell checker.

Each kind has a set with every value given, sets with the optional values missing, sets with
the counts that choose different plural forms (0, 1, 2, 11, 21) and a set with long values
(long names with diacritics, a long address, titles near 200 characters, a ten-item agenda).
"""

# Long lines are the point here: realistic titles near 200 characters.
# ruff: noqa: E501
from __future__ import annotations

import copy
from datetime import UTC, date, datetime, time
from typing import Any

from bot.rendering import labels
from bot.services.delivery import broadcasts

BASE_URL = "https://expertbot.example.lv"
_LABELS = labels()


def _links(token: str) -> dict[str, str]:
    return {
        answer: f"{BASE_URL}/rsvp/{token}?answer={answer}"
        for answer in ("accept", "decline", "maybe")
    }


def _texts(lv: str, et: str, en: str) -> dict[str, str]:
    return {"lv": lv, "et": et, "en": en}


SABILE_TALSI = {
    "title": _texts(
        "Reģionālo ekspertu labās prakses vizīte Sabilē un Talsos",
        "Piirkondlike ekspertide hea praktika õppevisiit Sabilesse ja Talsisse",
        "Regional experts' good-practice visit to Sabile and Talsi",
    ),
    # 10:00 and 14:00 in Riga (EEST, UTC+3).
    "starts_at": datetime(2027, 6, 30, 7, 0, tzinfo=UTC),
    "ends_at": datetime(2027, 7, 1, 11, 0, tzinfo=UTC),
    "venue": {"name": "Talsu Tautas nams", "address": "Kareivju iela 16, Talsi, LV-3201"},
    "rsvp_by": date(2027, 6, 16),
    "capacity": 20,
    "agenda": [
        {
            "day": date(2027, 6, 30),
            "starts": time(10, 0),
            "ends": time(11, 30),
            "title": _texts(
                "Sabiles kultūras nama apmeklējums",
                "Sabile kultuurimaja külastus",
                "Visit to the Sabile House of Culture",
            ),
            "place": "Sabiles kultūras nams, Sabile",
        },
        {
            "day": date(2027, 6, 30),
            "starts": time(12, 0),
            "ends": time(13, 30),
            "title": _texts(
                "Tikšanās pagasta pārvaldē ar romu jauniešiem",
                "Kohtumine vallavalitsuses romade noortega",
                "Meeting Roma young people at the parish administration",
            ),
            "place": "Sabiles un Abavas pagasta pārvalde, Sabile",
        },
        {
            "day": date(2027, 7, 1),
            "starts": time(10, 0),
            "ends": time(13, 0),
            "title": _texts(
                "Reģionālo ekspertu sanāksme",
                "Piirkondlike ekspertide kohtumine",
                "Regional experts' meeting",
            ),
            "place": "Talsu Tautas nams, Talsi",
        },
        {
            "day": date(2027, 7, 1),
            "starts": time(13, 0),
            "ends": time(14, 0),
            "title": _texts(
                "Atgriezeniskā saite un nākamie soļi",
                "Tagasiside ja järgmised sammud",
                "Feedback and next steps",
            ),
            "place": "Talsu Tautas nams, Talsi",
        },
    ],
}

VALGA = {
    "title": _texts(
        "Latvijas un Igaunijas ekspertu sanāksme par romu integrāciju Valgā",
        "Läti ja Eesti ekspertide kohtumine romade lõimumise teemal Valgas",
        "Latvian–Estonian expert meeting on Roma integration in Valga",
    ),
    # 10:00 and 15:30 in Tallinn and Riga (EET, UTC+2).
    "starts_at": datetime(2027, 2, 4, 8, 0, tzinfo=UTC),
    "ends_at": datetime(2027, 2, 4, 13, 30, tzinfo=UTC),
    "venue": {"name": "Valga Vallavalitsus", "address": "Puiestee 8, 68203 Valga"},
    "rsvp_by": date(2027, 1, 28),
    "capacity": 25,
    "agenda": [
        {
            "day": date(2027, 2, 4),
            "starts": time(10, 0),
            "ends": time(10, 30),
            "title": _texts(
                "Dalībnieku iepazīšanās", "Osalejate tutvustus", "Round of introductions"
            ),
        },
        {
            "day": date(2027, 2, 4),
            "starts": time(10, 30),
            "ends": time(12, 0),
            "title": _texts(
                "Romu mediatoru pirmā gada pieredze Valgā",
                "Romade mediaatorite esimese aasta kogemus Valgas",
                "The first year of Roma mediators in Valga",
            ),
        },
        {
            "day": date(2027, 2, 4),
            "starts": time(12, 0),
            "ends": None,
            "title": _texts("Pusdienas", "Lõuna", "Lunch"),
            "place": None,
        },
        {
            "day": date(2027, 2, 4),
            "starts": None,
            "ends": None,
            "title": _texts(
                "Secinājumi un atgriezeniskā saite",
                "Järeldused ja tagasiside",
                "Conclusions and feedback",
            ),
        },
    ],
}

# Latvian only, no address, no deadline, no capacity, no agenda.
RIGA_SEMINAR = {
    "title": {"lv": "Romu mediatoru pieredzes apmaiņas seminārs"},
    "starts_at": datetime(2027, 5, 12, 7, 0, tzinfo=UTC),
    "ends_at": datetime(2027, 5, 12, 13, 0, tzinfo=UTC),
    "venue": {"name": "Kultūras ministrija", "address": None},
    "rsvp_by": None,
    "capacity": None,
    "agenda": [],
}

_LONG_AGENDA_TITLES = [
    _texts(
        "Dalībnieku iepazīšanās un pašvaldību pārstāvju īss pārskats par romu bērnu izglītības atbalsta pasākumiem, mediatoru darbu un sadarbību ar sociālo dienestu pēdējā gada laikā",
        "Osalejate tutvustus ja omavalitsuste esindajate lühiülevaade romade laste hariduse toetamisest, mediaatorite tööst ja koostööst sotsiaalosakonnaga viimase aasta jooksul",
        "Round of introductions and a short review by municipal representatives of support for Roma children's education, mediators' work and cooperation with the social service in the past year",
    ),
    _texts(
        "Sabiles pamatskolas apmeklējums: sarunas ar skolotājiem, skolas vadību un romu skolotāja palīgu par bērnu iekļaušanu mācību procesā un sadarbību ar vecākiem",
        "Sabile põhikooli külastus: vestlused õpetajate, koolijuhtide ja romade õpetaja abiga laste kaasamisest õppetöösse ning koostööst lapsevanematega",
        "Visit to Sabile primary school: talks with teachers, the school management and the Roma teaching assistant on including children in learning and working with parents",
    ),
    _texts(
        "Sabiles kultūras nama apmeklējums un romu jauniešu darbnīca par kultūras mantojumu, mūziku un tradīcijām kopā ar vietējiem mūzikas skolas pedagogiem",
        "Sabile kultuurimaja külastus ja romade noorte töötuba kultuuripärandist, muusikast ja traditsioonidest koos kohaliku muusikakooli õpetajatega",
        "Visit to the Sabile House of Culture and a workshop for Roma young people on cultural heritage, music and traditions with teachers of the local music school",
    ),
    _texts("Pusdienas", "Lõuna", "Lunch"),
    _texts(
        "Tikšanās Talsu novada Sociālajā dienestā: sociālā darba pieredze ar romu ģimenēm, nodarbinātības atbalsts un sadarbība ar Nodarbinātības valsts aģentūru",
        "Kohtumine Talsi piirkonna sotsiaalosakonnas: sotsiaaltöö kogemus romade peredega, tööhõive toetamine ja koostöö Läti riikliku tööhõiveametiga",
        "Meeting at the Talsi social service: social work with Roma families, employment support and cooperation with the State Employment Agency",
    ),
    _texts(
        "Talsu novada bibliotēkas apmeklējums: lasīšanas veicināšanas programmas bērniem un pieaugušajiem, digitālo prasmju kursi un bibliotēkas loma kopienā",
        "Talsi piirkonna raamatukogu külastus: lugemise edendamise programmid lastele ja täiskasvanutele, digioskuste kursused ning raamatukogu roll kogukonnas",
        "Visit to the Talsi regional library: reading programmes for children and adults, digital skills courses and the library's role in the community",
    ),
    _texts(
        "Reģionālo ekspertu sanāksme: pirmās dienas secinājumi, diskusija par labās prakses pārnesi uz citām pašvaldībām un kopīgo ieteikumu sagatavošana",
        "Piirkondlike ekspertide kohtumine: esimese päeva järeldused, arutelu hea praktika ülekandmisest teistesse omavalitsustesse ja ühiste soovituste ettevalmistamine",
        "Regional experts' meeting: conclusions of the first day, discussion on transferring good practice to other municipalities and preparing joint recommendations",
    ),
    _texts(
        "Darbs grupās par izglītību, nodarbinātību, sociālo darbu un kultūru, katrai grupai sagatavojot ne vairāk kā trīs konkrētus ieteikumus pašvaldībām un ministrijai",
        "Rühmatöö hariduse, tööhõive, sotsiaaltöö ja kultuuri teemal, kus iga rühm valmistab omavalitsustele ja ministeeriumile ette kuni kolm konkreetset soovitust",
        "Group work on education, employment, social work and culture, each group preparing no more than three concrete recommendations for municipalities and the ministry",
    ),
    _texts(
        "Grupu darba rezultātu prezentācijas un kopīga diskusija par ieteikumu īstenošanas termiņiem, atbildīgajām personām un nepieciešamo finansējumu",
        "Rühmatöö tulemuste esitlused ja ühine arutelu soovituste elluviimise tähtaegade, vastutajate ja vajaliku rahastuse üle",
        "Presentations of the group work and a joint discussion on deadlines, responsible persons and funding needed to carry out the recommendations",
    ),
    _texts(
        "Atgriezeniskā saite, rakstiski ieteikumi nākamajai ekspertu sanāksmei un pasākuma noslēgums",
        "Tagasiside, kirjalikud ettepanekud järgmiseks ekspertide kohtumiseks ja ürituse lõpetamine",
        "Feedback, written suggestions for the next expert meeting and closing of the event",
    ),
]

_LONG_AGENDA_PLACES = [
    "Sabiles pamatskola, Rīgas iela 12, Sabile, Talsu novads",
    "Sabiles pamatskola, Rīgas iela 12, Sabile, Talsu novads",
    "Sabiles kultūras nams, Pilskalna iela 6, Sabile, Talsu novads",
    None,
    "Talsu novada Sociālais dienests, Kareivju iela 7, Talsi",
    "Talsu novada bibliotēka, Kalēju iela 4, Talsi",
    "Talsu Tautas nams, Kareivju iela 16, Talsi",
    "Talsu Tautas nams, Kareivju iela 16, Talsi",
    "Talsu Tautas nams, Kareivju iela 16, Talsi",
    "Talsu Tautas nams, Kareivju iela 16, Talsi",
]

_LONG_AGENDA_TIMES = [
    (date(2027, 6, 30), time(9, 30), time(10, 15)),
    (date(2027, 6, 30), time(10, 30), time(12, 0)),
    (date(2027, 6, 30), time(12, 15), time(13, 30)),
    (date(2027, 6, 30), time(13, 30), time(14, 30)),
    (date(2027, 6, 30), time(14, 45), time(16, 15)),
    (date(2027, 6, 30), time(16, 30), time(17, 30)),
    (date(2027, 7, 1), time(9, 30), time(10, 30)),
    (date(2027, 7, 1), time(10, 45), time(12, 15)),
    (date(2027, 7, 1), time(12, 30), time(13, 30)),
    (date(2027, 7, 1), time(13, 30), time(14, 0)),
]

LONG_EVENT = {
    "title": _texts(
        "Reģionālo ekspertu tīkla romu integrācijas jautājumos labās prakses vizīte Sabilē, Talsos un Kandavā: izglītības, nodarbinātības un sociālā darba pieredzes apmaiņa ar pašvaldību speciālistiem",
        "Romade lõimumise piirkondlike ekspertide võrgustiku hea praktika õppevisiit Sabilesse, Talsisse ja Kandavasse: hariduse, tööhõive ja sotsiaaltöö kogemuste vahetus omavalitsuste spetsialistidega",
        "Good-practice visit of the Regional expert network on Roma integration to Sabile, Talsi and Kandava: sharing experience in education, employment and social work with municipal specialists",
    ),
    "starts_at": datetime(2027, 6, 30, 6, 30, tzinfo=UTC),
    "ends_at": datetime(2027, 7, 1, 11, 0, tzinfo=UTC),
    "venue": {
        "name": "Talsu novada pašvaldības Kultūras centrs „Talsu Tautas nams”, lielā zāle",
        "address": "Kareivju iela 16, Talsi, Talsu novads, LV-3201, Latvija (ieeja no pagalma puses)",
    },
    "rsvp_by": date(2027, 6, 16),
    "capacity": 120,
    "agenda": [
        {"day": day, "starts": starts, "ends": ends, "title": title, "place": place}
        for (day, starts, ends), title, place in zip(
            _LONG_AGENDA_TIMES, _LONG_AGENDA_TITLES, _LONG_AGENDA_PLACES, strict=True
        )
    ],
}


def _invitation(name: str, event: dict[str, Any], accepted: int, token: str) -> dict[str, Any]:
    return {
        "contact_name": name,
        "event": event,
        "accepted_count": accepted,
        "rsvp_links": _links(token),
        "unsubscribe_url": f"{BASE_URL}/unsubscribe/{token}",
    }


def _reminder(name: str, event: dict[str, Any], days: int, token: str) -> dict[str, Any]:
    return {
        "contact_name": name,
        "event": event,
        "starts_in_days": days,
        "show_agenda": days <= 1,
        "rsvp_links": _links(token),
        "unsubscribe_url": f"{BASE_URL}/unsubscribe/{token}",
    }


_NO_OPTIONAL_KEYS = {
    **RIGA_SEMINAR,
    "venue": {"name": "Kultūras ministrija"},
    "agenda": [{"day": date(2027, 5, 12), "title": {"lv": "Seminārs"}}],
}

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "event_invitation": [
        _invitation("Ilze Kalniņa", SABILE_TALSI, 11, "Xk3vQ9aLm2"),
        _invitation("Kadri Tamm", VALGA, 21, "Pq7rT2wZx8"),
        _invitation("Raimonds Kļaviņš", RIGA_SEMINAR, 0, "Lm4nB6cVd1"),
        _invitation("Mikko Virtanen", _NO_OPTIONAL_KEYS, 1, "Hg5jK8lQw3"),
        _invitation("Dace Krūmiņa", VALGA, 2, "Rt6yU1iOp9"),
        _invitation("Anneli Õunapuu-Kalniņa", LONG_EVENT, 101, "Zx2cV5bNm7"),
    ],
    "event_reminder": [
        _reminder("Ilze Kalniņa", SABILE_TALSI, 14, "Xk3vQ9aLm2"),
        _reminder("Kadri Tamm", VALGA, 1, "Pq7rT2wZx8"),
        _reminder("Raimonds Kļaviņš", RIGA_SEMINAR, 0, "Lm4nB6cVd1"),
        _reminder("Mikko Virtanen", _NO_OPTIONAL_KEYS, 2, "Hg5jK8lQw3"),
        _reminder("Dace Krūmiņa", VALGA, 11, "Rt6yU1iOp9"),
        _reminder("Anneli Õunapuu-Kalniņa", LONG_EVENT, 21, "Zx2cV5bNm7"),
    ],
    "broadcast": [
        {
            "contact_name": "Kristaps Lūsis",
            "subject": "Sanāksmes materiāli",
            "text": "Labdien, kolēģi!\n\nNosūtām sanāksmes materiālus & prezentācijas <PDF>.",
            "unsubscribe_url": "https://expertbot.example.lv/u/Bc7dE9fGh1",
        },
        {
            "contact_name": "Anneli Õunapuu-Kalniņa",
            "subject": "",
            "text": "Ühine kohtumine Valgas toimub 4. veebruaril.",
            "unsubscribe_url": "https://expertbot.example.lv/u/Zx2cV5bNm7",
        },
        {  # written in several languages in the console: each reader gets their own
            "contact_name": "Kadri Tamm",
            "subject": "",
            "text": {
                "lv": "Kopīgā sanāksme Valgā notiks 4. februārī.",
                "et": "Ühine kohtumine Valgas toimub 4. veebruaril.",
                "en": "The joint meeting in Valga is on 4 February.",
            },
            "unsubscribe_url": "https://expertbot.example.lv/u/Zx2cV5bNm7",
        },
    ],
    "telegram_invite_link": [
        {
            "contact_name": "Aija Bērziņa",
            "link": "https://t.me/expertbot_lv_bot?start=inv_8f3k2m9q",
            "expires_on": date(2027, 2, 4),
        },
        {
            "contact_name": "Anneli Õunapuu-Kalniņa",
            "link": "https://t.me/expertbot_lv_bot?start=inv_Zx2cV5bNm7Qw3Er4Ty5Ui6Op7",
            "expires_on": date(2027, 12, 31),
        },
    ],
}


def sample_values(kind: str) -> list[dict[str, Any]]:
    """Return fresh copies of the realistic value sets for a message kind."""
    return copy.deepcopy(SAMPLES[kind])


# Appended for the language gate (tests/test_language.py): the singular ("one") forms of the
# capacity and of Telegram's "…and N more items" line, which the sets above never reach.
# 11 items leave 1 over ("…un vēl 1 punkts"), 21 items leave 11 ("…un vēl 11 punkti").
def _quarter_hour_agenda(count: int, day: date) -> list[dict[str, Any]]:
    """A packed agenda: the long event's items in turn, a quarter of an hour each from 9:00."""
    return [
        {
            "day": day,
            "starts": time(9 + number // 4, 15 * (number % 4)),
            "ends": time(9 + (number + 1) // 4, 15 * ((number + 1) % 4)),
            "title": _LONG_AGENDA_TITLES[number % len(_LONG_AGENDA_TITLES)],
            "place": _LONG_AGENDA_PLACES[number % len(_LONG_AGENDA_PLACES)],
        }
        for number in range(count)
    ]


ONE_PLACE_ELEVEN_ITEMS = {
    **SABILE_TALSI,
    "capacity": 1,
    "agenda": _quarter_hour_agenda(11, date(2027, 6, 30)),
}
TWENTY_ONE_PLACES_AND_ITEMS = {
    **SABILE_TALSI,
    "capacity": 21,
    "agenda": _quarter_hour_agenda(21, date(2027, 6, 30)),
}
# Before the last set: tests take the first sets and the last (the long event) by position.
SAMPLES["event_invitation"][-1:-1] = [
    _invitation("Jānis Ozoliņš", ONE_PLACE_ELEVEN_ITEMS, 1, "Vb8nM3qWe4"),
    _invitation("Kätlin Põder-Šmits", TWENTY_ONE_PLACES_AND_ITEMS, 2, "Ty9uI4oPa5"),
]


def _surface_key(name: str) -> str:
    """Name a reply or page sample by its path under messages/<lang>/: "replies/welcome"."""
    if name.startswith("web_"):
        return "pages/" + name.removeprefix("web_")
    return f"replies/{name}"


# The bot's own replies (messages/<lang>/replies/<name>.html), checked by the language gate.
_EVENTS_SHOWN = [
    {
        "title": VALGA["title"],
        "starts_at": VALGA["starts_at"],
        "ends_at": VALGA["ends_at"],
        "answer": "—",
    },
    {
        "title": SABILE_TALSI["title"],
        "starts_at": SABILE_TALSI["starts_at"],
        "ends_at": SABILE_TALSI["ends_at"],
        "answer": "—",
    },
]
_TASKS_SHOWN = [
    {
        "text": _texts(
            "Organizēt Valgas un Latvijas romu mediatoru pieredzes apmaiņu.",
            "Korraldada Valga ja Läti romade mediaatorite kogemuste vahetus.",
            "Arrange an exchange of experience between Roma mediators in Valga and Latvia.",
        ),
        "due_on": date(2027, 5, 31),
        "status": "—",
    },
    {
        "text": _texts("Ieteikums bez termiņa.", "Tähtajata soovitus.", "No due date."),
        "due_on": None,
        "status": "—",
    },
]
_PRIVACY = {
    "name": "Anneli Õunapuu-Kalniņa",
    "email": "anneli.ounapuu@joy.example",
    "phone": "+3725000001",
    "organisation": "Loomestuudio Joy",
    "language_name": "—",
    "consent_on": date(2026, 2, 10),
    "retention_days": 730,
}
for _page, _sets in {
    "welcome": [{"name": "Ilze Kalniņa"}],
    "welcome_back": [{"name": "Kadri Tamm"}],
    "consent_question": [{}],
    "consent_thanks": [{}],
    "consent_later": [{}],
    "token_unknown": [{}],
    "token_used": [{}],
    "token_expired": [{}],
    "account_taken": [{}],
    "no_token": [{}],
    "access_requested": [{}],
    "access_pending": [{}],
    "access_request": [
        {"name": "Kärt Kuusk", "username": "kartk"},
        {"name": "Jānis Bērziņš", "username": None},
    ],
    "access_approved": [{"name": "Kärt Kuusk"}],
    "access_declined": [{}],
    "access_decided": [
        {"name": "Kärt Kuusk", "approved": True, "linked": False, "contact": ""},
        {"name": "Dace K.", "approved": True, "linked": True, "contact": "Dace Krūmiņa"},
        {"name": "Jānis Bērziņš", "approved": False, "linked": False, "contact": ""},
    ],
    "access_already_decided": [{}],
    "access_pick": [{"name": "Kärt Kuusk"}],
    "help": [{}],
    "help_coordinator": [{}],
    "language_choose": [{}],
    "language_set": [{}],
    "events": [{"events": _EVENTS_SHOWN}, {"events": _EVENTS_SHOWN[:1]}],
    "events_none": [{}],
    "tasks": [{"tasks": _TASKS_SHOWN}],
    "tasks_none": [{}],
    "privacy": [
        {**_PRIVACY, "invitations": 1, "answers": 2, "tasks": 21},
        {
            **_PRIVACY,
            "email": None,
            "phone": None,
            "organisation": None,
            "consent_on": None,
            "invitations": 0,
            "answers": 11,
            "tasks": 0,
            "retention_days": 31,
        },
    ],
    "privacy_export": [{"name": "Ilze Kalniņa", "when": datetime(2027, 1, 10, 9, 0, tzinfo=UTC)}],
    "privacy_confirm": [{}],
    "privacy_deleted": [{}],
    "privacy_kept": [{}],
    "stopped": [{"has_email": True}, {"has_email": False}],
    "unknown": [{}],
    "group_only": [{}],
    "not_linked": [{}],
}.items():
    SAMPLES[_surface_key(_page)] = _sets

for _page, _sets in {
    "rsvp_recorded": [{"answer": "—"}],
    "rsvp_waitlisted": [{}],
    "rsvp_closed": [{}],
    "rsvp_cancelled": [{}],
    "rsvp_not_yours": [{}],
    "button_stale": [{}],
    "rec_not_yours": [{}],
    "survey_not_yours": [{}],
    "web_rsvp": [
        {
            "event": VALGA,
            "answer": "—",
            "saved": False,
            "action": "/r/abc",
            "confirm": "0f3a",
            "others": [{"url": "https://x.example/r/1", "label": "—"}],
        },
        {
            "event": {**SABILE_TALSI, "venue": {"name": "Talsu Tautas nams", "address": None}},
            "answer": "—",
            "saved": False,
            "action": "/r/abc",
            "confirm": "0f3a",
            "others": [],
        },
        {
            "event": VALGA,
            "answer": "—",
            "saved": True,
            "action": "/r/abc",
            "confirm": "0f3a",
            "others": [{"url": "https://x.example/r/1", "label": "—"}],
        },
    ],
    "web_rsvp_done": [
        {"event": VALGA, "answer": "—", "waitlisted": False},
        {"event": VALGA, "answer": "—", "waitlisted": True},
    ],
    "web_problem": [
        {"reason": "expired"},
        {"reason": "closed"},
        {"reason": "cancelled"},
        {"reason": "invalid"},
    ],
}.items():
    SAMPLES[_surface_key(_page)] = _sets

SAMPLES["event_changed"] = [
    {
        "contact_name": "Ilze Kalniņa",
        "event": SABILE_TALSI,
        "rsvp_links": _links("Xk3vQ9aLm2"),
        "unsubscribe_url": f"{BASE_URL}/unsubscribe/Xk3vQ9aLm2",
    },
    {
        "contact_name": "Mikko Virtanen",
        "event": _NO_OPTIONAL_KEYS,
        "rsvp_links": _links("Hg5jK8lQw3"),
        "unsubscribe_url": f"{BASE_URL}/unsubscribe/Hg5jK8lQw3",
    },
]
SAMPLES["event_cancelled"] = [
    {
        "contact_name": "Kadri Tamm",
        "event": VALGA,
        "reason": "Telpas nav pieejamas / ruumid pole saadaval",
        "unsubscribe_url": f"{BASE_URL}/unsubscribe/Pq7rT2wZx8",
    },
    {
        "contact_name": "Anneli Õunapuu-Kalniņa",
        "event": LONG_EVENT,
        "reason": "",
        "unsubscribe_url": f"{BASE_URL}/unsubscribe/Zx2cV5bNm7",
    },
]

SAMPLES["event_nudge"] = [
    {
        "contact_name": "Aija Bērziņa",
        "event": SABILE_TALSI,
        "rsvp_links": _links("Ab1cD2eF3g"),
        "unsubscribe_url": f"{BASE_URL}/unsubscribe/Ab1cD2eF3g",
    },
    {
        "contact_name": "Mikko Virtanen",
        "event": _NO_OPTIONAL_KEYS,
        "rsvp_links": _links("Hg5jK8lQw3"),
        "unsubscribe_url": f"{BASE_URL}/unsubscribe/Hg5jK8lQw3",
    },
]
SAMPLES["event_place_freed"] = [
    {
        "contact_name": "Kadri Tamm",
        "event": VALGA,
        "decline_url": _links("Pq7rT2wZx8")["decline"],
        "unsubscribe_url": f"{BASE_URL}/unsubscribe/Pq7rT2wZx8",
    }
]
SAMPLES["rsvp_digest"] = [
    {
        "contact_name": "Sandra Jansone",
        "events": [
            {
                "title": VALGA["title"],
                "answers": [
                    {"name": "Kadri Tamm", "label": "—"},
                    {"name": "Edgars Vītols", "label": "—"},
                ],
            },
            {"title": SABILE_TALSI["title"], "answers": [{"name": "Ilze Kalniņa", "label": "—"}]},
        ],
        "unsubscribe_url": f"{BASE_URL}/unsubscribe/Sj1aN2sO3n",
    }
]

SAMPLES["survey_invitation"] = [
    {
        "contact_name": "Ilze Kalniņa",
        "survey_title": _texts(
            "Atgriezeniskā saite par vizīti",
            "Tagasiside õppevisiidi kohta",
            "Feedback on the visit",
        ),
        "event_title": SABILE_TALSI["title"],
        "question_count": 5,
        "anonymous": False,
        "reminder": False,
        "closes_on": date(2027, 7, 15),
        "form_url": f"{BASE_URL}/s/Xk3vQ9aLm2",
        "unsubscribe_url": f"{BASE_URL}/unsubscribe/Xk3vQ9aLm2",
    },
    {
        "contact_name": "Kadri Tamm",
        "survey_title": _texts(
            "Atgriezeniskā saite par sanāksmi Valgā",
            "Tagasiside Valga kohtumise kohta",
            "Feedback on the Valga meeting",
        ),
        "event_title": None,
        "question_count": 21,
        "anonymous": True,
        "reminder": True,
        "closes_on": None,
        "form_url": f"{BASE_URL}/s/Pq7rT2wZx8",
        "unsubscribe_url": f"{BASE_URL}/unsubscribe/Pq7rT2wZx8",
    },
    {
        "contact_name": "Mikko Virtanen",
        "survey_title": _texts("Aptauja", "Küsitlus", "Survey"),
        "event_title": VALGA["title"],
        "question_count": 1,
        "anonymous": False,
        "reminder": False,
        "closes_on": date(2027, 2, 11),
        "form_url": f"{BASE_URL}/s/Hg5jK8lQw3",
        "unsubscribe_url": f"{BASE_URL}/unsubscribe/Hg5jK8lQw3",
    },
]

for _page, _sets in {
    "survey_question": [
        {"position": 1, "total": 5, "text": "—", "kind": "rating", "required": True, "scale": 5},
        {"position": 1, "total": 5, "text": "—", "kind": "rating", "required": False, "scale": 10},
        {"position": 3, "total": 5, "text": "—", "kind": "multiple_choice", "required": False},
        {"position": 5, "total": 5, "text": "—", "kind": "text", "required": False},
        {"position": 2, "total": 3, "text": "—", "kind": "text", "required": True},
    ],
    "survey_thanks": [{"lines": ["—", "—"]}, {"lines": []}],
    "survey_closed": [{}],
    "survey_finished": [{}],
    "survey_stale": [{}],
    "survey_too_long": [{"limit": 1000}, {"limit": 21}],
    "survey_required": [{}],
}.items():
    SAMPLES[_surface_key(_page)] = _sets

_SURVEY_QUESTIONS = [
    {
        "key": "useful",
        "type": "rating",
        "text": _texts("Cik noderīga?", "Kui kasulik?", "How useful?"),
        "required": True,
        "scale": 5,
        "max_length": None,
        "options": [],
    },
    {
        "key": "best",
        "type": "single_choice",
        "text": _texts("Kas bija labākais?", "Mis oli parim?", "What was best?"),
        "required": True,
        "scale": None,
        "max_length": None,
        "options": [{"id": "places", "text": _texts("Apmeklējumi", "Külastused", "Visits")}],
    },
    {
        "key": "topics",
        "type": "multiple_choice",
        "text": _texts("Tēmas", "Teemad", "Topics"),
        "required": False,
        "scale": None,
        "max_length": None,
        "options": [{"id": "education", "text": _texts("Izglītība", "Haridus", "Education")}],
    },
    {
        "key": "need",
        "type": "yes_no",
        "text": _texts("Vai vajag?", "Kas on vaja?", "Needed?"),
        "required": True,
        "scale": None,
        "max_length": None,
        "options": [],
    },
    {
        "key": "next",
        "type": "text",
        "text": _texts("Ieteikumi", "Ettepanekud", "Suggestions"),
        "required": False,
        "scale": None,
        "max_length": 1000,
        "options": [],
    },
]
_SURVEY_PAGE = {
    "survey_title": _texts("Atgriezeniskā saite", "Tagasiside", "Feedback"),
    "questions": _SURVEY_QUESTIONS,
    "action": "/s/abc",
    "confirm": "0f3a",
}
SAMPLES["pages/survey"] = [
    {
        **_SURVEY_PAGE,
        "event_title": VALGA["title"],
        "anonymous": True,
        "values": {},
        "errors": {},
        "editing": False,
    },
    {
        **_SURVEY_PAGE,
        "event_title": None,
        "anonymous": False,
        "values": {"useful": "4", "topics": ["education"], "next": "Vairāk laika"},
        "errors": {"best": "required", "need": "invalid", "next": "too_long"},
        "editing": True,
    },
]
SAMPLES["pages/survey_done"] = [
    {"survey_title": _SURVEY_PAGE["survey_title"], "editable": True},
    {"survey_title": _SURVEY_PAGE["survey_title"], "editable": False},
]
SAMPLES["pages/problem"].append({"reason": "finished"})
SAMPLES["pages/problem"].append({"reason": "survey_closed"})

_REC_TEXT = _texts(
    "Organizēt Valgas un Latvijas romu mediatoru pieredzes apmaiņu.",
    "Korraldada Valga ja Läti romade mediaatorite kogemuste vahetus.",
    "Arrange an exchange of experience between Roma mediators in Valga and Latvia.",
)
SAMPLES["rec_digest"] = [
    {
        "contact_name": "Kadri Tamm",
        "items": [
            {"text": _REC_TEXT, "status_label": "—", "due_on": date(2027, 5, 31), "overdue": False},
            {"text": _REC_TEXT, "status_label": "—", "due_on": date(2027, 1, 31), "overdue": True},
            {"text": _REC_TEXT, "status_label": "—", "due_on": None, "overdue": False},
        ],
        "page_url": f"{BASE_URL}/t/Pq7rT2wZx8",
        "unsubscribe_url": f"{BASE_URL}/unsubscribe/Pq7rT2wZx8",
    }
]
SAMPLES["rec_escalation"] = [
    {
        "contact_name": "Sandra Jansone",
        "items": [
            {
                "text": _REC_TEXT,
                "owners": "Kadri Tamm, Līga Saulīte",
                "status_label": "—",
                "unanswered": 2,
                "overdue": False,
                "due_on": None,
            },
            {
                "text": _REC_TEXT,
                "owners": "Edgars Vītols",
                "status_label": "—",
                "unanswered": 0,
                "overdue": True,
                "due_on": date(2027, 1, 31),
            },
            {
                "text": _REC_TEXT,
                "owners": "Anneli Õunapuu",
                "status_label": "—",
                "unanswered": 21,
                "overdue": True,
                "due_on": date(2027, 1, 31),
            },
        ],
        "unsubscribe_url": f"{BASE_URL}/unsubscribe/Sj1aN2sO3n",
    }
]
SAMPLES["rec_done"] = [
    {
        "contact_name": "Līga Saulīte",
        "text": _REC_TEXT,
        "by": "Kadri Tamm",
        "unsubscribe_url": f"{BASE_URL}/unsubscribe/Lg1sA2uL3t",
    }
]

for _page, _sets in {
    "rec_recorded": [{"status": "—"}],
    "rec_closed": [{}],
    "rec_comment_ask": [{}],
    "rec_comment_saved": [{}],
    "rec_comment_too_long": [{}],
}.items():
    SAMPLES[_surface_key(_page)] = _sets

SAMPLES["pages/tasks"] = [
    {
        "items": [
            {
                "id": 1,
                "text": _REC_TEXT,
                "due_on": date(2027, 5, 31),
                "status": "in_progress",
                "comment": "",
                "error": False,
            },
            {
                "id": 2,
                "text": _REC_TEXT,
                "due_on": None,
                "status": "not_started",
                "comment": "",
                "error": True,
            },
        ],
        "choices": [{"value": "done", "label": "—"}, {"value": "in_progress", "label": "—"}],
        "action": "/t/abc",
        "confirm": "0f3a",
    },
    {"items": [], "choices": [], "action": "/t/abc", "confirm": "0f3a"},
]
SAMPLES["pages/tasks_done"] = [{}]

# Delivery errors as bot/channels/ and the dispatcher store them, one for every reason a
# coordinator is told; the broadcast summary and the daily overview show what
# broadcasts.failure() makes of them, so the samples are the real thing, not tidy placeholders.
DELIVERY_ERRORS = [
    ("Kadri Tamm", "telegram", "Telegram 403: Forbidden: bot was blocked by the user"),
    ("Jānis Bērziņš", "telegram", "Telegram 403: Forbidden: user is deactivated"),
    ("Kätlin Põder-Šmits", "telegram", "Telegram 400: Bad Request: chat not found"),
    (
        "Ilze Kalniņa",
        "telegram",
        "template bug, Telegram 400: Bad Request: can't parse entities: unsupported start tag "
        '"span" at byte offset 12',
    ),
    (
        "Mart Kask",
        "email",
        "address refused: 550 5.1.1 <mart.kask@valga.example>: Recipient address rejected: "
        "User unknown in virtual mailbox table",
    ),
    ("Līga Saulīte", "email", "mail server refused the message: 554 5.7.1 Message rejected"),
    (
        "Edgars Vītols",
        "email",
        "gave up after 5 attempts: cannot connect to the mail server: [Errno 111] Connect call "
        "failed ('127.0.0.1', 25)",
    ),
    ("Anneli Õunapuu", "email", "OSError: [Errno 101] Network is unreachable"),
]


def _failures(errors: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    return [broadcasts.failure(name, channel, error) for name, channel, error in errors]


for _page, _sets in {
    "bc_ask": [{}],
    "bc_audience": [{}],
    "bc_preview": [
        {
            "text": "Sveiki! <b>Sanāksme</b> Valgā & Valkā.",
            "audience": "—",
            "counts": [
                {
                    "channel": _LABELS["channels"][channel],
                    "language": _LABELS["languages"][lang],
                    "count": n,
                }
                for channel, lang, n in (
                    ("telegram", "lv", 2),
                    ("email", "et", 1),
                    ("email", "en", 21),
                )
            ],
            "unreachable": 1,
        },
        {"text": "Tere!", "audience": "—", "counts": [], "unreachable": 0},
    ],
    "bc_progress": [{"done": 3, "total": 21}],
    "bc_summary": [
        {"sent": 20, "failed": 8, "skipped": 2, "reasons": _failures(DELIVERY_ERRORS)},
        {"sent": 1, "failed": 1, "skipped": 0, "reasons": _failures(DELIVERY_ERRORS[:1])},
        {"sent": 1, "failed": 0, "skipped": 0, "reasons": []},
    ],
    "bc_cancelled": [{}],
    "bc_nobody": [{}],
}.items():
    SAMPLES[_surface_key(_page)] = _sets

# The coordinator's report (messages/<lang>/reports/report.html): a busy half-year with
# counts that choose every plural form, events without attendance, a survey without ratings;
# and an empty period.
_REPORT_KINDS = (
    "expert_meeting",
    "good_practice_visit",
    "seminar",
    "workshop",
    "mediator_training",
    "cross_border_meeting",
)
SAMPLES["reports/report"] = [
    {
        "start": date(2027, 1, 1),
        "end": date(2027, 6, 30),
        "people": 121,
        "public_administration": 90,
        "by_group": {
            "municipality": 75,
            "state_institution": 15,
            "roma_representative": 21,
            "ngo": 2,
            "international": 1,
            "other": 0,
            "unspecified": 11,
        },
        "countries": [
            {"code": "LV", "name": "Latvija", "people": 98},
            {"code": "EE", "name": "Igaunija", "people": 21},
            {"code": "DE", "name": "Vācija", "people": 2},
        ],
        "kinds": {
            "expert_meeting": {"events": 2, "participants": 41},
            "good_practice_visit": {"events": 1, "participants": 21},
            "seminar": {"events": 1, "participants": 11},
            "workshop": {"events": 0, "participants": 0},
            "mediator_training": {"events": 1, "participants": 1},
            "cross_border_meeting": {"events": 1, "participants": 22},
        },
        "kind_events": {
            "expert_meeting": 2,
            "good_practice_visit": 1,
            "seminar": 1,
            "workshop": 0,
            "mediator_training": 1,
            "cross_border_meeting": 1,
        },
        "events_total": 6,
        "participants_total": 96,
        "events": {
            "expert_meeting": [
                {
                    "title": "Reģionālo ekspertu sanāksme par romu bērnu izglītības atbalstu Jelgavas valstspilsētā un Jēkabpils novadā",
                    "day": date(2027, 3, 18),
                    "participants": 21,
                    "by_attendance": True,
                },
                {
                    "title": "Ekspertu diskusija par romu integrācijas politikas koordināciju",
                    "day": date(2027, 4, 22),
                    "participants": 20,
                    "by_attendance": False,
                },
            ],
            "good_practice_visit": [
                {
                    "title": "Labās prakses vizīte Viļakas pamatskolā un Maltas vidusskolā",
                    "day": date(2027, 1, 26),
                    "participants": 21,
                    "by_attendance": True,
                },
            ],
            "seminar": [
                {
                    "title": "Romu mediatoru pieredzes apmaiņas seminārs",
                    "day": date(2027, 5, 12),
                    "participants": 11,
                    "by_attendance": False,
                },
            ],
            "workshop": [],
            "mediator_training": [
                {
                    "title": "Komunikācijas kompetence: kā sarunāties, saprasties un sadarboties",
                    "day": date(2027, 6, 3),
                    "participants": 1,
                    "by_attendance": True,
                },
            ],
            "cross_border_meeting": [
                {
                    "title": "Latvijas un Igaunijas ekspertu sanāksme par romu integrāciju Valgā",
                    "day": date(2027, 2, 4),
                    "participants": 22,
                    "by_attendance": True,
                },
            ],
        },
        "without_attendance": 2,
        "mediators": 4,
        "mediator_places": [
            {"municipality": "Jelgava", "count": 2},
            {"municipality": "Ventspils", "count": 1},
            {"municipality": None, "count": 1},
        ],
        "surveys": [
            {
                "title": "Atgriezeniskā saite par sanāksmi Valgā",
                "responses": 21,
                "mean": "4,33",
                "scale": 5,
            },
            {
                "title": "Atgriezeniskā saite par labās prakses vizīti Viļakā",
                "responses": 1,
                "mean": None,
                "scale": None,
            },
        ],
        "recommendations": {"not_started": 2, "in_progress": 11, "done": 1, "dropped": 0},
        "recommendations_total": 14,
    },
    {
        "start": date(2027, 7, 1),
        "end": date(2027, 7, 31),
        "people": 0,
        "public_administration": 0,
        "by_group": {
            group: 0
            for group in (
                "municipality",
                "state_institution",
                "roma_representative",
                "ngo",
                "international",
                "other",
                "unspecified",
            )
        },
        "countries": [],
        "kinds": {kind: {"events": 0, "participants": 0} for kind in _REPORT_KINDS},
        "kind_events": dict.fromkeys(_REPORT_KINDS, 0),
        "events_total": 0,
        "participants_total": 0,
        "events": {kind: [] for kind in _REPORT_KINDS},
        "without_attendance": 0,
        "mediators": 0,
        "mediator_places": [],
        "surveys": [],
        "recommendations": {"not_started": 0, "in_progress": 0, "done": 0, "dropped": 0},
        "recommendations_total": 0,
    },
]

for _page, _sets in {
    "coord_usage": [{"usage": "/rsvps valga-2027"}],
    "coord_missing": [{"key": "valga-2072"}],
    "coord_rsvps": [
        {"title": "—", "groups": [{"label": "—", "names": ["Kadri Tamm", "Ilze Kalniņa"]}]},
        {"title": "—", "groups": []},
    ],
    "coord_results": [{"title": "—", "finished": 3, "sent": 21, "lines": ["—"]}],
    "coord_recs": [
        {
            "overdue": [{"title": "—", "due_on": date(2027, 1, 31)}],
            "updates": ["valga-2020-mediators: —"],
        },
        {"overdue": [], "updates": []},
    ],
    "coord_stats": [
        {
            "contacts": 20,
            "telegram": 4,
            "email": 18,
            "events": 3,
            "open_recs": 4,
            "queued": 0,
            "failed": 1,
        }
    ],
    "coord_invited": [{"title": "—", "count": 2, "already": 0}],
}.items():
    SAMPLES[_surface_key(_page)] = _sets

SAMPLES["coordinator_digest"] = [
    {
        "contact_name": "Sandra Jansone",
        "answers": 21,
        "surveys": 1,
        "recs": 2,
        "problems": _failures(DELIVERY_ERRORS),
        "unsubscribe_url": f"{BASE_URL}/unsubscribe/Sj1aN2sO3n",
    },
    {
        "contact_name": "Sandra Jansone",
        "answers": 0,
        "surveys": 11,
        "recs": 0,
        "problems": [],
        "unsubscribe_url": f"{BASE_URL}/unsubscribe/Sj1aN2sO3n",
    },
]

# Sample sets kept beside the features that added them (each module has its own SAMPLES).
from tests import samples_console  # noqa: E402

SAMPLES.update(samples_console.SAMPLES)
from tests import samples_unsubscribe  # noqa: E402

SAMPLES.update(samples_unsubscribe.SAMPLES)
from tests import samples_ops  # noqa: E402

SAMPLES.update(samples_ops.SAMPLES)
