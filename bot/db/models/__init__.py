"""Every table of the service; importing this registers them all on Base.metadata."""

from bot.db.models.console import AuditEntry, ConsoleAttempt, ConsoleLogin, ConsoleSession
from bot.db.models.contacts import (
    AccessRequest,
    ConsentRecord,
    Contact,
    ContactTag,
    InviteToken,
    TelegramLink,
)
from bot.db.models.coordination import ChatState, RateBudget, RateChatSlot
from bot.db.models.events import (
    AgendaItem,
    Event,
    EventDocument,
    Invitation,
    InvitationAnswer,
    Place,
)
from bot.db.models.marks import DatabaseMark
from bot.db.models.outbox import OutboxMessage
from bot.db.models.recommendations import (
    Recommendation,
    RecommendationOwner,
    RecommendationUpdate,
)
from bot.db.models.surveys import Answer, Question, Survey, SurveyRecipient, SurveyResponse

__all__ = [
    "AccessRequest",
    "AgendaItem",
    "Answer",
    "AuditEntry",
    "ChatState",
    "ConsentRecord",
    "ConsoleAttempt",
    "ConsoleLogin",
    "ConsoleSession",
    "Contact",
    "ContactTag",
    "DatabaseMark",
    "Event",
    "EventDocument",
    "Invitation",
    "InvitationAnswer",
    "InviteToken",
    "OutboxMessage",
    "Place",
    "Question",
    "RateBudget",
    "RateChatSlot",
    "Recommendation",
    "RecommendationOwner",
    "RecommendationUpdate",
    "Survey",
    "SurveyRecipient",
    "SurveyResponse",
    "TelegramLink",
]
