"""The webmail ASGI application: routes, pages, and the one place errors become pages.

Every page is server-rendered and works without JavaScript; ``static/*.js`` only adds
live updates and shortcuts. Requests reach the mail only through ``MailService`` and
``mail.web.WebMail`` (sessions, message pages); a MailError becomes an HTTP status here
and nowhere else (``_status_of``); any other exception becomes a plain error page,
never a traceback.
"""

from __future__ import annotations

import asyncio
import datetime
import html
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
import markupsafe
from starlette.applications import Starlette
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from postoffice.errors import Kind, MailError
from postoffice.mail.service import SPECIAL_USE_FOLDERS, MailService
from postoffice.mail.web import SignedIn, WebMail
from postoffice.message.address import parse_address_list
from postoffice.store.api import Change, Content, FlagUpdate, Mailbox, MessageRecord
from postoffice.web import compose, reading
from postoffice.web.i18n import LANGUAGES, choose_language, translator
from postoffice.web.security import (
    PAGE_CSP,
    download_headers,
    frame_csp,
    safe_next,
    same_origin,
    sanitize_html,
    tokens_match,
)

__all__ = ["make_app", "WebApp", "SESSION_COOKIE", "PAGE_SIZE"]

log = logging.getLogger("postoffice.web")

SESSION_COOKIE = "po_session"
LOGIN_COOKIE = "po_login"  # pre-session CSRF token of the sign-in form (double submit)
PAGE_SIZE = 50
HERE = Path(__file__).parent
_SPECIAL_ORDER = {name: i for i, (name, _) in enumerate(SPECIAL_USE_FOLDERS, 1)}
_SAFE_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
_INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_URL = re.compile(r"\b(https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]])", re.I)


class SignInNeeded(Exception):
    """Raised by ``_signed_in``: answered with a redirect to the sign-in page."""


class FormRefused(Exception):
    """A state-changing request without a valid CSRF token or from another origin."""


def _status_of(error: MailError) -> int:
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


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _date(when: float | None) -> str:
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


def group_threads(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of one page grouped into conversations by In-Reply-To (RFC 5322 §3.6.4):
    the conversation with the newest message first, each in date order, replies
    indented one step. Only the messages on the page are grouped."""
    by_id = {row["message_id"]: row for row in rows if row["message_id"]}

    def root(row: dict[str, Any]) -> dict[str, Any]:
        seen = {id(row)}
        while row["in_reply_to"] in by_id and id(by_id[row["in_reply_to"]]) not in seen:
            row = by_id[row["in_reply_to"]]
            seen.add(id(row))
        return row

    groups: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(id(root(row)), []).append(row)
    ordered = sorted(groups.values(), key=lambda g: -max(r["date"] or 0 for r in g))
    out: list[dict[str, Any]] = []
    for group in ordered:
        group.sort(key=lambda r: (r["date"] or 0, r["uid"]))
        for n, row in enumerate(group):
            out.append({**row, "depth": 0 if n == 0 else 1})
    return out


def folder_order(boxes: list[Mailbox]) -> list[Mailbox]:
    """INBOX, then the special-use folders in their usual order, then the rest by name."""

    def key(box: Mailbox) -> tuple[int, str]:
        top = box.name.split("/", 1)[0]
        if top == "INBOX":
            return (0, box.name.lower())
        return (_SPECIAL_ORDER.get(top, 100), box.name.lower())

    return sorted(boxes, key=key)


class WebApp:
    """The webmail over one MailService; ``app`` is the ASGI application."""

    def __init__(self, web: WebMail, *, stopping: asyncio.Event | None = None) -> None:
        self.web = web
        self.mail: MailService = web.mail
        self.stopping = stopping or asyncio.Event()
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.templates.filters["size"] = _size
        self.templates.filters["date"] = _date
        self.templates.filters["linkify"] = lambda text: markupsafe.Markup(linkify(text))
        self.templates.globals["urlencode"] = lambda **kw: urlencode(kw)
        self.templates.globals["quote"] = lambda s: quote(s, safe="/")
        routes = [
            Route("/", self.home),
            Route("/login", self.login_page, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/folder/{name:path}", self.folder),
            Route("/message/{uid:int}", self.message),
            Route("/message/{uid:int}/html", self.message_html),
            Route("/message/{uid:int}/raw", self.message_raw),
            Route("/message/{uid:int}/part/{section}", self.message_part),
            Route("/actions", self.actions, methods=["POST"]),
            Route("/compose", self.compose_page, methods=["GET"]),
            Route("/send", self.send, methods=["POST"]),
            Route("/search", self.search),
            Route("/folders", self.folders_action, methods=["POST"]),
            Route("/sessions", self.sessions_page, methods=["GET"]),
            Route("/sessions", self.sessions_action, methods=["POST"]),
            Route("/language", self.language, methods=["POST"]),
            Route("/events", self.events),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]
        app = Starlette(
            routes=routes,
            exception_handlers={
                SignInNeeded: self._sign_in_needed,
                FormRefused: self._form_refused,
                MailError: self._mail_error,
                HTTPException: self._http_error,
                Exception: self._server_error,
            },
        )
        self.app: ASGIApp = _SecurityHeaders(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

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
        return self.render(request, "error.html", _status_of(exc), message=exc.text)

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

    # ---- pages ------------------------------------------------------------------------
    async def home(self, request: Request) -> Response:
        await self._signed_in(request)
        return RedirectResponse("/folder/INBOX", status_code=303)

    async def login_page(self, request: Request, *, error: str = "", status: int = 200) -> Response:
        if not error and await self.web.resolve(request.cookies.get(SESSION_COOKIE)) is not None:
            return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
        import secrets

        token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
        response = self.render(
            request, "login.html", status, login_csrf=token, next=safe_next(request.query_params.get("next")), error=error
        )
        response.set_cookie(
            LOGIN_COOKIE, token, httponly=True, samesite="lax", secure=self._secure(request), path="/login", max_age=3600
        )
        return response

    async def login(self, request: Request) -> Response:
        self._check_origin(request)
        form = await request.form(max_part_size=64 * 1024)
        if not tokens_match(_text(form, "csrf"), request.cookies.get(LOGIN_COOKIE)):
            raise FormRefused()
        client = request.client.host if request.client else None
        try:
            user = await self.web.sign_in(
                _text(form, "address"),
                _text(form, "password"),
                client_ip=client,
                tls=self._secure(request),
                user_agent=request.headers.get("user-agent", ""),
            )
        except MailError as exc:
            if exc.kind is Kind.ENCRYPTION_REQUIRED:
                return await self.login_page(
                    request, error="Use the https address to sign in from this network.", status=403
                )
            if exc.kind is Kind.AUTH_FAILED:
                return await self.login_page(request, error="Wrong address or password.", status=401)
            raise
        response = RedirectResponse(safe_next(_text(form, "next")), status_code=303)
        self._session_cookie(request, response, user)
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    async def logout(self, request: Request) -> Response:
        user = await self._signed_in(request)
        await self._form(request, user)
        await self.web.sign_out(user.token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

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
                    "message_id": content.message_id.strip(),
                    "in_reply_to": reading.in_reply_to(content),
                    "depth": 0,
                }
            )
        return rows

    async def folder(self, request: Request) -> Response:
        user = await self._signed_in(request)
        name = request.path_params["name"]
        mailbox = await self.mail.get_mailbox(user.account, name)
        before = _int(request.query_params.get("before"))
        records = await self.web.page(mailbox, before, PAGE_SIZE + 1)
        older = records[PAGE_SIZE - 1].uid if len(records) > PAGE_SIZE else None
        rows = await self._rows(records[:PAGE_SIZE])
        threads = request.query_params.get("threads") == "1"
        if threads:
            rows = group_threads(rows)
        return self.render(
            request,
            "folder.html",
            threads=threads,
            user=user,
            folders=await self._folders(user),
            mailbox=mailbox,
            rows=rows,
            older=older,
            paged=before is not None,
            notice=request.query_params.get("notice", ""),
            query="",
            search_folder=mailbox.name,
        )

    async def _record(self, user: SignedIn, folder: str, uid: int) -> tuple[Mailbox, MessageRecord, Content]:
        mailbox = await self.mail.get_mailbox(user.account, folder)
        found = await self.mail.get_messages(mailbox, [uid])
        if not found:
            raise MailError(Kind.NOT_FOUND, "no such message")
        return mailbox, found[0], await self.mail.get_content(found[0].content_id)

    async def message(self, request: Request) -> Response:
        user = await self._signed_in(request)
        folder = request.query_params.get("folder", "INBOX")
        mailbox, record, content = await self._record(user, folder, request.path_params["uid"])
        if "\\Seen" not in record.flags:
            await self.mail.update_flags(mailbox, [record.uid], FlagUpdate("add", frozenset({"\\Seen"})))
        message = await reading.read_message(self.mail, content)
        return self.render(
            request,
            "message.html",
            user=user,
            folders=await self._folders(user),
            mailbox=mailbox,
            record=record,
            message=message,
            remote_images=request.query_params.get("images") == "1",
            query="",
            search_folder=mailbox.name,
        )

    async def message_html(self, request: Request) -> Response:
        user = await self._signed_in(request)
        _, _, content = await self._record(user, request.query_params.get("folder", "INBOX"), request.path_params["uid"])
        message = await reading.read_message(self.mail, content)
        body = sanitize_html(message.html or "")
        page = (
            '<!doctype html><html><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"</head><body>{body}</body></html>"
        )
        headers = {
            "Content-Security-Policy": frame_csp(request.query_params.get("images") == "1"),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "Referrer-Policy": "no-referrer",
        }
        return HTMLResponse(page, headers=headers)

    async def message_raw(self, request: Request) -> Response:
        user = await self._signed_in(request)
        _, _, content = await self._record(user, request.query_params.get("folder", "INBOX"), request.path_params["uid"])
        headers = download_headers(f"message-{request.path_params['uid']}.eml", inline=True)
        return StreamingResponse(self.mail.stream(content), media_type="text/plain; charset=utf-8", headers=headers)

    async def message_part(self, request: Request) -> Response:
        user = await self._signed_in(request)
        _, _, content = await self._record(user, request.query_params.get("folder", "INBOX"), request.path_params["uid"])
        section = request.path_params["section"]
        node = reading.find_part(content, section)
        if node is None:
            raise MailError(Kind.NOT_FOUND, "no such part")
        content_type = f"{node['type']}/{node['subtype']}".lower()
        if not _SAFE_TYPE.fullmatch(content_type):
            content_type = "application/octet-stream"
        inline = request.query_params.get("inline") == "1" and content_type in _INLINE_IMAGES
        filename = node.get("filename") or f"part-{section}"
        headers = download_headers(filename, inline=inline)
        try:
            size = await self.mail.part_size(content, section)
        except KeyError:
            # Not a leaf of the part store (an attached message): its stored octets, whole.
            offset, length = node["body"]
            data = await self.mail.read(content, int(offset), int(length))
            return Response(data, media_type=content_type, headers=headers)
        headers["Accept-Ranges"] = "bytes"
        start, end, status = 0, size, 200
        wanted = _byte_range(request.headers.get("range"), size)
        if isinstance(wanted, str):
            return Response(b"", status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
        if wanted is not None:
            start, end, status = wanted[0], wanted[1], 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        headers["Content-Length"] = str(end - start)
        mail = self.mail

        async def body() -> AsyncIterator[bytes]:
            # Only the bytes sent are read from the part store (RFC 9110 §14 ranges).
            position = start
            while position < end:
                data = await mail.read_part(content, section, position, min(256 * 1024, end - position))
                if not data:
                    break
                position += len(data)
                yield data

        return StreamingResponse(body(), status_code=status, media_type=content_type, headers=headers)

    # ---- acting on messages -----------------------------------------------------------
    async def actions(self, request: Request) -> Response:
        user = await self._signed_in(request)
        form = await self._form(request, user)
        mailbox = await self.mail.get_mailbox(user.account, _text(form, "folder") or "INBOX")
        uids = [u for u in (_int(v) for v in form.getlist("uid") if isinstance(v, str)) if u is not None]
        action = _text(form, "action")
        if uids:
            await self._act(user, mailbox, uids, action, _text(form, "dest"))
        back = _text(form, "back")
        if action in ("delete", "move") or not back:
            back = f"/folder/{quote(mailbox.name, safe='/')}"
        return RedirectResponse(safe_next(back), status_code=303)

    async def _act(self, user: SignedIn, mailbox: Mailbox, uids: list[int], action: str, dest: str) -> None:
        flags = {
            "read": ("add", "\\Seen"),
            "unread": ("remove", "\\Seen"),
            "flag": ("add", "\\Flagged"),
            "unflag": ("remove", "\\Flagged"),
        }
        if action in flags:
            mode, flag = flags[action]
            await self.mail.update_flags(mailbox, uids, FlagUpdate(mode, frozenset({flag})))  # type: ignore[arg-type]
        elif action == "move":
            target = await self.mail.get_mailbox(user.account, dest)
            if target.id != mailbox.id:
                await self.mail.copy(mailbox, uids, target, move=True)
        elif action == "delete":
            trash = await self._special(user, "\\Trash")
            if trash is None or trash.id == mailbox.id:
                await self.mail.update_flags(mailbox, uids, FlagUpdate("add", frozenset({"\\Deleted"})))
                await self.mail.expunge(mailbox, uids)
            else:
                await self.mail.copy(mailbox, uids, trash, move=True)
        else:
            raise MailError(Kind.INVALID, "unknown action")

    async def _special(self, user: SignedIn, use: str) -> Mailbox | None:
        for box in await self.mail.list_mailboxes(user.account):
            if box.special_use == use:
                return box
        return None

    async def folders_action(self, request: Request) -> Response:
        user = await self._signed_in(request)
        form = await self._form(request, user)
        action, name = _text(form, "action"), _text(form, "name").strip()
        if compose.has_line_break(name):
            raise MailError(Kind.INVALID, "A line break is not allowed in this field.")
        new = _text(form, "new").strip()
        if compose.has_line_break(new):
            raise MailError(Kind.INVALID, "A line break is not allowed in this field.")
        if action == "create":
            await self.mail.create_mailbox(user.account, name)
        elif action == "rename":  # a new parent in the name moves the folder (and its children)
            await self.mail.rename_mailbox(user.account, name, new)
            name = new
        elif action == "delete":
            await self.mail.delete_mailbox(user.account, name)
            name = "INBOX"
        else:
            raise MailError(Kind.INVALID, "unknown action")
        return RedirectResponse(f"/folder/{quote(name, safe='/')}", status_code=303)

    # ---- search -------------------------------------------------------------------------
    async def search(self, request: Request) -> Response:
        """Search one folder or all, by text field (the store's search, as IMAP SEARCH uses)
        and by date range (Date header, else arrival; ``since`` inclusive, ``before``
        exclusive, RFC 9051 §6.4.4 SENTSINCE/SENTBEFORE). Newest 200 matches."""
        user = await self._signed_in(request)
        query = request.query_params.get("q", "").strip()
        field = request.query_params.get("field", "text")
        folder = request.query_params.get("folder", "")
        since, before = _day(request.query_params.get("since")), _day(request.query_params.get("before"))
        boxes = await self._folders(user)
        if folder:
            boxes = [await self.mail.get_mailbox(user.account, folder)]
        results: list[dict[str, Any]] = []
        if query or since is not None or before is not None:
            for box in boxes:
                if query:
                    uids = sorted(await self.mail.search_text(box, query, field), reverse=True)[:2000]
                    records = sorted(await self.mail.get_messages(box, uids), key=lambda r: -r.uid)
                else:
                    records = await self.web.page(box, None, 2000)
                for row in await self._rows(records):
                    if since is not None and row["date"] < since or before is not None and row["date"] >= before + 86400:
                        continue
                    row["folder"] = box.name
                    results.append(row)
            results.sort(key=lambda r: -(r["date"] or 0))
        return self.render(
            request,
            "search.html",
            user=user,
            folders=await self._folders(user),
            rows=results[:200],
            query=query,
            field=field,
            search_folder=folder,
            since=request.query_params.get("since", "") if since is not None else "",
            before=request.query_params.get("before", "") if before is not None else "",
            searched=bool(query or since is not None or before is not None),
        )

    # ---- writing ------------------------------------------------------------------------
    async def _addresses(self, user: SignedIn) -> list[str]:
        """Past correspondents, for completion: recipients of sent mail, then senders."""
        seen: dict[str, None] = {}
        for use, attribute in (("\\Sent", "to"), (None, "from_")):
            box = await self._special(user, use) if use else await self.mail.get_mailbox(user.account, "INBOX")
            if box is None:
                continue
            records = await self.web.page(box, None, 200)
            for content in (await self.mail.get_contents([r.content_id for r in records])).values():
                for address in parse_address_list(getattr(content, attribute)):
                    if address.mailbox and address.host and not address.group:
                        seen.setdefault(address.address.lower(), None)
        return sorted(seen)[:500]

    async def compose_page(self, request: Request) -> Response:
        user = await self._signed_in(request)
        mode = request.query_params.get("mode", "new")
        draft = {
            "to": request.query_params.get("to", ""), "cc": "", "bcc": "", "subject": "", "body": "",
            "in_reply_to": "", "references": "", "reply_folder": "", "reply_uid": "", "draft_uid": "",
        }
        forward: dict[str, Any] | None = None
        if mode in ("reply", "replyall", "forward", "draft"):
            folder = request.query_params.get("folder", "INBOX")
            uid = _int(request.query_params.get("uid"))
            if uid is None:
                raise MailError(Kind.INVALID, "which message?")
            mailbox, record, content = await self._record(user, folder, uid)
            original = await reading.read_message(self.mail, content)
            header = original.header
            text = original.plain or ""
            if mode == "draft":
                draft.update(
                    to=header.to, cc=header.cc, bcc=header.bcc, subject=header.subject, body=text,
                    in_reply_to=header.in_reply_to, references=header.references, draft_uid=str(record.uid),
                )
                if original.attachments:
                    forward = {"folder": mailbox.name, "uid": record.uid, "attachments": original.attachments}
            elif mode == "forward":
                draft["subject"] = compose.forward_subject(header.subject)
                draft["body"] = (
                    "\n\n---------- Forwarded message ----------\n"
                    f"From: {header.from_}\nDate: {_date(header.date)}\nSubject: {header.subject}\nTo: {header.to}\n\n{text}"
                )
                forward = {"folder": mailbox.name, "uid": record.uid, "attachments": original.attachments}
            else:
                mine = await self.mail.addresses_of(user.account)
                reply_to = list(header.reply_to_addresses or header.from_addresses)
                draft["to"] = ", ".join(reply_to)
                if mode == "replyall":
                    others = [a for a in (*header.to_addresses, *header.cc_addresses) if a.lower() not in mine and a not in reply_to]
                    draft["cc"] = ", ".join(others)
                draft["subject"] = compose.reply_subject(header.subject)
                draft["body"] = compose.quote(text, header.from_ or "?")
                draft["in_reply_to"] = header.message_id
                draft["references"] = " ".join(x for x in (header.references, header.message_id) if x)
                draft["reply_folder"], draft["reply_uid"] = mailbox.name, str(record.uid)
        return self.render(
            request, "compose.html", user=user, folders=await self._folders(user), draft=draft, forward=forward,
            error="", query="", search_folder="", addresses=await self._addresses(user),
            notice=request.query_params.get("notice", ""), senders=await self._senders(user), sender="",
        )

    async def _senders(self, user: SignedIn) -> list[str]:
        """The addresses this account may send as: its own first, then its aliases."""
        others = sorted(await self.mail.addresses_of(user.account) - {user.account.address})
        return [user.account.address, *others]

    async def _drop_draft(self, user: SignedIn, form: FormData) -> None:
        """Expunge the saved version of the draft being written (it was resent or resaved)."""
        uid = _int(_text(form, "draft_uid"))
        drafts = await self._special(user, "\\Drafts")
        if uid is not None and drafts is not None:
            await self.mail.update_flags(drafts, [uid], FlagUpdate("add", frozenset({"\\Deleted"})))
            await self.mail.expunge(drafts, [uid])

    async def send(self, request: Request) -> Response:
        """Send the compose form, or (``action=draft``) save it to Drafts.

        Sending takes the road of SMTP submission: local recipients at once through
        ``MailService.deliver`` (Return-Path and Received prepended), a copy in Sent."""
        user = await self._signed_in(request)
        form = await self._form(request, user)
        saving = _text(form, "action") == "draft"
        fetched = request.headers.get("x-requested-with") == "fetch"
        fields = {k: _text(form, k) for k in ("to", "cc", "bcc", "subject", "in_reply_to", "references")}
        body = _text(form, "body")
        forward: dict[str, Any] | None = None
        forward_uid = _int(_text(form, "forward_uid"))
        if forward_uid is not None:
            forward = {"folder": _text(form, "forward_folder") or "INBOX", "uid": forward_uid, "attachments": []}

        async def again(error: str, status: int) -> Response:
            draft = {
                **fields, "body": body, "reply_folder": _text(form, "reply_folder"), "reply_uid": _text(form, "reply_uid"),
                "draft_uid": _text(form, "draft_uid"),
            }
            if fetched:
                return JSONResponse({"error": translator(self._language(request))(error)}, status_code=status)
            return self.render(
                request, "compose.html", status, user=user, folders=await self._folders(user), draft=draft,
                forward=forward, error=error, query="", search_folder="", addresses=await self._addresses(user), notice="",
                senders=await self._senders(user), sender=_text(form, "from"),
            )

        if any(compose.has_line_break(v) for v in (*fields.values(), _text(form, "from"))):
            return await again("A line break is not allowed in this field.", 400)
        sender = _text(form, "from") or user.account.address
        if sender.lower() not in {a.lower() for a in await self._senders(user)}:
            # The same rule as SMTP submission (553 5.7.1): only the user's own addresses.
            return await again("You cannot send as this address.", 403)
        try:
            recipients = [a for k in ("to", "cc", "bcc") for a in compose.parse_recipients(fields[k])]
        except MailError as exc:
            return await again(exc.text, 400)
        if not recipients and not saving:
            return await again("No recipient.", 400)
        uploads: list[compose.Upload] = []
        total = 0
        limit = self.mail.config.limits.http.max_upload_size
        for item in form.getlist("attachment"):
            if isinstance(item, UploadFile) and item.filename:
                data = await item.read()
                total += len(data)
                if total > limit:
                    raise MailError(Kind.TOO_BIG, "the attachments are larger than this server accepts")
                uploads.append(compose.Upload(item.filename, item.content_type or "application/octet-stream", data))
        if forward is not None and forward_uid is not None:
            # The original's attachments go along from the store, not uploaded again.
            _, _, original = await self._record(user, str(forward["folder"]), forward_uid)
            for attachment in (await reading.read_message(self.mail, original)).attachments:
                try:
                    data = await self.mail.read_part(original, attachment.section)
                except KeyError:
                    continue
                uploads.append(compose.Upload(attachment.filename, attachment.content_type, data))
        draft = compose.Draft(sender, body=body, attachments=uploads, **fields)
        try:
            message = compose.build_message(
                draft, hostname=self.mail.config.hostname, now=self.mail.clock.now(), keep_bcc=saving
            )
        except MailError as exc:
            return await again(exc.text, 400)
        if saving:
            drafts = await self._special(user, "\\Drafts")
            if drafts is None:
                raise MailError(Kind.NOT_FOUND, "no Drafts folder")
            saved = await self.mail.append(user.account, drafts.name, message, flags=frozenset({"\\Draft", "\\Seen"}))
            await self._drop_draft(user, form)
            if fetched:
                return JSONResponse({"draft_uid": saved.uid, "folder": drafts.name})
            target = "/compose?" + urlencode({"mode": "draft", "folder": drafts.name, "uid": saved.uid, "notice": "Draft saved."})
            return RedirectResponse(target, status_code=303)
        local: list[str] = []
        remote: list[str] = []
        for address in recipients:
            (local if await self.mail.is_local_domain(address.rsplit("@", 1)[1]) else remote).append(address)
        if remote:
            # The same answer as SMTP submission gives until the outbound queue exists.
            return await again(f"Cannot send to {', '.join(remote)} yet: this server has no outbound queue.", 400)
        known = [a for a in local if await self.mail.resolve_recipient(a)]
        unknown = [a for a in local if a not in known]
        if unknown:
            return await again(f"No such user: {', '.join(unknown)}", 400)
        received = _received(user.account.address, self.mail.config.hostname, self.mail.clock.now())
        await self.mail.deliver(message, known, prepend=f"Return-Path: <{sender}>\r\n".encode() + received)
        sent = await self._special(user, "\\Sent")
        if sent is not None:
            await self.mail.append(user.account, sent.name, message, flags=frozenset({"\\Seen"}))
        await self._drop_draft(user, form)
        reply_uid = _int(_text(form, "reply_uid"))
        if reply_uid is not None:
            # RFC 9051 §2.3.2: \Answered on the message replied to.
            original_box = await self.mail.get_mailbox(user.account, _text(form, "reply_folder") or "INBOX")
            await self.mail.update_flags(original_box, [reply_uid], FlagUpdate("add", frozenset({"\\Answered"})))
        return RedirectResponse("/folder/INBOX?" + urlencode({"notice": "Sent."}), status_code=303)

    # ---- other pages --------------------------------------------------------------------
    async def sessions_page(self, request: Request) -> Response:
        user = await self._signed_in(request)
        sessions = await self.web.list_sessions(user.account)
        return self.render(
            request, "sessions.html", user=user, folders=await self._folders(user), sessions=sessions,
            query="", search_folder="",
        )

    async def sessions_action(self, request: Request) -> Response:
        user = await self._signed_in(request)
        form = await self._form(request, user)
        if _text(form, "action") == "all":
            await self.web.sign_out_everywhere(user.account)
            response = RedirectResponse("/login", status_code=303)
            response.delete_cookie(SESSION_COOKIE, path="/")
            return response
        await self.web.revoke(user.account, _text(form, "session"))
        return RedirectResponse("/sessions", status_code=303)

    async def language(self, request: Request) -> Response:
        user = await self._signed_in(request)
        form = await self._form(request, user)
        language = _text(form, "lang")
        response = RedirectResponse(safe_next(_text(form, "back")), status_code=303)
        if language in LANGUAGES:
            response.set_cookie("lang", language, samesite="lax", secure=self._secure(request), path="/", max_age=365 * 86400)
        else:
            response.delete_cookie("lang", path="/")
        return response

    async def events(self, request: Request) -> Response:
        """Server-sent events (HTML Living Standard §9.2): one event per committed change
        of this account's mailboxes, from the ChangeBus; a comment every 15 s keeps
        proxies from closing the stream."""
        user = await self._signed_in(request)
        subscription = self.mail.subscribe(user.account)
        stopping = self.stopping

        async def stream() -> AsyncIterator[bytes]:
            try:
                yield b"retry: 3000\n\n"
                while not stopping.is_set():
                    getter = asyncio.ensure_future(subscription.get())
                    stopper = asyncio.ensure_future(stopping.wait())
                    done, _ = await asyncio.wait({getter, stopper}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
                    stopper.cancel()
                    if getter not in done:
                        getter.cancel()
                        if stopping.is_set() or await self.web.resolve(user.token) is None:
                            return  # server stopping, or the session was ended (signed out elsewhere)
                        yield b": keep-alive\n\n"
                        continue
                    changes: list[Change] = [getter.result(), *subscription.pending()]
                    for change in changes:
                        data = json.dumps({"mailbox": change.mailbox_id, "kind": change.kind, "uids": list(change.uids[:100])})
                        yield f"event: change\ndata: {data}\n\n".encode()
            finally:
                subscription.close()

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )


def _received(address: str, hostname: str, now: float) -> bytes:
    import email.utils

    # RFC 5321 §4.4: a trace field for the hop the message took into the server.
    return f"Received: from webmail by {hostname} with HTTP; {email.utils.formatdate(now)}\r\n".encode()


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _byte_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """One ``bytes=`` range of RFC 9110 §14.1.2 as [start, end), "unsatisfiable", or None
    (no Range, a malformed one or several ranges: the whole part is sent, §14.2)."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, dash, last = header[6:].strip().partition("-")
    if not dash or not (first.isdigit() or last.isdigit()) or (first and not first.isdigit()) or (last and not last.isdigit()):
        return None
    if not first:  # suffix: the last N bytes
        n = int(last)
        return (max(0, size - n), size) if n > 0 and size > 0 else "unsatisfiable"
    start = int(first)
    if start >= size:
        return "unsatisfiable"
    end = min(size, int(last) + 1) if last else size
    return None if end <= start else (start, end)


def _day(value: str | None) -> float | None:
    """Epoch seconds of a YYYY-MM-DD day (UTC midnight), None if absent or malformed."""
    if not value:
        return None
    try:
        return datetime.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=datetime.UTC).timestamp()
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    if value is None or not value.isdigit() or len(value) > 12:
        return None
    return int(value)


class _SecurityHeaders:
    """Adds the page security headers to every response that did not set its own CSP."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                extra = {
                    b"content-security-policy": PAGE_CSP.encode(),
                    b"x-content-type-options": b"nosniff",
                    b"referrer-policy": b"same-origin",  # "no-referrer" would make Chrome send Origin: null on our own forms
                    b"x-frame-options": b"DENY",
                }
                if b"content-security-policy" in names:
                    extra.pop(b"x-frame-options")  # the frame endpoint sets frame-ancestors itself
                for name, value in extra.items():
                    if name not in names:
                        headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def make_app(web: WebMail, *, stopping: asyncio.Event | None = None) -> WebApp:
    return WebApp(web, stopping=stopping)

