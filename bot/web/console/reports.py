"""Reports in the console: the funding report for a period (in the page, or as XLSX) and the
full export of every table, downloaded as one spreadsheet."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bot.services.reporting import exports, funding_report
from bot.web.console.auth import Signed, signed_in
from bot.web.console.render import pages
from bot.web.pages import deps_of

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _period(request: Request, signed: Signed) -> tuple[date, date] | None:
    """The period asked for; this year so far when none is given; None when unreadable."""
    today = signed.now.astimezone(pages(request).zone).date()
    try:
        start = date.fromisoformat(request.query_params.get("from") or f"{today.year}-01-01")
        end = date.fromisoformat(request.query_params.get("to") or today.isoformat())
    except ValueError:
        return None
    return (start, end) if start <= end else None


async def _figures(request: Request, start: date, end: date) -> funding_report.ReportFigures:
    async with deps_of(request).database.read_scope() as session:
        return await funding_report.figures(session, start=start, end=end, zone=pages(request).zone)


async def _reports(request: Request, signed: Signed) -> Response:
    """Choose a period; see the funding report in the page; download it or the full export."""
    period = _period(request, signed)
    return pages(request).render(
        "reports",
        signed.language,
        200 if period else 422,
        me=signed.who.name,
        csrf=signed.csrf,
        here="/reports",
        start=period[0].isoformat() if period else request.query_params.get("from", ""),
        end=period[1].isoformat() if period else request.query_params.get("to", ""),
        wrong=period is None,
    )


async def _report_html(request: Request, signed: Signed) -> Response:
    """The funding report as a page of its own, in the console's language."""
    period = _period(request, signed)
    if period is None:
        return HTMLResponse("", status_code=422)
    report = await _figures(request, *period)
    html = funding_report.render_html(report, signed.language, pages(request).zone)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


async def _report_xlsx(request: Request, signed: Signed) -> Response:
    """The funding report as a spreadsheet with charts."""
    period = _period(request, signed)
    if period is None:
        return HTMLResponse("", status_code=422)
    report = await _figures(request, *period)
    name = f"report-{period[0]:%Y%m%d}-{period[1]:%Y%m%d}.xlsx"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        funding_report.write_xlsx(path, report, signed.language, pages(request).zone)
        return _download(path.read_bytes(), name)


async def _export(request: Request, signed: Signed) -> Response:
    """Every table of the network, one sheet each (personal data: the download is logged)."""
    deps = deps_of(request)
    zone = pages(request).zone
    async with deps.database.session_scope() as session:
        sheets = await exports.collect(session, exports.Scope(zone, None, None, None))
        await signed.log(session, "export", "everything")
    name = f"expertbot-{signed.now.astimezone(zone):%Y%m%d-%H%M}.xlsx"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        exports.write_workbook(path, sheets)
        return _download(path.read_bytes(), name)


def _download(content: bytes, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(content, media_type=XLSX, headers=headers)


reports_page = signed_in(_reports)
report_html = signed_in(_report_html)
report_xlsx = signed_in(_report_xlsx)
export = signed_in(_export)
