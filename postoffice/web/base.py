"""What every webmail page shares: rendering, sign-in and CSRF checks, errors as pages.

``PageBase`` holds the MailService and WebMail, the templates and the helpers the
page groups (``web.writing``, ``web.app``) build on. A MailError becomes an HTTP status
here (``status_of``) and nowhere else; any other exception becomes a plain error page,
never a traceback.
"""

from __future__ import annotations

import asyncio
import datetime
import html
import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from postoffice.errors import Kind, MailError
from postoffice.mail.service import SPECIAL_USE_FOLDERS, MailService
from postoffice.mail.web import SignedIn, WebMail
from postoffice.store.api import Content, Mailbox, MessageRecord
from postoffice.web import reading
from postoffice.web.i18n import LANGUAGES, choose_language, translator
from postoffice.web.security import same_origin

__all__ = [
    "PageBase", "SignInNeeded", "FormRefused", "SESSION_COOKIE", "LOGIN_COOKIE", "PAGE_SIZE", "HERE", "status_of",
    "human_size", "human_date", "linkify", "conversation_rows", "folder_order", "form_text", "parse_int", "parse_day",
]  # fmt: skip

log = logging.getLogger("postoffice.web")

SESSION_COOKIE = "po_session"
LOGIN_COOKIE = "po_login"  # pre-session CSRF token of the sign-in form (double submit)
PAGE_SIZE = 50
HERE = Path(__file__).parent
_SPECIAL_ORDER = {name: i for i, (name, _) in enumerate(SPECIAL_USE_FOLDERS, 1)}
_URL = re.compile(r"\b(https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]])", re.I)


class SignInNeeded(Exception):
    """Raised by ``_signed_in``: answered with a redirect to the sign-in page."""


class FormRefused(Exception):
    """A state-changing request without a valid CSRF token or from another origin."""


def status_of(error: MailError) -> int:
    return {
        Kind.NOT_FOUND: 404,
        Kind.INVALID: 400,
        Kind.EXISTS: 409,
        Kind.PERMISSION: 403,
        Kind.TOO_BIG: 413,
        Kind.QUOTA: 413,
        Kind.AUTH_FAILED: 401,
        Kind.ENCRYPTION_REQUIRED: 403,
        Kind.LIMIT: 429,
        Kind.UNAVAILABLE: 503,
        Kind.HAS_CHILDREN: 409,
        Kind.CONFLICT: 409,
    }.get(error.kind, 400)


def human_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def human_date(when: float | None) -> str:
    if when is None:
        return ""
    try:
        return datetime.datetime.fromtimestamp(when, datetime.UTC).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, OSError, ValueError):
        return ""


def linkify(text: str) -> str:
    """Plain text as HTML: escaped, http(s) links made clickable."""
    out: list[str] = []
    pos = 0
    for m in _URL.finditer(text):
        out.append(html.escape(text[pos : m.start()]))
        url = html.escape(m.group(1))
        out.append(f'<a href="{url}" rel="noopener noreferrer" target="_blank">{url}</a>')
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def conversation_rows(rows: list[dict[str, Any]], conversations: list[tuple[int, ...]]) -> list[dict[str, Any]]:
    """The rows of a page of conversations (each a tuple of UIDs, newest conversation
    first): each conversation in date order, its replies indented one step."""
    by_uid = {row["uid"]: row for row in rows}
    out: list[dict[str, Any]] = []
    for uids in conversations:
        members = sorted((by_uid[u] for u in uids if u in by_uid), key=lambda r: (r["date"] or 0, r["uid"]))
        out.extend({**row, "depth": 0 if n == 0 else 1} for n, row in enumerate(members))
    return out


def folder_order(boxes: list[Mailbox]) -> list[Mailbox]:
    """INBOX, then the special-use folders in their usual order, then the rest by name."""

    def key(box: Mailbox) -> tuple[int, str]:
        top = box.name.split("/", 1)[0]
        if top == "INBOX":
            return (0, box.name.lower())
        return (_SPECIAL_ORDER.get(top, 100), box.name.lower())

    return sorted(boxes, key=key)


class PageBase:
    """State and helpers of the webmail pages (see the module docstring)."""

    web: WebMail
    mail: MailService
    stopping: asyncio.Event
    templates: jinja2.Environment

    # ---- rendering ----------------------------------------------------------------
    def _language(self, request: Request) -> str:
        return choose_language(request.headers.get("accept-language"), request.cookies.get("lang"))

    def render(
        self, request: Request, name: str, status: int = 200, user: SignedIn | None = None, **context: Any
    ) -> HTMLResponse:
        language = self._language(request)
        page = self.templates.get_template(name).render(
            _=translator(language),
            lang=language,
            languages=LANGUAGES,
            user=user,
            csrf=user.session.csrf if user else "",
            path=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            **context,
        )
        response = HTMLResponse(
            page, status_code=status, headers={"Cache-Control": "private, no-store", "Vary": "Accept-Language, Cookie"}
        )
        if user is not None:
            self._session_cookie(request, response, user)  # its Max-Age slides with the session
        return response

    def _session_cookie(self, request: Request, response: Response, user: SignedIn) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            user.token,
            httponly=True,
            samesite="lax",
            secure=self._secure(request),
            path="/",
            max_age=int(self.web.lifetime),
        )

    def _error_page(self, request: Request, status: int, text: str) -> HTMLResponse:
        return self.render(request, "error.html", status, message=translator(self._language(request))(text))

    async def _sign_in_needed(self, request: Request, exc: Exception) -> Response:
        if request.method == "GET" and request.url.path != "/events":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
        return RedirectResponse("/login", status_code=303)

    async def _form_refused(self, request: Request, exc: Exception) -> Response:
        return self._error_page(
            request, 403, "The form has expired or came from another site. Go back, reload the page and try again."
        )

    async def _mail_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, MailError)
        return self.render(request, "error.html", status_of(exc), message=exc.text)

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return self._error_page(request, 404, "Page not found.")
        return self.render(request, "error.html", exc.status_code, message=str(exc.detail))

    async def _server_error(self, request: Request, exc: Exception) -> Response:
        log.exception("web: %s %s failed", request.method, request.url.path, exc_info=exc)
        return self._error_page(request, 500, "Something went wrong on the server. Nothing was lost; try again.")

    # ---- sessions and forms ---------------------------------------------------------
    async def _signed_in(self, request: Request) -> SignedIn:
        user = await self.web.resolve(request.cookies.get(SESSION_COOKIE))
        if user is None:
            raise SignInNeeded()
        return user

    def _check_origin(self, request: Request) -> None:
        if not same_origin(request.headers.get("origin"), request.url.scheme, request.headers.get("host")):
            raise FormRefused()
        if request.headers.get("sec-fetch-site") == "cross-site":
            raise FormRefused()

    async def _form(self, request: Request, user: SignedIn) -> FormData:
        """The posted form of a signed-in user, its CSRF token checked."""
        self._check_origin(request)
        limit = self.mail.config.limits.http.max_upload_size
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise MailError(Kind.TOO_BIG, "the upload is larger than this server accepts")
        form = await request.form(max_part_size=1024 * 1024)
        token = form.get("csrf")
        if not isinstance(token, str) or not user.csrf_ok(token):
            raise FormRefused()
        return form

    def _secure(self, request: Request) -> bool:
        return request.url.scheme == "https"

    async def _folders(self, user: SignedIn) -> list[Mailbox]:
        return folder_order(await self.mail.list_mailboxes(user.account))

    async def _rows(self, records: list[MessageRecord]) -> list[dict[str, Any]]:
        contents = await self.mail.get_contents([r.content_id for r in records])
        rows = []
        for record in records:
            content = contents.get(record.content_id)
            if content is None:
                continue
            rows.append(
                {
                    "uid": record.uid,
                    "from": content.from_ or content.to,
                    "subject": content.subject,
                    "date": content.date if content.date is not None else record.internaldate,
                    "size": record.size,
                    "seen": "\\Seen" in record.flags,
                    "flagged": "\\Flagged" in record.flags,
                    "attachment": reading.has_attachment(content),
                    "preview": content.preview,
                    "depth": 0,
                }
            )
        return rows
    async def _record(self, user: SignedIn, folder: str, uid: int) -> tuple[Mailbox, MessageRecord, Content]:
        mailbox = await self.mail.get_mailbox(user.account, folder)
        found = await self.mail.get_messages(mailbox, [uid])
        if not found:
            raise MailError(Kind.NOT_FOUND, "no such message")
        return mailbox, found[0], await self.mail.get_content(found[0].content_id)
    async def _special(self, user: SignedIn, use: str) -> Mailbox | None:
        for box in await self.mail.list_mailboxes(user.account):
            if box.special_use == use:
                return box
        return None

def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""

def parse_day(value: str | None) -> float | None:
    """Epoch seconds of a YYYY-MM-DD day (UTC midnight), None if absent or malformed."""
    if not value:
        return None
    try:
        return datetime.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=datetime.UTC).timestamp()
    except ValueError:
        return None


def parse_int(value: str | None) -> int | None:
    if value is None or not value.isdigit() or len(value) > 12:
        return None
    return int(value)

