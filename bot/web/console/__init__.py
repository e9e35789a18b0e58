"""The coordinator's console under /console/: sign-in by emailed link, then the whole cycle."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.web.console import (
    auth,
    broadcast,
    contacts,
    contacts_import,
    event_form,
    events,
    overview,
    rec_form,
    recommendations,
    reports,
    survey_form,
    surveys,
)

# htmx (and its licence) ship with the package: the console works on a closed network.
STATIC = Path(__file__).parent / "static"

ROUTES: list[BaseRoute] = [
    Mount("/static", app=StaticFiles(directory=STATIC), name="console-static"),
    Route("/", overview.home, methods=["GET"]),
    Route("/login", auth.login, methods=["GET", "POST"]),
    Route("/signin/{token}", auth.signin_link, methods=["GET", "POST"]),
    Route("/logout", auth.sign_out, methods=["POST"]),
    Route("/language", auth.language, methods=["POST"]),
    Route("/resend", overview.resend_one, methods=["POST"]),
    Route("/audit", overview.audit_page, methods=["GET"]),
    Route("/contacts", contacts.contacts_page, methods=["GET"]),
    Route("/contacts/export.xlsx", contacts.export, methods=["GET"]),
    Route("/contacts/import", contacts_import.upload_page, methods=["GET"]),
    Route("/contacts/send-links", contacts.send_links, methods=["POST"]),
    Route("/contacts/import/preview", contacts_import.preview, methods=["POST"]),
    Route("/contacts/import/apply", contacts_import.apply, methods=["POST"]),
    Route("/contacts/new", contacts.form_page, methods=["GET"]),
    Route("/contacts/new", contacts.save, methods=["POST"]),
    Route("/contacts/{id:int}", contacts.person, methods=["GET"]),
    Route("/contacts/{id:int}/edit", contacts.form_page, methods=["GET"]),
    Route("/contacts/{id:int}/edit", contacts.save, methods=["POST"]),
    Route("/contacts/{id:int}/erase", contacts.erase, methods=["GET", "POST"]),
    Route("/contacts/{id:int}/telegram-link", contacts.telegram_link, methods=["POST"]),
    Route("/contacts/{id:int}/send-link", contacts.send_link, methods=["POST"]),
    Route("/surveys", surveys.surveys_page, methods=["GET"]),
    Route("/surveys/new", survey_form.form_page, methods=["GET"]),
    Route("/surveys/new", survey_form.save, methods=["POST"]),
    Route("/surveys/{key}", surveys.results_page, methods=["GET"]),
    Route("/surveys/{key}/edit", survey_form.form_page, methods=["GET"]),
    Route("/surveys/{key}/edit", survey_form.save, methods=["POST"]),
    Route("/surveys/{key}/answers.xlsx", surveys.export, methods=["GET"]),
    Route("/surveys/{key}/send", surveys.send, methods=["POST"]),
    Route("/recommendations", recommendations.board, methods=["GET"]),
    Route("/recommendations/new", rec_form.form_page, methods=["GET"]),
    Route("/recommendations/new", rec_form.save, methods=["POST"]),
    Route("/recommendations/{key}/edit", rec_form.form_page, methods=["GET"]),
    Route("/recommendations/{key}/edit", rec_form.save, methods=["POST"]),
    Route("/recommendations/{key}/status", recommendations.set_status, methods=["POST"]),
    Route("/broadcast", broadcast.compose, methods=["GET"]),
    Route("/broadcast/preview", broadcast.preview, methods=["POST"]),
    Route("/broadcast/send", broadcast.send, methods=["POST"]),
    Route("/broadcast/{key}", broadcast.progress, methods=["GET"]),
    Route("/reports", reports.reports_page, methods=["GET"]),
    Route("/reports/funding.html", reports.report_html, methods=["GET"]),
    Route("/reports/funding.xlsx", reports.report_xlsx, methods=["GET"]),
    Route("/export.xlsx", reports.export, methods=["GET"]),
    Route("/events", event_form.events_page, methods=["GET"]),
    Route("/events/upload", event_form.upload, methods=["POST"]),
    Route("/events/new", event_form.form_page, methods=["GET"]),
    Route("/events/new", event_form.save, methods=["POST"]),
    Route("/events/{key}", events.show, methods=["GET"]),
    Route("/events/{key}/event.yaml", event_form.download, methods=["GET"]),
    Route("/events/{key}/edit", event_form.form_page, methods=["GET"]),
    Route("/events/{key}/edit", event_form.save, methods=["POST"]),
    Route("/events/{key}/invite", events.invite, methods=["GET", "POST"]),
    Route("/events/{key}/answer", events.answer, methods=["POST"]),
    Route("/events/{key}/agenda", events.agenda, methods=["POST"]),
    Route("/events/{key}/cancel", events.cancel, methods=["GET", "POST"]),
    Route("/events/{key}/attendance", events.attendance_page, methods=["GET"]),
    Route("/events/{key}/attendance/mark", events.mark, methods=["POST"]),
    Route("/events/{key}/attendance/walk-in", events.walk_in, methods=["POST"]),
]
