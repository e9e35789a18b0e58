"""Language quality gate: every user-facing template, in every language, rendered with the
realistic values of tests/samples.py, is spelt right (Hunspell with Debian's lv_LV, et_EE and
en_US), keeps to its own language, uses the glossary's words and leaves no gaps where a value is
missing. The reviewed data (allow-lists, glossary) and the seeded mistakes live in tests/language/.
"""

from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path

import pytest
import yaml

from bot.rendering import LANGUAGES, MissingTemplateError
from tests import samples
from tests.language import checks, grammar, hunspell, lists, literals, templates
from tests.language.hunspell import DICTIONARIES, Speller
from tests.language.templates import MissingSamples, Rendering, Unit

UNITS = templates.units()
SEEDED = templates.MessageTemplates(Path(__file__).parent / "language" / "seeded")
SHARED_GLOSSARY = Path(__file__).resolve().parents[2] / "shared" / "GLOSSARY.md"


def by_name(units: Sequence[Unit]) -> list[pytest.ParameterSet]:
    return [pytest.param(unit, id=unit.name) for unit in units]


def rendered(unit: Unit) -> Sequence[Rendering]:
    """Render a template with all its sample value sets, failing clearly when it cannot be."""
    try:
        return templates.renderings(unit)
    except MissingSamples as error:
        reason = f"{unit}: {error}"
    except MissingTemplateError as error:
        reason = f"{unit} is missing, a translation another language has: {error}"
    pytest.fail(reason, pytrace=False)


def no_problems(problems: list[str]) -> None:
    """Assert the list is empty, showing every problem on a line of its own."""
    assert not problems, "\n" + "\n".join(problems)


def renderable(units: Sequence[Unit]) -> Iterator[Rendering]:
    for unit in units:
        try:
            yield from templates.renderings(unit)
        except Exception:  # a broken template fails its own tests, not every spelling test
            continue  # the test of that template reports it


@cache
def _learned() -> Speller:
    speller = Speller()
    speller.learn(checks.all_template_words(renderable(UNITS)))
    return speller


def speller() -> Speller:
    """A speller that knows every word of every template, from one Hunspell call a dictionary.

    Skips the calling test where Hunspell is missing, and fails it in CI.
    """
    hunspell.require()
    return _learned()


def seeded_unit(name: str) -> Unit:
    """Return the unit of a seeded fixture, tests/language/seeded/<lang>/<template>."""
    return next(unit for unit in SEEDED.units() if unit.name.endswith("seeded/" + name))


def seeded_reply(name: str) -> Unit:
    """Return the unit of a seeded reply, tests/language/seeded/<lang>/replies/<name>."""
    replies = templates.PageTemplates(SEEDED.directory, "replies")
    return next(unit for unit in replies.units() if unit.name.endswith("seeded/" + name))


def seeded(name: str) -> Sequence[Rendering]:
    """Render a seeded fixture, tests/language/seeded/<lang>/<template>."""
    return templates.renderings(seeded_unit(name))


def caught(problems: list[str], name: str, *fragments: str) -> None:
    """Assert one problem names the seeded template, its language and every fragment."""
    language = name.split("/")[0]
    assert any(
        f"seeded/{name} [{language}]" in problem
        and all(fragment in problem for fragment in fragments)
        for problem in problems
    ), f"the gate missed the mistake seeded in {name}: {problems}"


# --- Every template, every language ---------------------------------------------------------


@pytest.mark.parametrize("key", sorted({unit.sample_key for unit in UNITS}))
def test_every_message_kind_and_page_has_sample_values(key: str) -> None:
    if key not in samples.SAMPLES:
        pytest.fail(
            f"tests/samples.py has no sample values for {key!r}: add realistic value sets to "
            f"SAMPLES[{key!r}]",
            pytrace=False,
        )


@pytest.mark.parametrize("template_set", templates.template_sets(), ids=lambda s: s.name)
def test_every_template_is_translated_into_every_language(
    template_set: templates.MessageTemplates | templates.PageTemplates,
) -> None:
    no_problems(template_set.missing())


@pytest.mark.parametrize("unit", by_name(UNITS))
def test_template_is_spelt_correctly(unit: Unit) -> None:
    no_problems(checks.spelling(rendered(unit), speller()))


@pytest.mark.parametrize("unit", by_name(UNITS))
def test_template_keeps_to_the_letters_of_its_language(unit: Unit) -> None:
    no_problems(checks.foreign_letters(rendered(unit)))


@pytest.mark.parametrize("unit", by_name(UNITS))
def test_template_has_no_words_of_another_language(unit: Unit) -> None:
    no_problems(checks.foreign_words(rendered(unit), speller()))


@pytest.mark.parametrize("unit", by_name([unit for unit in UNITS if unit.language != "en"]))
def test_latvian_and_estonian_templates_have_no_english_left_in_them(unit: Unit) -> None:
    no_problems(checks.english(rendered(unit), speller()))


@pytest.mark.parametrize("unit", by_name(UNITS))
def test_template_uses_the_glossary_wording(unit: Unit) -> None:
    no_problems(checks.glossary(rendered(unit)))


@pytest.mark.parametrize("unit", by_name(UNITS))
def test_template_leaves_no_gaps_where_values_are_missing(unit: Unit) -> None:
    no_problems(checks.layout(rendered(unit)))


@pytest.mark.parametrize("unit", by_name(UNITS))
def test_template_prints_every_count_with_the_word_form_its_number_needs(unit: Unit) -> None:
    no_problems(grammar.counts(unit, rendered(unit)))


@pytest.mark.parametrize("unit", by_name([unit for unit in UNITS if unit.language != "en"]))
def test_dates_after_prepositions_take_the_case_the_preposition_governs(unit: Unit) -> None:
    no_problems(grammar.date_cases(rendered(unit)))


@pytest.mark.parametrize("unit", by_name([unit for unit in UNITS if unit.language == "lv"]))
def test_latvian_template_addresses_every_reader_without_a_gendered_participle(
    unit: Unit,
) -> None:
    no_problems(grammar.gender(rendered(unit)))


@pytest.mark.parametrize("unit", by_name(UNITS))
def test_template_adds_no_full_stop_after_text_that_has_one(unit: Unit) -> None:
    no_problems(grammar.punctuation(rendered(unit)))


@pytest.mark.parametrize("unit", by_name([unit for unit in UNITS if unit.language != "en"]))
def test_template_addresses_its_reader_in_the_one_register_of_its_language(unit: Unit) -> None:
    no_problems(grammar.register(rendered(unit)))


@pytest.mark.parametrize("language", ["lv", "et"])
def test_bot_labels_address_the_reader_in_the_register_of_the_templates(language: str) -> None:
    lower = [
        f"{group}.{key}: {word!r}"
        for group, key, texts in _labels()
        for word in grammar.register_words(re.findall(r"[^\W\d_]+", texts[language]), language)
    ]
    assert not lower, f"labels.yaml [{language}] writes the polite pronoun in lower case: {lower}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_event_invitation_email_shows_the_glossary_buttons_and_stop_link(language: str) -> None:
    words = {concept: term.word(language) for concept, term in lists.glossary().items()}
    for variant in ("html", "text"):
        unit = next(
            unit
            for unit in UNITS
            if (unit.kind, unit.variant, unit.language) == ("event_invitation", variant, language)
        )
        for rendering in rendered(unit):
            labels = [label for _, label in templates.text.links(rendering.output, unit.markup)]
            for concept in (
                "RSVP: will attend",
                "RSVP: cannot attend",
                "RSVP: not sure yet",
                "stop messages",
            ):
                assert words[concept] in labels, f"{rendering}: no {words[concept]!r} ({concept})"


# --- The reviewed data ----------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_allow_list_entry_is_one_word_with_a_reason(language: str) -> None:
    no_problems(lists.allow_list(language).problems)


def test_an_allow_list_entry_without_a_reason_fails(tmp_path: Path) -> None:
    path = tmp_path / "allow-lv.txt"
    path.write_text(
        "# header comment\n\nromu  # genitive plural of romi\nTelegram\nRomu  # again\n"
        "e-pasts  # hyphenated\ntwo words  # not one word\n",
        "utf-8",
    )
    allow = lists.read_allow_list(path)
    assert allow.problems == [
        f"{tmp_path.name}/allow-lv.txt:4: 'Telegram' has no justification ('# why')",
        f"{tmp_path.name}/allow-lv.txt:5: 'Romu' is listed twice",
        f"{tmp_path.name}/allow-lv.txt:6: 'e-pasts' is not a single word",
        f"{tmp_path.name}/allow-lv.txt:7: one word per line, then '# why': "
        "'two words  # not one word'",
    ]
    assert allow.allows("ROMU") and allow.allows("telegram") and not allow.allows("romi")


@pytest.mark.parametrize("language", LANGUAGES)
def test_allow_list_has_no_entries_the_templates_no_longer_use(language: str) -> None:
    allow = lists.allow_list(language)
    used = {
        word.casefold()
        for rendering in renderable([unit for unit in UNITS if unit.language == language])
        for word in rendering.template_words
    }
    used |= {  # labels (messages/labels.yaml) count too
        word.casefold()
        for group in LABELS.values()
        for texts in group.values()
        if isinstance(texts, dict) and isinstance(texts.get(language), str)
        for word in re.findall(r"[^\W\d_]+", texts[language])
    }
    stale = [
        f"tests/language/allow-{language}.txt:{allow.lines[key]}: {allow.spelling[key]!r} is in "
        "no template any more: remove it"
        for key in allow.entries
        if key not in used
    ]
    no_problems(stale)


@pytest.mark.parametrize("language", LANGUAGES)
def test_allow_list_has_no_entries_the_dictionary_now_knows(language: str) -> None:
    # A warning, not a failure: a newer dictionary on one machine must not break the build.
    allow = lists.allow_list(language)
    known = [
        allow.spelling[key]
        for key in allow.entries
        if speller().accepts(language, allow.spelling[key])
    ]
    if known:
        warnings.warn(
            f"tests/language/allow-{language}.txt: {DICTIONARIES[language]} now knows "
            f"{', '.join(known)}; the entries can go",
            UserWarning,
            stacklevel=1,
        )


def test_glossary_data_is_complete() -> None:
    no_problems(lists.glossary_problems())
    concepts = set(lists.glossary())
    assert {"RSVP: will attend", "RSVP: cannot attend", "RSVP: not sure yet"} <= concepts
    assert {"stop messages", "invitation", "reminder", "agenda"} <= concepts
    assert {avoid.language for avoid in lists.avoid_list()} == set(LANGUAGES)


def test_glossary_data_matches_the_shared_glossary() -> None:
    if not SHARED_GLOSSARY.is_file():
        pytest.skip(f"no shared glossary at {SHARED_GLOSSARY} to compare with")
    shared = {}
    for line in SHARED_GLOSSARY.read_text("utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("concept", "---"):
            shared[cells[0]] = [re.sub(r"\s*\*\(check\)\*", "", cell) for cell in cells[1:]]
    ours = {concept: list(term.words.values()) for concept, term in lists.glossary().items()}
    assert ours == shared


# --- Words in Python ------------------------------------------------------------------------


def test_python_shows_people_no_latvian_or_estonian_words_of_its_own() -> None:
    found = list(literals.literals(templates.ROOT))
    hunspell.require()
    spell = Speller()
    spell.learn(literals.words(found))
    no_problems(literals.local_words(found, spell))


def test_the_python_scan_finds_words_in_literals_but_not_in_logs_or_docstrings(
    tmp_path: Path,
) -> None:
    package = tmp_path / "bot"
    package.mkdir()
    (package / "handlers.py").write_text(
        '"""Kanāli un e-pasts: a docstring may name them."""\n'
        "import logging\n"
        'CHANNEL_NAMES = {"telegram": "Telegram", "email": "e-pasts"}\n'
        'logging.getLogger(__name__).info("nosūtīts e-pasts")\n'
        "def f() -> str:\n"
        '    raise ValueError("kļūda")\n',
        "utf-8",
    )
    found = list(literals.literals(tmp_path))
    hunspell.require()
    spell = Speller()
    spell.learn(literals.words(found))
    problems = literals.local_words(found, spell)
    assert len(problems) == 1 and "bot/handlers.py:3: 'e-pasts'" in problems[0], problems


# --- Delivery problems: the digest's and the broadcast summary's samples are real errors ------


def test_delivery_problem_samples_are_real_errors_covering_every_reason() -> None:
    from bot.services.delivery import broadcasts

    kinds = [broadcasts.problem_kind(error) for _, _, error in samples.DELIVERY_ERRORS]
    assert set(kinds) == set(LABELS["delivery_problems"]), "a raw error for every reason"
    for key, values in (("coordinator_digest", "problems"), ("replies/bc_summary", "reasons")):
        shown = [failure for sample in samples.SAMPLES[key] for failure in sample[values]]
        assert shown, f"{key} has no sample with a failed delivery"
        assert all(failure["reason"] in LABELS["delivery_problems"].values() for failure in shown)


def test_every_error_the_summary_recognises_is_one_the_channels_write() -> None:
    from bot.services.delivery import broadcasts

    written = "".join(
        path.read_text("utf-8").casefold()
        for path in [
            *(templates.ROOT / "bot" / "channels").glob("*.py"),
            templates.ROOT / "bot" / "services" / "delivery" / "dispatcher.py",
        ]
    )
    unknown = [start for start, _, _ in broadcasts.PROBLEMS if start not in written]
    assert not unknown, f"no channel writes errors that start so: {unknown}"


# --- The gate catches the seeded mistakes --------------------------------------------------


def test_gate_catches_a_misspelt_latvian_word() -> None:
    problems = checks.spelling(seeded("lv/outbound/misspelt.telegram.html"), speller())
    caught(problems, "lv/outbound/misspelt.telegram.html", "'Uzaicinajums'", "lv_LV")
    caught(problems, "lv/outbound/misspelt.telegram.html", "'pasakumu'")


def test_gate_catches_estonian_letters_in_a_latvian_template() -> None:
    problems = checks.foreign_letters(seeded("lv/outbound/estonian_words.telegram.html"))
    caught(problems, "lv/outbound/estonian_words.telegram.html", "'Aitäh'", "Latvian does not use")


def test_gate_catches_an_estonian_word_in_a_latvian_template() -> None:
    problems = checks.foreign_words(seeded("lv/outbound/estonian_words.telegram.html"), speller())
    caught(problems, "lv/outbound/estonian_words.telegram.html", "'kohtumine' is Estonian")


def test_gate_catches_an_english_sentence_in_an_estonian_template() -> None:
    problems = checks.english(seeded("et/outbound/english_sentence.email.txt"), speller())
    caught(
        problems, "et/outbound/english_sentence.email.txt", "English in an Estonian text", "Please"
    )


def test_gate_catches_a_button_that_departs_from_the_glossary() -> None:
    problems = checks.glossary(seeded("lv/outbound/wrong_button.email.html"))
    caught(problems, "lv/outbound/wrong_button.email.html", "'Apmeklēšu'", "'Piedalīšos'")


def test_gate_catches_a_synonym_the_glossary_avoids() -> None:
    problems = checks.glossary(seeded("lv/outbound/avoided_synonym.email_subject.txt"))
    caught(
        problems, "lv/outbound/avoided_synonym.email_subject.txt", "'ielūgum*'", "'uzaicinājums'"
    )


def test_gate_catches_an_empty_label_where_a_value_is_missing() -> None:
    problems = checks.layout(seeded("en/outbound/empty_label.email.txt"))
    caught(
        problems, "en/outbound/empty_label.email.txt", "a label with nothing after it", "'Address:'"
    )
    caught(problems, "en/outbound/empty_label.email.txt", "two blank lines in a row")


def test_gate_catches_a_missing_translation() -> None:
    missing = SEEDED.missing()
    assert any(
        "seeded/et/outbound/misspelt.telegram.html [et] is missing" in line and "lv has" in line
        for line in missing
    ), missing


def test_gate_catches_a_count_printed_without_the_plural_filter() -> None:
    name = "lv/outbound/bare_count.telegram.html"
    problems = grammar.counts(seeded_unit(name), seeded(name))
    caught(problems, name, "answers=1", "a bare count", "'1 jaunas atbildes'")
    caught(problems, name, "answers=21", "'21 jaunas atbildes'")


def test_gate_catches_plural_forms_the_number_does_not_take() -> None:
    name = "et/outbound/wrong_count_form.telegram.html"
    problems = grammar.counts(seeded_unit(name), seeded(name))
    caught(problems, name, "answers=1", "'uut' should read 'uus'")
    caught(problems, name, "answers=5", "'vastus' should read 'vastust'")


def test_gate_catches_a_participle_that_takes_the_readers_gender() -> None:
    name = "lv/outbound/gendered.telegram.html"
    caught(grammar.gender(seeded(name)), name, "'reģistrēts' takes one gender")


def test_gate_catches_a_full_stop_after_text_that_ends_with_one() -> None:
    name = "lv/replies/double_stop.html"
    problems = grammar.punctuation(templates.renderings(seeded_reply(name)))
    caught(problems, name, "doubled punctuation '..'", "apmaiņu.. Statuss")


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("lv/outbound/date_after_lidz.telegram.html", ("'līdz' takes the dative", "'februārim'")),
        ("et/outbound/date_after_kuni.telegram.html", ("'kuni' takes the terminative",)),
    ],
)
def test_gate_catches_a_date_in_the_wrong_case_after_a_preposition(
    name: str, fragments: tuple[str, ...]
) -> None:
    caught(grammar.date_cases(seeded(name)), name, *fragments)


@pytest.mark.parametrize(
    ("name", "word"),
    [
        ("et/outbound/mixed_register.telegram.html", "'teid'"),
        ("lv/outbound/mixed_register.telegram.html", "'jūs'"),
    ],
)
def test_gate_catches_a_polite_pronoun_in_the_other_register(name: str, word: str) -> None:
    caught(grammar.register(seeded(name)), name, word, "in lower case")


@pytest.mark.parametrize(
    ("text", "language", "month"),
    [
        ("Atbildes gaidām līdz 2027. gada 11. februārim.", "lv", None),
        ("Atbildēt var līdz 2027. gada 11. februārī.", "lv", "februārī"),
        ("Vastata saab kuni 11. veebruarini 2027.", "et", None),
        ("Palun vastake hiljemalt 16. juuni 2027.", "et", "juuni"),
        ("Lingi kehtivusaeg: 31. detsember 2027", "et", None),
        ("Link kehtib kuni: 31. detsember 2027", "et", "detsember"),
    ],
)
def test_date_case_rules_read_whole_dates(text: str, language: str, month: str | None) -> None:
    unit = Unit("x", language, "x", "text", "x", "text", render=lambda values: text)
    problems = grammar.date_cases([templates.Rendering(unit, 0, {}, text, text)])
    named = [month is not None and month in problem for problem in problems]
    assert named == ([True] if month else [])


def test_every_seeded_fixture_fails_the_gate() -> None:
    spell = speller()
    for unit in SEEDED.units():
        path = templates.ROOT / unit.name
        if not path.is_file():
            continue
        found = templates.renderings(unit)
        problems = [
            *checks.spelling(found, spell),
            *checks.foreign_letters(found),
            *checks.foreign_words(found, spell),
            *checks.english(found, spell),
            *checks.glossary(found),
            *checks.layout(found),
            *grammar.counts(unit, found),
            *grammar.date_cases(found),
            *grammar.register(found),
            *grammar.punctuation(found),
            *grammar.gender(found),
        ]
        assert problems, f"{unit}: a seeded mistake the gate does not catch"


# --- How the gate finds templates and runs Hunspell -----------------------------------------


def test_reply_page_and_report_templates_are_found_and_need_sample_values(
    tmp_path: Path,
) -> None:
    messages = tmp_path / "messages"
    for language in ("lv", "et"):
        (messages / language / "pages").mkdir(parents=True)
        (messages / language / "pages" / "rsvp_answered.html").write_text(
            "<p>{{ answer }}</p>", "utf-8"
        )
    (messages / "lv" / "pages" / "_layout.html").write_text("<html></html>", "utf-8")
    page_set = next(s for s in templates.surface_sets(messages) if s.surface == "pages")
    assert {s.surface for s in templates.surface_sets(messages)} == {
        "replies",
        "pages",
        "reports",
        "console",
    }
    units = page_set.units()
    assert [(unit.language, unit.sample_key, unit.markup) for unit in units] == [
        ("lv", "pages/rsvp_answered", "html"),
        ("et", "pages/rsvp_answered", "html"),
        ("en", "pages/rsvp_answered", "html"),
    ]
    assert any("en/pages/rsvp_answered.html [en] is missing" in line for line in page_set.missing())
    with pytest.raises(MissingSamples, match="pages/rsvp_answered"):
        templates.renderings(units[0])


def test_every_text_a_person_reads_lives_under_messages() -> None:
    """One home per text: no template folder elsewhere in the package (layouts have no words)."""
    package = templates.ROOT / "bot"
    strays = [
        str(path.relative_to(templates.ROOT))
        for path in package.rglob("*")
        if path.suffix in (".html", ".txt", ".jinja", ".j2")
        and path.parent.name not in ("layouts", "static")
        and "_data" not in path.parts
    ]
    assert strays == [], f"texts outside messages/<lang>/: {strays}"
    for layout in (package / "layouts").glob("*.html"):
        source = re.sub(r"<style>.*?</style>", " ", layout.read_text("utf-8"), flags=re.S)
        visible = re.sub(r"\{[{%#].*?[}%#]\}|<[^>]*>", " ", source, flags=re.S)
        assert not re.search(r"[^\W\d_]", visible), f"{layout.name} has words: {visible.split()}"


def test_every_kind_in_the_messages_folder_is_checked() -> None:
    kinds = {unit.kind for unit in UNITS if unit.variant != "page"}
    assert kinds == set(templates.MessageTemplates().renderer.kinds())
    checked = {unit.name for unit in UNITS}
    on_disk = {
        str(path.relative_to(templates.ROOT))
        for path in (templates.ROOT / "messages").rglob("*.*")
        if not path.name.startswith("_") and path.name != "labels.yaml"
    }
    assert on_disk - checked == set(), "templates the gate does not check"
    assert len(UNITS) >= len(kinds) * 4 * len(LANGUAGES)


def test_spell_checks_skip_without_hunspell_and_fail_in_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hunspell, "missing", lambda: "no hunspell command on PATH")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install hunspell hunspell-lv"):
        hunspell.require()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="must run in CI"):
        hunspell.require()


def test_speller_asks_hunspell_once_per_dictionary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hunspell.require()
    calls: list[tuple[str, int]] = []
    run = hunspell._run

    def counting(dictionary: str, words: list[str]) -> set[str]:
        calls.append((dictionary, len(words)))
        return run(dictionary, words)

    monkeypatch.setattr(hunspell, "_run", counting)
    fresh = Speller()
    fresh.learn(["pasākums", "pasakums", "üritus", "event"])
    assert [dictionary for dictionary, _ in calls] == list(DICTIONARIES.values())
    assert fresh.accepts("lv", "pasākums") and not fresh.accepts("lv", "pasakums")
    assert fresh.accepts("et", "üritus") and fresh.accepts("en", "event")
    assert len(calls) == 3


def test_speller_rejects_letters_the_dictionary_cannot_hold() -> None:
    # et_EE is ISO 8859-15: Hunspell would pass "Ļoti" through unchecked.
    hunspell.require()
    fresh = Speller()
    fresh.learn(["Ļoti", "kohtumine"])
    assert not fresh.accepts("et", "Ļoti") and fresh.accepts("lv", "Ļoti")
    assert fresh.accepts("et", "kohtumine")


def test_glossary_csv_is_valid_csv() -> None:
    path = Path(lists.HERE) / "glossary.csv"
    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.reader(row for row in file if not row.startswith("#")))
    assert rows[0] == ["concept", "lv", "et", "en", "where"]
    assert all(len(row) == 5 for row in rows), [row for row in rows if len(row) != 5]


# --- the bot's buttons and command descriptions (messages/labels.yaml) -----------------

LABELS = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "messages/labels.yaml").read_text("utf-8")
)


def _labels() -> Iterator[tuple[str, str, str]]:
    for group, entries in LABELS.items():
        if group == "language_buttons":  # each language's own name, the same in every one
            continue
        for key, texts in entries.items():
            yield group, key, texts


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_bot_label_exists_in_every_language(language: str) -> None:
    missing = [f"{group}.{key}" for group, key, texts in _labels() if not texts.get(language)]
    assert not missing, f"messages/labels.yaml lacks {language} for: {', '.join(missing)}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_bot_labels_are_spelt_correctly(language: str) -> None:
    checker, allowed = speller(), lists.allow_list(language)
    checker.learn([w for _, _, t in _labels() for w in re.findall(r"[^\W\d_]+", t[language])])
    wrong = [
        f"{group}.{key}: {word!r}"
        for group, key, texts in _labels()
        for word in re.findall(r"[^\W\d_]+", texts[language])
        if not checker.accepts(language, word) and not allowed.allows(word)
    ]
    assert not wrong, f"labels.yaml [{language}] has unknown words: {', '.join(wrong)}"


@pytest.mark.parametrize(
    ("group", "key", "concept"),
    [
        ("answers", "accepted", "RSVP: will attend"),
        ("answers", "declined", "RSVP: cannot attend"),
        ("answers", "not_sure", "RSVP: not sure yet"),
        ("statuses", "done", "status: done"),
        ("statuses", "in_progress", "status: in progress"),
        ("statuses", "not_started", "status: not started"),
    ],
)
def test_bot_labels_use_the_glossary_wording(group: str, key: str, concept: str) -> None:
    term = lists.glossary()[concept]
    for language in LANGUAGES:
        assert LABELS[group][key][language] == term.word(language), (group, key, language)
