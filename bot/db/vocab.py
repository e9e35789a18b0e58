"""The closed vocabularies of the domain, shared by models, validation and templates."""

from __future__ import annotations

LANGUAGES = ("lv", "et", "en")
ROLES = ("regional_expert", "mediator", "coordinator", "partner", "guest")
STAKEHOLDER_GROUPS = (
    "municipality",
    "state_institution",
    "roma_representative",
    "ngo",
    "international",
    "other",
)
# Ethnic-origin data (GDPR art. 9): kept only with consent, reported only in aggregate.
SPECIAL_CATEGORY_GROUPS = ("roma_representative",)
CHANNELS = ("telegram", "email")
# A channel's state: usable, or why it is not.
CHANNEL_STATES = ("active", "unlinked", "blocked", "bounced", "unsubscribed", "inactive")
CONSENT_SOURCES = ("import", "telegram", "web", "coordinator")

EVENT_KINDS = (
    "expert_meeting",
    "good_practice_visit",
    "seminar",
    "workshop",
    "mediator_training",
    "cross_border_meeting",
)
EVENT_STATUSES = ("draft", "published", "changed", "cancelled")
INVITATION_STATUSES = (
    "invited",
    "accepted",
    "waitlisted",
    "declined",
    "not_sure",
    "attended",
    "no_show",
)

QUESTION_TYPES = ("rating", "single_choice", "multiple_choice", "yes_no", "text")
RESPONSE_STATUSES = ("in_progress", "finished")

REC_AREAS = ("education", "social", "employment", "culture", "mediation", "cooperation")
REC_STATUSES = ("not_started", "in_progress", "done", "dropped")

OUTBOX_STATUSES = ("queued", "sending", "sent", "failed", "cancelled")
ACCESS_REQUEST_STATUSES = ("pending", "approved", "declined")
