"""The renderer and its filters: Latvian and Estonian plurals, dates, times and date ranges,
missing templates, the Latvian fallback, strict values and diacritics."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import pytest

from bot import textformat
from bot.rendering import VARIANTS, MissingTemplateError, Renderer
from tests.samples import sample_values

RIGA = ZoneInfo("Europe/Riga")
LATVIAN_LETTERS = "āčēģīķļņšūž ĀČĒĢĪĶĻŅŠŪŽ"

Render = Callable[..., str]


@pytest.fixture
def render(tmp_path: Path) -> Render:
    """Render one template source through the public API, as a Telegram variant."""

    def render(
        source: str, language: str = "lv", timezone: str | None = None, **values: Any
    ) -> str:
        folder = tmp_path / language / "outbound"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "probe.telegram.html").write_text(source, "utf-8")
        return Renderer(tmp_path).render_variant(
            "probe", "telegram", language, values, timezone=timezone
        )

    return render


def write_kind(root: Path, language: str, kind: str, text: str) -> None:
    """Write all four variants of a message kind in one language."""
    (root / language / "outbound").mkdir(parents=True, exist_ok=True)
    for suffix in VARIANTS.values():
        (root / language / "outbound" / f"{kind}.{suffix}").write_text(text, "utf-8")


LATVIAN_PARTICIPANTS = '{{ n|plural("dalībnieks", "dalībnieki", none="dalībnieku") }}'


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (21, "21 dalībnieks"),
        (1, "1 dalībnieks"),
        (2, "2 dalībnieki"),
        (11, "11 dalībnieki"),
        (10, "10 dalībnieki"),
        (0, "0 dalībnieku"),
        (101, "101 dalībnieks"),
        (111, "111 dalībnieki"),
    ],
)
def test_latvian_plural_follows_cldr(render: Render, n: int, expected: str) -> None:
    assert render(LATVIAN_PARTICIPANTS, n=n) == expected


@pytest.mark.parametrize(
    ("n", "expected"), [(1, "1 osaleja"), (2, "2 osalejat"), (21, "21 osalejat"), (0, "0 osalejat")]
)
def test_estonian_plural_follows_cldr(render: Render, n: int, expected: str) -> None:
    assert render('{{ n|plural("osaleja", "osalejat") }}', "et", n=n) == expected


def test_latvian_zero_category_uses_its_own_form_only_when_given(render: Render) -> None:
    source = '{{ n|plural("diena", "dienas", zero="dienu") }}'
    assert [render(source, n=n) for n in (0, 10, 12, 30, 2)] == [
        "0 dienu",
        "10 dienu",
        "12 dienu",
        "30 dienu",
        "2 dienas",
    ]


def test_plural_puts_the_number_where_a_phrase_asks_for_it(render: Render) -> None:
    source = (
        '{{ n|plural("Dalību apstiprinājis {n} dalībnieks.", '
        '"Dalību apstiprinājuši {n} dalībnieki.") }}'
    )
    assert render(source, n=21) == "Dalību apstiprinājis 21 dalībnieks."
    assert render(source, n=3) == "Dalību apstiprinājuši 3 dalībnieki."


def test_plural_formats_the_number_for_the_locale(render: Render) -> None:
    assert (
        render('{{ n|plural("participant", "participants") }}', "en", n=1500)
        == "1,500 participants"
    )
    assert render('{{ n|plural("osaleja", "osalejat") }}', "et", n=1500) == "1\xa0500 osalejat"


@pytest.mark.parametrize(
    ("language", "source", "expected"),
    [
        ("lv", "{{ day|date }}", "2027. gada 4. februāris"),
        ("lv", "{{ day|date_in }}", "2027. gada 4. februārī"),
        ("et", "{{ day|date }}", "4. veebruar 2027"),
        ("et", "{{ day|date_in }}", "4. veebruar 2027"),
        ("en", "{{ day|date }}", "4 February 2027"),
        ("en", "{{ day|date_in }}", "4 February 2027"),
        ("lv", '{{ day|date("full") }}', "ceturtdiena, 2027. gada 4. februāris"),
        ("lv", "{{ day|weekday }}", "ceturtdiena"),
        ("et", "{{ day|weekday }}", "neljapäev"),
        ("en", "{{ day|weekday }}", "Thursday"),
    ],
)
def test_dates_read_naturally_in_each_language(
    render: Render, language: str, source: str, expected: str
) -> None:
    assert render(source, language, day=date(2027, 2, 4)) == expected


@pytest.mark.parametrize(
    ("month", "locative"),
    list(
        enumerate(
            [
                "janvārī",
                "februārī",
                "martā",
                "aprīlī",
                "maijā",
                "jūnijā",
                "jūlijā",
                "augustā",
                "septembrī",
                "oktobrī",
                "novembrī",
                "decembrī",
            ],
            start=1,
        )
    ),
)
def test_latvian_date_in_a_sentence_takes_the_locative_month(
    render: Render, month: int, locative: str
) -> None:
    assert render("{{ day|date_in }}", day=date(2027, month, 9)) == f"2027. gada 9. {locative}"


def test_date_of_a_moment_is_the_date_in_the_contacts_time_zone(render: Render) -> None:
    late_evening_utc = datetime(2027, 2, 3, 23, 30, tzinfo=UTC)
    assert render("{{ at|date }}", at=late_evening_utc) == "2027. gada 4. februāris"
    assert render("{{ at|date }}", timezone="UTC", at=late_evening_utc) == "2027. gada 3. februāris"


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2027, 6, 30, 7, 0, tzinfo=UTC), "10:00"),  # summer time, UTC+3
        (datetime(2027, 2, 4, 8, 0, tzinfo=UTC), "10:00"),  # winter time, UTC+2
        (datetime(2027, 3, 28, 0, 30, tzinfo=UTC), "02:30"),  # before the clocks go forward
        (datetime(2027, 3, 28, 1, 30, tzinfo=UTC), "04:30"),  # after
        (datetime(2027, 10, 31, 0, 30, tzinfo=UTC), "03:30"),  # before the clocks go back
        (datetime(2027, 10, 31, 1, 30, tzinfo=UTC), "03:30"),  # after
    ],
)
def test_times_are_shown_in_riga_time_across_daylight_saving(
    render: Render, moment: datetime, expected: str
) -> None:
    assert render("{{ at|time }}", at=moment) == expected


def test_times_of_day_are_shown_as_they_are(render: Render) -> None:
    assert render("{{ at|time }}", "en", at=time(9, 5)) == "09:05"


def test_a_naive_moment_is_refused_rather_than_shown_in_the_wrong_zone(render: Render) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        render("{{ at|time }}", at=datetime(2027, 6, 30, 10, 0))


SABILE_TALSI = (datetime(2027, 6, 30, 10, 0, tzinfo=RIGA), datetime(2027, 7, 1, 14, 0, tzinfo=RIGA))


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("lv", "2027. gada 30. jūnijā, 10:00 – 1. jūlijā, 14:00"),
        ("et", "30. juuni, 10:00 – 1. juuli 2027, 14:00"),
        ("en", "30 June, 10:00 – 1 July 2027, 14:00"),
    ],
)
def test_two_day_visit_shows_both_days_with_their_times(
    render: Render, language: str, expected: str
) -> None:
    start, end = SABILE_TALSI
    assert render("{{ start|daterange(end) }}", language, start=start, end=end) == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("lv", "2027. gada 4. februārī, 10:00–15:30"),
        ("et", "4. veebruar 2027, 10:00–15:30"),
        ("en", "4 February 2027, 10:00–15:30"),
    ],
)
def test_one_day_event_shows_the_day_once(render: Render, language: str, expected: str) -> None:
    start, end = datetime(2027, 2, 4, 8, 0, tzinfo=UTC), datetime(2027, 2, 4, 13, 30, tzinfo=UTC)
    assert render("{{ start|daterange(end) }}", language, start=start, end=end) == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("lv", "2027. gada 30. decembrī, 10:00 – 2028. gada 3. janvārī, 14:00"),
        ("et", "30. detsember 2027, 10:00 – 3. jaanuar 2028, 14:00"),
        ("en", "30 December 2027, 10:00 – 3 January 2028, 14:00"),
    ],
)
def test_event_over_new_year_names_both_years(render: Render, language: str, expected: str) -> None:
    start = datetime(2027, 12, 30, 10, 0, tzinfo=RIGA)
    end = datetime(2028, 1, 3, 14, 0, tzinfo=RIGA)
    assert render("{{ start|daterange(end) }}", language, start=start, end=end) == expected


def test_date_range_of_plain_dates_has_no_times(render: Render) -> None:
    source = "{{ start|daterange(end) }}"
    assert (
        render(source, start=date(2027, 7, 1), end=date(2027, 7, 3))
        == "2027. gada 1. jūlijā – 3. jūlijā"
    )


def test_date_range_that_ends_before_it_starts_is_refused(render: Render) -> None:
    start, end = SABILE_TALSI
    with pytest.raises(ValueError, match="ends"):
        render("{{ start|daterange(end) }}", start=end, end=start)


def test_per_language_text_falls_back_to_latvian_then_any(render: Render) -> None:
    title = {"lv": "Seminārs", "et": "Seminar", "en": "Seminar (en)"}
    assert render("{{ title|t }}", "en", title=title) == "Seminar (en)"
    assert render("{{ title|t }}", "en", title={"lv": "Seminārs", "et": "Seminar"}) == "Seminārs"
    assert render("{{ title|t }}", "lv", title={"et": "Seminar"}) == "Seminar"


def test_missing_template_names_kind_variant_and_language(tmp_path: Path) -> None:
    write_kind(tmp_path, "lv", "greeting", "Labdien!")
    with pytest.raises(MissingTemplateError) as raised:
        Renderer(tmp_path).render("greeting", "et", {})
    assert "'greeting'" in str(raised.value)
    assert "'telegram'" in str(raised.value)
    assert "'et'" in str(raised.value)


def test_missing_variant_is_named_even_when_others_exist(tmp_path: Path) -> None:
    write_kind(tmp_path, "et", "greeting", "Tere!")
    (tmp_path / "et" / "outbound" / "greeting.email.html").unlink()
    with pytest.raises(MissingTemplateError, match="variant 'html' in language 'et'"):
        Renderer(tmp_path).render("greeting", "et", {})


def test_latvian_is_used_for_a_missing_language_only_when_the_caller_allows_it(
    tmp_path: Path,
) -> None:
    write_kind(tmp_path, "lv", "greeting", "Labdien, {{ name }}!")
    renderer = Renderer(tmp_path)
    rendered = renderer.render("greeting", "et", {"name": "Kadri"}, fallback=True)
    assert rendered.language == "lv"
    assert rendered.telegram == "Labdien, Kadri!"
    with pytest.raises(MissingTemplateError):
        renderer.render("greeting", "et", {"name": "Kadri"})
    with pytest.raises(MissingTemplateError):
        renderer.render_variant("greeting", "text", "et", {"name": "Kadri"})
    assert (
        renderer.render_variant("greeting", "text", "et", {"name": "Kadri"}, fallback=True)
        == "Labdien, Kadri!"
    )


def test_the_contacts_own_language_wins_over_the_fallback(tmp_path: Path) -> None:
    write_kind(tmp_path, "lv", "greeting", "Labdien!")
    write_kind(tmp_path, "et", "greeting", "Tere!")
    rendered = Renderer(tmp_path).render("greeting", "et", {}, fallback=True)
    assert (rendered.language, rendered.subject) == ("et", "Tere!")


def test_a_missing_value_raises_instead_of_rendering_empty() -> None:
    values = sample_values("event_invitation")[0]
    del values["contact_name"]
    with pytest.raises(jinja2.UndefinedError, match="contact_name"):
        Renderer().render("event_invitation", "lv", values)


def test_an_unknown_variant_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown variant"):
        Renderer().render_variant("event_invitation", "sms", "lv", {})


def test_subject_is_one_line(tmp_path: Path) -> None:
    write_kind(tmp_path, "lv", "greeting", "\n  Uzaicinājums:\n  {{ title }}  \n")
    assert (
        Renderer(tmp_path).render("greeting", "lv", {"title": "Seminārs"}).subject
        == "Uzaicinājums: Seminārs"
    )


def test_kinds_lists_message_kinds_but_not_shared_pieces(tmp_path: Path) -> None:
    write_kind(tmp_path, "lv", "greeting", "Labdien!")
    write_kind(tmp_path, "lv", "farewell", "Uz redzēšanos!")
    (tmp_path / "lv" / "outbound" / "_layout.email.html").write_text(
        "{% block content %}{% endblock %}", "utf-8"
    )
    assert Renderer(tmp_path).kinds() == ["farewell", "greeting"]


def test_latvian_diacritics_survive_every_variant() -> None:
    values = sample_values("event_invitation")[0]
    values["contact_name"] = f"Ģirts Ķēniņš-Ļaudona {LATVIAN_LETTERS}"
    values["event"]["title"] = {
        "lv": f"Pļaviņu, Ērgļu un Kuldīgas ekspertu sanāksme {LATVIAN_LETTERS}"
    }
    rendered = Renderer().render("event_invitation", "lv", values)
    assert LATVIAN_LETTERS in rendered.subject
    for output in (rendered.telegram, rendered.text, rendered.html):
        assert f"Ģirts Ķēniņš-Ļaudona {LATVIAN_LETTERS}" in output
        assert f"Pļaviņu, Ērgļu un Kuldīgas ekspertu sanāksme {LATVIAN_LETTERS}" in output
        assert output.encode("utf-8").decode("utf-8") == output
    assert "Piedalīšos" in rendered.html
    assert "2027. gada 30. jūnijā" in rendered.text


def test_invitation_reads_well_in_latvian() -> None:
    rendered = Renderer().render("event_invitation", "lv", sample_values("event_invitation")[0])
    assert (
        rendered.subject == "Uzaicinājums: Reģionālo ekspertu labās prakses vizīte Sabilē un Talsos"
    )
    assert rendered.telegram.startswith(
        "<b>Reģionālo ekspertu labās prakses vizīte Sabilē un Talsos</b>"
    )
    assert "<b>Laiks:</b> 2027. gada 30. jūnijā, 10:00 – 1. jūlijā, 14:00" in rendered.telegram
    assert (
        "<i>2027. gada 1. jūlijs (ceturtdiena)</i>\n10:00–13:00 Reģionālo ekspertu sanāksme"
        in rendered.telegram
    )
    assert "Lūdzam atbildēt ne vēlāk kā 2027. gada 16. jūnijā" in rendered.telegram
    assert "Dalību jau apstiprinājuši 11 dalībnieki." in rendered.telegram
    assert "Nevarēšu piedalīties: https://expertbot.example.lv/rsvp/" in rendered.text


def test_invitation_reads_well_in_estonian() -> None:
    rendered = Renderer().render("event_invitation", "et", sample_values("event_invitation")[1])
    assert (
        rendered.subject
        == "Kutse: Läti ja Eesti ekspertide kohtumine romade lõimumise teemal Valgas"
    )
    assert "<b>Aeg:</b> 4. veebruar 2027, 10:00–15:30" in rendered.telegram
    assert "Vastamise tähtaeg: 28. jaanuar 2027" in rendered.telegram
    assert "Osalemise on juba kinnitanud 21 osalejat." in rendered.telegram
    assert ">Ei saa osaleda</a>" in rendered.html


def test_a_long_agenda_is_cut_short_on_telegram_only() -> None:
    values = sample_values("event_invitation")[-1]
    first_day = values["event"]["agenda"][:6]
    values["event"]["agenda"] += first_day
    rendered = Renderer().render("event_invitation", "lv", values)
    last_item = "Atgriezeniskā saite, rakstiski ieteikumi nākamajai ekspertu sanāksmei"
    assert "…un vēl 6 punkti" in rendered.telegram
    assert "2027. gada 1. jūlijs" not in rendered.telegram
    assert last_item not in rendered.telegram
    assert last_item in rendered.text
    assert "…un vēl" not in rendered.text


@pytest.mark.parametrize(
    ("language", "days", "expected"),
    [
        ("lv", 0, "Pasākums sākas šodien."),
        ("lv", 1, "Pasākums sāksies rīt."),
        ("lv", 2, "Pasākums sāksies pēc 2 dienām."),
        ("lv", 21, "Pasākums sāksies pēc 21 dienas."),
        ("et", 14, "Üritus algab 14 päeva pärast."),
        ("en", 1, "The event starts tomorrow."),
        ("en", 7, "The event starts in 7 days."),
    ],
)
def test_reminder_says_when_the_event_starts(language: str, days: int, expected: str) -> None:
    values = sample_values("event_reminder")[0]
    values["starts_in_days"] = days
    rendered = Renderer().render("event_reminder", language, values)
    assert expected in rendered.telegram
    assert expected in rendered.text


def test_telegram_link_email_says_until_when_the_link_works() -> None:
    values = sample_values("telegram_invite_link")[0]
    rendered = Renderer().render("telegram_invite_link", "lv", values)
    assert "Saites derīguma termiņš: 2027. gada 4. februāris" in rendered.text
    assert values["link"] in rendered.text
    assert f'href="{values["link"]}"' in rendered.html


@pytest.mark.parametrize(
    ("language", "mean", "share"),
    [("lv", "4,3", "67%"), ("et", "4,3", "67%"), ("en", "4.3", "67%")],
)
def test_survey_means_and_shares_use_the_languages_decimal_sign(
    language: str, mean: str, share: str
) -> None:
    assert textformat.format_number(13 / 3, language) == mean
    assert textformat.format_share(2 / 3, language) == share
