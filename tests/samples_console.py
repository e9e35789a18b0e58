"""Sample values for the console's pages and its sign-in message (see tests/samples.py)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

from bot.web.console.problems import recognise
from tests.samples import VALGA

_LANGUAGES = [("lv", "Latviešu"), ("et", "Eesti"), ("en", "English")]
_SIGNED = {"me": "Sandra Jansone-Õunapuu", "csrf": "c0ffee", "languages": _LANGUAGES}
_EVENT = {
    "slug": "valga-2027",
    "title": VALGA["title"],
    "starts_at": VALGA["starts_at"],
    "ends_at": VALGA["ends_at"],
}
_WHEN = datetime(2027, 1, 28, 9, 41, tzinfo=UTC)
_COUNTS = {"accepted": 21, "declined": 1, "not_sure": 11, "waiting": 0}

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "console_signin": [
        {
            "contact_name": "Sandra Jansone-Õunapuu",
            "signin_url": "https://tikls.km.example/console/signin/Zx2cV5bNm7Qw3Er4Ty5Ui6Op7Aa",
            "minutes": 15,
        },
        {
            "contact_name": "Kadri Tamm",
            "signin_url": "http://127.0.0.1:8080/console/signin/a",
            "minutes": 1,
        },
    ],
    "console/login": [
        {"csrf": "c0ffee", "action": "/console/login", "email": "", "minutes": 15},
        {
            "csrf": "c0ffee",
            "action": "/console/login",
            "email": "anneli@joy.example",
            "minutes": 21,
            "limited": True,
        },
    ],
    "console/login_sent": [
        {
            "csrf": "c0ffee",
            "action": "/console/login",
            "email": "sandra.jansone@km.example",
            "minutes": 15,
        },
        {"csrf": "c0ffee", "action": "/console/login", "email": "a@b.example", "minutes": 1},
    ],
    "console/signin": [
        {
            "csrf": "c0ffee",
            "action": "/console/signin/abc",
            "name": "Sandra Jansone-Õunapuu",
            "minutes": 15,
        }
    ],
    "console/link_problem": [
        {"csrf": "c0ffee", "action": "/console/signin/abc", "reason": reason, "minutes": 15}
        for reason in ("used", "expired", "not_coordinator", "unknown")
    ],
    "console/overview": [
        {
            **_SIGNED,
            "here": "/",
            "resent": "1",
            "problems": [
                {
                    "name": "Ilze Kalniņa",
                    "channel": "telegram",
                    "state": "failed",
                    "reason": {
                        "lv": "tērzēšanas robots ir bloķēts",
                        "et": "on vestlusroboti blokeerinud",
                        "en": "has blocked the bot",
                    },
                    "outbox_id": 7,
                },
                {
                    "name": "Kadri Tamm",
                    "channel": "email",
                    "state": "bounced",
                    "reason": "",
                    "outbox_id": None,
                },
            ],
            "overview": {
                "events": [
                    {
                        "key": "valga-2027",
                        "title": VALGA["title"],
                        "starts_at": VALGA["starts_at"],
                        "accepted": 21,
                        "declined": 1,
                        "not_sure": 2,
                        "no_answer": 11,
                        "waiting_list": 0,
                    }
                ],
                "surveys": [
                    {
                        "title": {
                            "lv": "Atgriezeniskā saite",
                            "et": "Tagasiside",
                            "en": "Feedback",
                        },
                        "finished": 11,
                        "sent": 21,
                        "rate": 52,
                    }
                ],
                "overdue": 2,
                "escalated": 1,
                "problems": [
                    {
                        "name": "Ilze Kalniņa",
                        "channel": "telegram",
                        "state": "failed",
                        "reason": "Telegram 403: Forbidden: bot was blocked by the user",
                        "outbox_id": 7,
                    },
                    {
                        "name": "Kadri Tamm",
                        "channel": "email",
                        "state": "bounced",
                        "reason": "bounced",
                        "outbox_id": None,
                    },
                ],
                "queued": {"telegram": 3, "email": 0},
                "last_sent": {"telegram": _WHEN, "email": None},
            },
        },
        {
            **_SIGNED,
            "here": "/",
            "resent": None,
            "problems": [],
            "overview": {
                "events": [],
                "surveys": [],
                "overdue": 0,
                "escalated": 0,
                "problems": [],
                "queued": {"telegram": 0, "email": 0},
                "last_sent": {"telegram": None, "email": None},
            },
        },
    ],
    "console/event": [
        {
            **_SIGNED,
            "here": "/events/valga-2027",
            "event": {**_EVENT, "status": "published"},
            "counts": _COUNTS,
            "invited": "11",
            "answered": "recorded",
            "agenda_sent": "21",
            "reminders": [{"at": _WHEN, "past": True}, {"at": VALGA["starts_at"], "past": False}],
            "rsvps": [
                {
                    "contact_id": 1,
                    "name": "Ilze Kalniņa",
                    "organisation": "Jelgavas valstspilsētas pašvaldība",
                    "status": "accepted",
                    "channel": "telegram",
                    "answered_at": _WHEN,
                },
                {
                    "contact_id": 2,
                    "name": "Kadri Tamm",
                    "organisation": None,
                    "status": "invited",
                    "channel": None,
                    "answered_at": None,
                },
            ],
        },
        {
            **_SIGNED,
            "here": "/",
            "event": {**_EVENT, "status": "cancelled"},
            "counts": _COUNTS,
            "invited": None,
            "answered": "closed",
            "agenda_sent": None,
            "reminders": [],
            "rsvps": [],
        },
        {
            **_SIGNED,
            "here": "/",
            "event": {**_EVENT, "status": "draft"},
            "counts": _COUNTS,
            "invited": None,
            "answered": "missing",
            "agenda_sent": None,
            "reminders": [],
            "rsvps": [],
        },
    ],
    "console/cancel": [
        {
            **_SIGNED,
            "here": "/",
            "event": {**_EVENT, "status": "published"},
            "told": told,
            "missing_reason": missing,
        }
        for told, missing in ((21, False), (1, True), (0, False), (11, False))
    ]
    + [
        {
            **_SIGNED,
            "here": "/",
            "event": {**_EVENT, "status": "cancelled"},
            "told": 0,
            "missing_reason": False,
        }
    ],
    "console/invite": [
        {
            **_SIGNED,
            "here": "/",
            "event": _EVENT,
            "plan": {
                "new": [{"name": "Ilze Kalniņa"}] * 21,
                "already": 1,
                "missing_language": [],
                "channels": Counter({("telegram", "lv"): 11, ("email", "et"): 2}),
                "unreachable": [({"name": "Jānis Bērziņš"}, "no email address")],
            },
        },
        {
            **_SIGNED,
            "here": "/",
            "event": _EVENT,
            "plan": {
                "new": [{"name": "Kadri Tamm"}],
                "already": 0,
                "missing_language": [({"name": "Kadri Tamm"}, "et")],
                "channels": Counter({("email", "et"): 1}),
                "unreachable": [],
            },
        },
        {
            **_SIGNED,
            "here": "/",
            "event": _EVENT,
            "plan": {
                "new": [],
                "already": 11,
                "missing_language": [],
                "channels": Counter(),
                "unreachable": [],
            },
        },
    ],
    "console/attendance": [
        {
            **_SIGNED,
            "here": "/",
            "event": _EVENT,
            "present": 1,
            "added": None,
            "people": [
                {
                    "contact_id": 1,
                    "name": "Ilze Kalniņa",
                    "organisation": "Jelgavas pašvaldība",
                    "present": True,
                },
                {"contact_id": 2, "name": "Kadri Tamm", "organisation": None, "present": False},
            ],
        },
        {**_SIGNED, "here": "/", "event": _EVENT, "present": 0, "added": None, "people": []},
    ],
    "console/audit": [
        {
            **_SIGNED,
            "here": "/audit",
            "entries": [
                {
                    "at": _WHEN,
                    "actor": "Sandra Jansone-Õunapuu",
                    "action": "invite",
                    "subject": "event:valga-2027",
                },
                {"at": _WHEN, "actor": "—", "action": "walk_in", "subject": "event:valga-2027"},
            ],
        },
        {**_SIGNED, "here": "/audit", "entries": []},
    ],
    "console/not_found": [{**_SIGNED, "here": "/", "key": "valga-2099"}],
}

_ROLES = [("regional_expert", "Reģionālie eksperti"), ("mediator", "Romu mediatori")]
_FORM = {
    "key": "valga-2027",
    "kind": "cross_border_meeting",
    "timezone": "Europe/Tallinn",
    "day": "2027-02-04",
    "start": "10:00",
    "end": "15:30",
    "venue": "Valga Vallavalitsus",
    "address": "Puiestee 8, 68203 Valga",
    "capacity": "25",
    "rsvp_by": "2027-01-28",
    "reminders": "7d, 1d, 2h",
    "survey": "",
    "title_lv": "Latvijas un Igaunijas ekspertu sanāksme Valgā",
    "title_et": "Läti ja Eesti ekspertide kohtumine Valgas",
    "title_en": "",
    "roles": ["regional_expert"],
    "agenda": [
        {
            "at": "10:00",
            "until": "10:30",
            "title_lv": "Iepazīšanās",
            "title_et": "Tutvustus",
            "title_en": "",
        },
        {"at": "", "until": "", "title_lv": "", "title_et": "", "title_en": ""},
    ],
}
_FORM_PAGE = {
    **_SIGNED,
    "here": "/events",
    "kinds": [
        "expert_meeting",
        "good_practice_visit",
        "seminar",
        "workshop",
        "mediator_training",
        "cross_border_meeting",
    ],
    "roles": _ROLES,
    "zones": ["Europe/Riga", "Europe/Tallinn"],
    "action": "/console/events/new",
}
SAMPLES["console/event_form"] = [
    {**_FORM_PAGE, "values": _FORM, "errors": {}, "editing": False},
    {
        **_FORM_PAGE,
        "values": _FORM,
        "editing": True,
        "errors": {
            "key": ["taken"],
            "end": [recognise("2027-02-04 09:30 is not after starts (2027-02-04 10:00)")],
            "agenda": [
                recognise("10:00 is not after at (10:30)"),
                recognise("is 2001 characters long; at most 2000 fit"),
                recognise("'2027-02-31 10:00' is not a real date and time"),
            ],
            "reminders": [recognise("'2' is not a time before the start such as 7d, 2h or 30m")],
        },
    },
]
SAMPLES["console/events"] = [
    {
        **_SIGNED,
        "here": "/events",
        "problems": [
            "no_file",
            "too_big",
            recognise(
                "2027-02-04 09:30 is not after starts (2027-02-04 10:00)",
                "valga-2027.yaml:15",
            ),
            recognise("the file is empty", "valga-2027.yaml"),
        ],
        "events": [
            {
                "key": "valga-2027",
                "title": VALGA["title"],
                "starts_at": VALGA["starts_at"],
                "status": status,
                "accepted": 21,
                "invited": 101,
                "past": past,
            }
            for status, past in (
                ("published", False),
                ("draft", False),
                ("changed", False),
                ("cancelled", False),
                ("published", True),
            )
        ],
    },
    {**_SIGNED, "here": "/events", "events": [], "problems": []},
]

SAMPLES["console/reports"] = [
    {**_SIGNED, "here": "/reports", "start": "2027-01-01", "end": "2027-06-30", "wrong": False},
    {**_SIGNED, "here": "/reports", "start": "2027-07-01", "end": "2027-01-01", "wrong": True},
]

_PERSON = {
    "id": 7,
    "name": "Anneli Õunapuu-Kalniņa",
    "organisation": "Loomestuudio Joy",
    "municipality": "Valga",
    "email": "anneli.ounapuu@joy.example",
    "email_state": "active",
    "telegram_state": "blocked",
    "phone": "+3725000001",
}
_LANGUAGE_NAMES = [("lv", "latviešu"), ("et", "eesti"), ("en", "angļu")]
SAMPLES["console/contacts"] = [
    {
        **_SIGNED,
        "here": "/contacts",
        "query": "role=mediator",
        "imported": "11",
        "changed": "2",
        "links_sent": str(n),
        "can_link": True,
        "not_on_telegram": n,
        "chosen": {
            "q": "Valga",
            "role": "mediator",
            "country": "EE",
            "language": "et",
            "municipality": "",
        },
        "roles": _ROLES,
        "countries": [("LV", "Latvija"), ("EE", "Igaunija")],
        "languages_of": _LANGUAGE_NAMES,
        "people": [
            _PERSON,
            {
                **_PERSON,
                "id": 8,
                "email": None,
                "organisation": None,
                "municipality": None,
                "telegram_state": "unlinked",
            },
        ]
        * n,
    }
    for n in (1, 2, 11)
] + [
    {
        **_SIGNED,
        "here": "/contacts",
        "query": "",
        "chosen": {"q": "", "role": "", "country": "", "language": "", "municipality": ""},
        "imported": None,
        "changed": None,
        "links_sent": None,
        "can_link": False,
        "not_on_telegram": 0,
        "roles": _ROLES,
        "countries": [("LV", "Latvija")],
        "languages_of": _LANGUAGE_NAMES,
        "people": [],
    }
]
SAMPLES["console/contact"] = [
    {
        **_SIGNED,
        "here": "/contacts/7",
        "person": _PERSON,
        "role_name": "Romu mediatori",
        "saved": "1",
        "link_sent": "1",
        "can_link": True,
        "answers": [
            {"title": VALGA["title"], "starts_at": VALGA["starts_at"], "status": "attended"}
        ],
        "messages": [
            {"created_at": _WHEN, "kind": "event_invitation", "channel": "email", "status": "sent"},
            {
                "created_at": _WHEN,
                "kind": "event_reminder",
                "channel": "telegram",
                "status": "failed",
            },
        ],
    },
    {
        **_SIGNED,
        "here": "/contacts/8",
        "person": {
            **_PERSON,
            "email": None,
            "organisation": None,
            "municipality": None,
            "phone": None,
        },
        "role_name": "Viesi",
        "saved": None,
        "link_sent": None,
        "can_link": False,
        "answers": [],
        "messages": [],
    },
]
_CONTACT_FORM = {
    **_SIGNED,
    "here": "/contacts",
    "roles": _ROLES,
    "groups": [
        "municipality",
        "state_institution",
        "roma_representative",
        "ngo",
        "international",
        "other",
    ],
    "languages_of": _LANGUAGE_NAMES,
    "action": "/console/contacts/new",
}
_ROW = {
    "name": "Anneli Õunapuu-Kalniņa",
    "email": "anneli.ounapuu@joy.example",
    "telegram_username": "anneli_o",
    "phone": "+372 5000 0001",
    "role": "mediator",
    "organization": "Loomestuudio Joy",
    "municipality": "Valga",
    "country": "EE",
    "language": "et",
    "stakeholder_group": "roma_representative",
    "consent": "",
    "tags": "valga,youth",
}
SAMPLES["console/contact_form"] = [
    {**_CONTACT_FORM, "values": _ROW, "errors": {}, "editing": None},
    {
        **_CONTACT_FORM,
        "values": _ROW,
        "editing": 7,
        "errors": {
            "consent": ["required for roma_representative (special category data, GDPR art. 9)"],
            "email": ["not an email address: anneli.ounapuu@joy"],
        },
    },
]
SAMPLES["console/erase"] = [{**_SIGNED, "here": "/contacts", "person": _PERSON}]

_FEEDBACK = {
    "lv": "Atgriezeniskā saite par vizīti",
    "et": "Tagasiside õppevisiidi kohta",
    "en": "Feedback on the visit",
}
SAMPLES["console/surveys"] = [
    {
        **_SIGNED,
        "here": "/surveys",
        "surveys": [
            {
                "key": "visit-feedback",
                "title": _FEEDBACK,
                "questions": 5,
                "sent": 21,
                "finished": 11,
                "rate": 11 / 21,
            },
            {
                "key": "valga-2027-feedback",
                "title": _FEEDBACK,
                "questions": 1,
                "sent": 0,
                "finished": 0,
                "rate": None,
            },
        ],
    },
    {**_SIGNED, "here": "/surveys", "surveys": []},
]
# The chat and the subject are rendered in the language previewed, which need not be the
# console's: the samples keep to names and numbers, which read the same in every language.
_PREVIEWED = {
    "slug": "visit-feedback",
    "title": {
        "lv": "Atgriezeniskā saite par vizīti",
        "et": "Tagasiside õppevisiidi kohta",
        "en": "Feedback on the visit",
    },
}
SAMPLES["console/survey_preview"] = [
    {
        **_SIGNED,
        "here": "/surveys/visit-feedback/preview?language=et",
        "survey": _PREVIEWED,
        "shown": shown,
        "telegram": Markup("<b>Valga 2027</b>\n\nSandra Jansone-Õunapuu"),
        "start": "▶",
        "questions": [
            {"html": Markup("<i>1/2</i>\n★"), "buttons": [["1", "2", "3", "4", "5"]]},
            {"html": Markup("<i>2/2</i>\n★★"), "buttons": [["👍"], ["👎"], ["↩", "⏭"]]},
        ][:count],
        "subject": "Valga 2027",
    }
    for shown, count in (("et", 2), ("lv", 1), ("en", 0))
]
SAMPLES["console/survey"] = [
    {
        **_SIGNED,
        "here": "/surveys/visit-feedback",
        "scales": {"useful": 5},
        "sent": "11",
        "linked": [
            {"key": "valga-2027", "title": VALGA["title"], "people": 21, "over": True},
            {"key": "x", "title": VALGA["title"], "people": 0, "over": False},
        ],
        "results": {
            "slug": "visit-feedback",
            "title": "Atgriezeniskā saite par vizīti Sabilē un Talsos",
            "anonymous": False,
            "sent": 21,
            "finished": 11,
            "responses": 11,
            "rate": 11 / 21,
            "questions": [
                {
                    "key": "useful",
                    "text": "Cik noderīga bija vizīte?",
                    "answered": 11,
                    "skipped": 0,
                    "mean": 4.333,
                    "distribution": [[5, 6], [4, 3], [3, 2], [2, 0], [1, 0]],
                    "shares": [],
                    "texts": [],
                },
                {
                    "key": "best_part",
                    "text": "Kas bija visnoderīgākais?",
                    "answered": 10,
                    "skipped": 1,
                    "mean": None,
                    "distribution": [],
                    "shares": [
                        {"label": "Iestāžu apmeklējumi", "count": 7, "share": 0.7},
                        {"label": "Ekspertu diskusija", "count": 3, "share": 0.3},
                    ],
                    "texts": [],
                },
                {
                    "key": "comment",
                    "text": "Ko vēl vēlaties piebilst?",
                    "answered": 2,
                    "skipped": 9,
                    "mean": None,
                    "distribution": [],
                    "shares": [],
                    "texts": [
                        {
                            "text": "Paldies par labi sagatavoto programmu!",
                            "author": "Ilze Kalniņa",
                        },
                        {"text": "Vairāk laika sarunām.", "author": None},
                    ],
                },
            ],
        },
    },
    {
        **_SIGNED,
        "here": "/surveys/x",
        "scales": {},
        "sent": None,
        "linked": [],
        "results": {
            "slug": "x",
            "title": "Tagasiside",
            "anonymous": True,
            "sent": 0,
            "finished": 0,
            "responses": 0,
            "rate": None,
            "questions": [],
        },
    },
]

_STATUSES = [
    ("not_started", "Nav uzsākts"),
    ("in_progress", "Tiek īstenots"),
    ("done", "Izpildīts"),
    ("dropped", "Atmests"),
]
_REC = {
    "slug": "valga-2020-mediators",
    "text": {
        "lv": "Organizēt Valgas un Latvijas romu mediatoru pieredzes apmaiņu.",
        "et": "Korraldada Valga ja Läti romade mediaatorite kogemuste vahetus.",
        "en": "Arrange an exchange of experience between Roma mediators in Valga and Latvia.",
    },
    "area": "mediation",
    "due_on": VALGA["starts_at"].date(),
    "status": "in_progress",
}
SAMPLES["console/recommendations"] = [
    {
        **_SIGNED,
        "here": "/recommendations",
        "statuses": _STATUSES,
        "areas": ["education", "social", "employment", "culture", "mediation", "cooperation"],
        "chosen": {"status": "in_progress", "area": "", "overdue": True},
        "saved": saved,
        "rows": [
            {
                "rec": _REC,
                "owners": [{"name": "Kadri Tamm"}, {"name": "Ilze Kalniņa"}],
                "overdue": True,
                "latest_comment": "Tikšanās Valgā norunāta martā.",
            },
            {
                "rec": {**_REC, "slug": "x", "due_on": None, "area": "education", "status": "done"},
                "owners": [],
                "overdue": False,
                "latest_comment": None,
            },
        ],
    }
    for saved in ("recorded", "too_long", "missing")
] + [
    {
        **_SIGNED,
        "here": "/recommendations",
        "statuses": _STATUSES,
        "areas": ["education"],
        "chosen": {"status": "", "area": "", "overdue": False},
        "saved": None,
        "rows": [],
    }
]

_AUDIENCES = [
    ("all", "Visiem"),
    ("role:mediator", "Romu mediatori"),
    ("event:1", VALGA["title"]["lv"]),
]
SAMPLES["console/broadcast"] = [
    {
        **_SIGNED,
        "here": "/broadcast",
        "audiences": _AUDIENCES,
        "chosen": "all",
        "texts": {},
        "errors": [],
    },
    {
        **_SIGNED,
        "here": "/broadcast",
        "audiences": _AUDIENCES,
        "chosen": "role:mediator",
        "texts": {"lv": "Tikšanās Valgā sāksies 10:00.", "et": "Kohtumine Valgas algab kell 10."},
        "errors": ["empty", "too_long", "audience"],
        "limit": 3500,
    },
]
SAMPLES["console/broadcast_preview"] = [
    {
        **_SIGNED,
        "here": "/broadcast",
        "texts": {"lv": "Tikšanās Valgā sāksies 10:00 <b>Puiestee</b> ielā 8 & pēc tam pusdienas."},
        "choice": "event:1",
        "audience": VALGA["title"]["lv"],
        "language_names": [("lv", "latviešu"), ("et", "igauņu"), ("en", "angļu")],
        "preview": {
            "total": total,
            "counts": Counter({("telegram", "lv"): total, ("email", "et"): 0}),
            "unreachable": [["Jānis Bērziņš", "no email address"]],
        },
    }
    for total in (0, 1, 11, 21)
]
SAMPLES["console/broadcast_progress"] = [
    {
        **_SIGNED,
        "here": "/broadcast",
        "sent": sent,
        "pending": pending,
        "total": 21,
        "failures": [
            {
                "name": "Ilze Kalniņa",
                "reason": {
                    "lv": "tērzēšanas robots ir bloķēts",
                    "et": "on vestlusroboti blokeerinud",
                    "en": "has blocked the bot",
                },
            }
        ],
    }
    for sent, pending in ((3, 17), (20, 0))
]

SAMPLES["console/contacts_import"] = [
    {
        **_SIGNED,
        "here": "/contacts",
        "problem": problem,
        "detail": "contacts.csv line 1: the header lacks name",
    }
    for problem in (None, "no_file", "kind", "unreadable")
]
SAMPLES["console/contacts_import_preview"] = [
    {
        **_SIGNED,
        "here": "/contacts",
        "filename": "kontakti-2027.csv",
        "upload": "abc.csv",
        "new": 21,
        "updated": 1,
        "unchanged": 0,
        "problems": [{"line": 4, "column": "email", "reason": "not an email address: ilze@"}],
        "more": more,
        "bad_lines": 3,
    }
    for more in (0, 1, 11)
] + [
    {
        **_SIGNED,
        "here": "/contacts",
        "filename": "kontakti.xlsx",
        "upload": "abc.xlsx",
        "new": 2,
        "updated": 0,
        "unchanged": 5,
        "problems": [],
        "more": 0,
        "bad_lines": 0,
    }
]

_QUESTION = {
    "key": "useful",
    "type": "rating",
    "required": True,
    "scale": "5",
    "options": "",
    "text_lv": "Cik noderīga bija vizīte?",
    "text_et": "Kui kasulik oli visiit?",
    "text_en": "",
}
_SURVEY_VALUES = {
    "key": "visit-feedback",
    "anonymous": False,
    "send_after": "2h",
    "remind_after": "3d",
    "closes_after": "",
    "title_lv": "Atgriezeniskā saite",
    "title_et": "Tagasiside",
    "title_en": "",
    "questions": [
        _QUESTION,
        {
            **_QUESTION,
            "key": "best",
            "type": "single_choice",
            "required": False,
            "options": "Iestādes | Asutused\nDiskusija | Arutelu",
        },
        {**_QUESTION, "key": "", "text_lv": "", "text_et": ""},
    ],
}
_SURVEY_FORM = {
    **_SIGNED,
    "here": "/surveys",
    "types": ["rating", "single_choice", "multiple_choice", "yes_no", "text"],
    "action": "/console/surveys/new",
    "values": _SURVEY_VALUES,
}
SAMPLES["console/survey_form"] = [
    {**_SURVEY_FORM, "errors": {}, "editing": False},
    {
        **_SURVEY_FORM,
        "editing": True,
        "errors": {
            "key": ["taken"],
            "q-1": [
                recognise("missing; the title is in lv, et"),
                recognise("give at least two options"),
            ],
            "closes_after": [recognise("14d is not after remind_after (21d)")],
        },
    },
]

SAMPLES["console/telegram_link"] = [
    {
        **_SIGNED,
        "here": "/contacts/7",
        "person": _PERSON,
        "link": "https://t.me/ekspertu_tikls_bot?start=Zx2cV5bNm7Qw3Er4Ty5Ui6Op7",
        "valid_until": VALGA["starts_at"].date(),
        "qr": "",
    }
]

_REC_VALUES = {
    "key": "valga-2027-mediators",
    "area": "mediation",
    "owners": "kadri.tamm@valga.example, ilze.kalnina@jelgava.example",
    "due": "2027-05-31",
    "remind": "monthly",
    "event": "valga-2027",
    "source_date": "",
    "text_lv": "Organizēt Valgas un Latvijas romu mediatoru pieredzes apmaiņu.",
    "text_et": "Korraldada Valga ja Läti romade mediaatorite kogemuste vahetus.",
    "text_en": "",
    "source_lv": "",
    "source_et": "",
    "source_en": "",
}
_REC_FORM = {
    **_SIGNED,
    "here": "/recommendations",
    "values": _REC_VALUES,
    "areas": ["education", "social", "employment", "culture", "mediation", "cooperation"],
    "events": [("valga-2027", VALGA["title"]["lv"])],
    "action": "/console/recommendations/new",
    "cadences": "monthly, quarterly, every 60d, 0 9 * * 1",
}
SAMPLES["console/rec_form"] = [
    {**_REC_FORM, "errors": {}, "editing": False},
    {
        **_REC_FORM,
        "editing": True,
        "errors": {
            "key": ["taken"],
            "owners": [
                recognise("no contact with email liga.saulite@jelgva.example"),
                recognise("give at least one owner's email address"),
            ],
        },
    },
]

SAMPLES["replies/console_link"] = [
    {"url": "https://tikls.km.example/console/signin/Zx2cV5bNm7Qw3Er4Ty5Ui6Op7Aa", "minutes": 15},
    {"url": "http://127.0.0.1:8080/console/signin/a", "minutes": 1},
]

SAMPLES["replies/bc_too_long"] = [{"limit": 3500, "length": 4000}, {"limit": 21, "length": 22}]
