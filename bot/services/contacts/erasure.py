"""Erasure (GDPR art. 17): what is left of a person who asked to be forgotten.

"Only anonymous counts remain" means, table by table (`forget` does all of it; the registry's
`erase` then blanks the contact row and deletes its own rows):

- contacts: the row stays so reports still count the person, with role, country, language,
  stakeholder group and consent date only; name, email, Telegram username, phone,
  organisation, municipality (with the role it can name someone: one mediator in a small
  municipality) and time zone are gone. The funding report counts them under "not given"
  for municipality, and the same in every other figure.
- contact_tags, telegram_links, invite_tokens, consent_records, recommendation_owners,
  console_logins, console_sessions: their rows are deleted.
- outbox: their own deliveries are deleted. Other people's deliveries that name them (answer
  digests, "done by" notices, access-request notices) keep their row, but every mention in
  the text, subject, values (params), provider id and error is replaced by "[erased]".
- invitations: kept (who came is what the funding report counts), answer notes cleared.
- recommendation_updates: their status changes stay (the status counts), without comment
  and without author; other people's comments that name them are scrubbed.
- survey_responses: kept without contact and resume key; their free-text answers deleted
  (ratings and choices stay, they are the survey's figures). Other people's free-text answers
  that name them are scrubbed.
- survey_recipients: kept (sent and finished counts) but the finish time becomes the send
  time, so the row no longer finds their answers by timestamp.
- access_requests: deleted (a display name, username and Telegram ids are all they hold).
- telegram_chat_state (a wizard's half-typed step) and rate_chat_slots (when their chat may
  next get a message): the rows of their chat ids are deleted.
- events.audience: their address becomes an address that matches no one, so the list is not
  emptied (an empty audience would mean everyone).
- every other free-text or JSON column (event texts, agenda presenters, places, the audit
  log, recommendation texts, ...) is searched for their name, email, phone, username and
  Telegram ids, and each mention is replaced by "[erased]".
- database_marks (the playground's saved chats): their chat and emails to or about them are
  dropped; other messages that mention them become empty deleted ones (their ids stay taken).

Not reached here: files outside the database (event, survey and recommendation files,
exports already written, backups), which are the coordinator's to edit; a first name alone
in someone else's free text (only the full name is searched, so namesakes keep theirs); an
unfinished anonymous response's resume key (a keyed hash: only the signing key ties it to
a recipient row, and it is cleared when the response is finished); and a running
playground's phones and mailboxes in memory, which it takes back from the rewritten saved
chats (bot.playground.erasures).
"""

from __future__ import annotations

import base64
import email
import email.policy
import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, String, Table, Text, case, cast, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.base import Base
from bot.db.models import (
    AccessRequest,
    Answer,
    ChatState,
    ConsoleLogin,
    ConsoleSession,
    Contact,
    DatabaseMark,
    Event,
    Invitation,
    InvitationAnswer,
    Question,
    RateChatSlot,
    RecommendationUpdate,
    SurveyRecipient,
    SurveyResponse,
    TelegramLink,
)

ERASED = "[erased]"
SNAPSHOT = "sandbox_snapshot"  # the playground's saved chats (bot.services.marks)
# Tables the sweep leaves alone: identities of other people, hashes, or handled above.
NOT_SWEPT = {
    "contacts",
    "telegram_links",
    "invite_tokens",
    "console_logins",
    "console_sessions",
    "access_requests",
    "database_marks",
}
# Keys, not words: a number inside one is never a Telegram id of a person.
STRUCTURAL = {"dedupe_key", "slug", "token_hash", "respondent_key", "source_digest"}


@dataclass(frozen=True)
class Traces:
    """What names one person: words to find in texts and Telegram ids to find as numbers."""

    texts: tuple[str, ...]
    numbers: tuple[int, ...]
    address: str | None

    @property
    def long_numbers(self) -> tuple[int, ...]:
        """Ids long enough to look for inside texts (a short one would match dates and counts)."""
        return tuple(n for n in self.numbers if abs(n) >= 1000)

    @property
    def needles(self) -> tuple[str, ...]:
        """Substrings to look for in the database, as stored (JSON escapes non-ASCII)."""
        found = [*self.texts, *(str(n) for n in self.long_numbers)]
        escaped = [json.dumps(t)[1:-1] for t in self.texts]
        return tuple(dict.fromkeys(n for n in [*found, *escaped] if n))

    def scrub(self, value: Any) -> Any:
        """Return the value with every mention replaced (dicts and lists all the way down)."""
        if isinstance(value, str):
            return self._scrub_text(value)
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int):
            return None if value in self.numbers else value
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        if isinstance(value, dict):
            return {k: self.scrub(v) for k, v in value.items()}
        return value

    def _scrub_text(self, text: str) -> str:
        for word in sorted(self.texts, key=len, reverse=True):
            text = re.sub(re.escape(word), ERASED, text, flags=re.IGNORECASE)
        for number in self.long_numbers:
            text = re.sub(rf"(?<!\d){number}(?!\d)", ERASED, text)
        return text

    def mentioned_in(self, text: str) -> bool:
        return self._scrub_text(text) != text


async def traces_of(session: AsyncSession, contact: Contact) -> Traces:
    """Gather the person's name, address, phone, usernames and Telegram ids."""
    links = list(
        await session.scalars(select(TelegramLink).where(TelegramLink.contact_id == contact.id))
    )
    numbers = {n for link in links for n in (link.chat_id, link.user_id)}
    requests = list(
        await session.scalars(select(AccessRequest).where(_request_of(contact.id, numbers)))
    )
    numbers |= {n for r in requests for n in (r.chat_id, r.user_id)}
    usernames = {contact.telegram_username, *(x.username for x in links)}
    usernames |= {r.username for r in requests}
    texts = {contact.name, contact.email, contact.phone, *(r.display_name for r in requests)}
    texts |= {f"@{u}" for u in usernames if u} | {u for u in usernames if u and len(u) >= 5}
    texts |= {html.escape(t) for t in texts if t}
    words = tuple(sorted((t for t in texts if t and len(t.strip()) >= 3), key=len, reverse=True))
    return Traces(texts=words, numbers=tuple(sorted(numbers)), address=contact.email)


def _request_of(contact_id: int, numbers: Iterable[int]) -> Any:
    numbers = list(numbers)
    return or_(
        AccessRequest.contact_id == contact_id,
        AccessRequest.user_id.in_(numbers),
        AccessRequest.chat_id.in_(numbers),
    )


async def forget(session: AsyncSession, contact: Contact) -> Traces:
    """Remove every trace of the person outside their contact row (the caller blanks that)."""
    traces = await traces_of(session, contact)
    await session.execute(delete(AccessRequest).where(_request_of(contact.id, traces.numbers)))
    if traces.numbers:
        for keyed in (ChatState, RateChatSlot):
            await session.execute(delete(keyed).where(keyed.chat_id.in_(traces.numbers)))
    for model in (ConsoleLogin, ConsoleSession):
        await session.execute(delete(model).where(model.contact_id == contact.id))
    await session.execute(
        update(RecommendationUpdate)
        .where(RecommendationUpdate.contact_id == contact.id)
        .values(comment=None, contact_id=None)
    )
    await session.execute(
        update(InvitationAnswer)
        .where(
            InvitationAnswer.invitation_id.in_(
                select(Invitation.id).where(Invitation.contact_id == contact.id)
            )
        )
        .values(note=None)
    )
    await _forget_survey_answers(session, contact.id)
    await _forget_in_audiences(session, contact, traces)
    await session.flush()
    for table in Base.metadata.sorted_tables:
        if table.name not in NOT_SWEPT:
            await _sweep(session, table, traces)
    await _forget_in_snapshot(session, traces)
    return traces


async def _forget_survey_answers(session: AsyncSession, contact_id: int) -> None:
    own = select(SurveyResponse.id).where(SurveyResponse.contact_id == contact_id)
    free_text = select(Question.id).where(Question.type == "text")
    await session.execute(
        delete(Answer).where(Answer.response_id.in_(own), Answer.question_id.in_(free_text))
    )
    await session.execute(
        update(SurveyResponse)
        .where(SurveyResponse.contact_id == contact_id)
        .values(contact_id=None, respondent_key=None)
    )
    finished = SurveyRecipient.finished_at.is_not(None)
    await session.execute(
        update(SurveyRecipient)
        .where(SurveyRecipient.contact_id == contact_id)
        .values(finished_at=case((finished, SurveyRecipient.sent_at)), reminded_at=None)
    )


async def _forget_in_audiences(session: AsyncSession, contact: Contact, traces: Traces) -> None:
    """Put an address that matches no one in place of theirs: an emptied list means everyone."""
    address = traces.address
    if not address:
        return
    nobody = f"erased-{contact.id}@erased.invalid"
    found = await session.scalars(
        select(Event).where(
            func.lower(cast(Event.audience, Text)).like(f"%{_like(address)}%", escape="\\")
        )
    )
    for event in found:
        audience = dict(event.audience or {})
        if emails := [str(e) for e in audience.get("emails") or ()]:
            audience["emails"] = [nobody if e.lower() == address else e for e in emails]
            event.audience = audience


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _swept(column: Any) -> bool:
    """Columns that can hold words about people: texts, JSON and long strings."""
    kind = column.type
    if column.name in STRUCTURAL:
        return False
    return isinstance(kind, JSON | Text) or (isinstance(kind, String) and (kind.length or 0) >= 200)


async def _sweep(session: AsyncSession, table: Table, traces: Traces) -> None:
    """Replace every mention of the person in one table's texts, keeping the rows' dates."""
    needles = traces.needles
    keys = list(table.primary_key.columns)
    if not needles or not keys:
        return
    for column in (c for c in table.columns if _swept(c)):
        stored = func.lower(cast(column, Text))
        match = or_(*(stored.like(f"%{_like(n.lower())}%", escape="\\") for n in needles))
        for *key, value in (await session.execute(select(*keys, column).where(match))).all():
            cleaned = traces.scrub(value)
            if cleaned == value:
                continue
            values: dict[str, Any] = {column.name: cleaned}
            if "updated_at" in table.c:  # a scrubbed record must not look recent
                values["updated_at"] = table.c.updated_at
            where = [k == v for k, v in zip(keys, key, strict=True)]
            await session.execute(update(table).where(*where).values(values))


async def _forget_in_snapshot(session: AsyncSession, traces: Traces) -> None:
    mark = await session.get(DatabaseMark, SNAPSHOT)
    if mark is None or not mark.value:
        return
    cleaned = forget_in_snapshot(json.loads(mark.value), traces)
    mark.value = json.dumps(cleaned, ensure_ascii=False)


def forget_in_snapshot(data: dict[str, Any], traces: Traces) -> dict[str, Any]:
    """Drop the person's chat, emails to or about them, and the texts of messages about them.

    The playground keeps its phones and mailboxes in this shape (bot.sandbox.snapshot);
    a running playground takes the result back (bot.playground.erasures).
    """
    chats = {
        key: [_gone(m) if _message_mentions(m, traces) else m for m in messages]
        for key, messages in (data.get("chats") or {}).items()
        if int(key) not in traces.numbers
    }
    mail = [m for m in data.get("mail") or () if not _mail_mentions(m, traces)]
    return {**data, "chats": chats, "mail": mail}


def _gone(message: dict[str, Any]) -> dict[str, Any]:
    """A deleted message in its place: the bot still knows its id, a new one must not take it."""
    kept: dict[str, Any] = {
        k: message[k] for k in ("message_id", "from_bot", "date") if k in message
    }
    return {**kept, "sender": {}, "deleted": True}


def _message_mentions(message: dict[str, Any], traces: Traces) -> bool:
    shown = {k: v for k, v in message.items() if k != "document"}
    name = (message.get("document") or {}).get("file_name") or ""
    return traces.mentioned_in(json.dumps(shown, ensure_ascii=False) + name)


def _mail_mentions(saved: dict[str, Any], traces: Traces) -> bool:
    address = (traces.address or "").lower()
    if address and any(address == str(r).lower() for r in saved.get("recipients") or ()):
        return True
    message = email.message_from_bytes(
        base64.b64decode(saved.get("raw") or ""), policy=email.policy.default
    )
    words = [f"{k}: {v}" for k, v in message.items()]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            words.append(str(part.get_content()))
    return traces.mentioned_in("\n".join(words))
