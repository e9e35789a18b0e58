"""One audience rule selects contacts for invitations, surveys and broadcasts, on both databases."""

from __future__ import annotations

import pytest

from bot.db.session import Database
from bot.services.contacts import registry
from bot.services.contacts.audience import Audience, select_contacts
from bot.services.contacts.rows import parse_rows, read_table
from tests.conftest import DATA


@pytest.fixture
async def network(database: Database) -> Database:
    async with database.session_scope() as session:
        rows = parse_rows(read_table(DATA / "contacts.csv")).rows
        await registry.apply_import(session, await registry.plan_import(session, rows))
    return database


async def names(database: Database, audience: Audience) -> set[str]:
    async with database.session_scope() as session:
        return {c.name for c in await select_contacts(session, audience)}


async def test_everyone_is_every_contact_not_erased(network: Database) -> None:
    assert len(await names(network, Audience())) == 20


async def test_fields_narrow_and_values_widen(network: Database) -> None:
    chosen = await names(
        network, Audience.build(roles=["mediator", "regional_expert"], countries=["ee"])
    )
    assert chosen == {"Kadri Tamm", "Margus Kask", "Priit Mägi"}


async def test_tags_groups_languages_and_municipalities_match(network: Database) -> None:
    assert await names(network, Audience.build(tags=["Cross-Border"], groups=["ngo"])) == set()
    assert await names(network, Audience.build(tags=["cross-border"], languages=["lv"])) == {
        "Edgars Vītols"
    }
    roma = await names(network, Audience.build(groups=["roma_representative"]))
    assert roma == {"Līga Saulīte", "Raimonds Kļaviņš", "Priit Mägi"}
    assert len(await names(network, Audience.build(municipalities=["rīga"]))) == 3
    assert len(await names(network, Audience.build(municipalities=["RĪGA"]))) == 3


async def test_explicit_emails_are_added_to_a_filtered_audience(network: Database) -> None:
    chosen = await names(
        network, Audience.build(countries=["EE"], emails=["Mikko.Virtanen@minority.example"])
    )
    assert "Mikko Virtanen" in chosen and len(chosen) == 6
    only = await names(network, Audience.build(emails=["zane.abele@ngo.example"]))
    assert only == {"Zane Ābele"}


async def test_erased_contacts_are_never_selected(network: Database) -> None:
    async with network.session_scope() as session:
        contact = await registry.find(session, "zane.abele@ngo.example")
        assert contact is not None
        await registry.erase(session, contact)
    assert "Zane Ābele" not in await names(network, Audience())
    assert len(await names(network, Audience())) == 19


def test_an_event_file_audience_is_read_and_unknown_fields_are_refused() -> None:
    audience = Audience.from_mapping({"roles": ["mediator"], "countries": ["LV"]})
    assert audience.roles == ("mediator",) and audience.describe() == "roles=mediator; countries=LV"
    with pytest.raises(ValueError, match="unknown audience field"):
        Audience.from_mapping({"rolez": ["mediator"]})
