"""The webmail ASGI application: its routes, and the reading, organising and session pages.

Every page is server-rendered and works without JavaScript; ``static/*.js`` only adds
live updates and shortcuts. Requests reach the mail only through ``MailService`` and
``mail.web.WebMail`` (sessions, message pages); a MailError becomes an HTTP status here
and nowhere else (``_status_of``); any other exception becomes a plain error page,
never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
import markupsafe
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from postoffice.errors import Kind, MailError
from postoffice.mail.service import MailService
from postoffice.mail.web import SignedIn, WebMail
from postoffice.store.api import Change, FlagUpdate, Mailbox
from postoffice.web import compose, reading
from postoffice.web.base import (
    HERE,
    LOGIN_COOKIE,
    PAGE_SIZE,
    SESSION_COOKIE,
    FormRefused,
    SignInNeeded,
    conversation_rows,
    form_text,
    human_date,
    human_size,
    linkify,
    parse_day,
    parse_int,
)
from postoffice.web.i18n import LANGUAGES
from postoffice.web.media import MediaPages
from postoffice.web.ranges import ranged_response
from postoffice.web.security import (
    PAGE_CSP,
    download_headers,
    frame_csp,
    safe_next,
    sanitize_html,
    tokens_match,
)
from postoffice.web.writing import WritingPages

__all__ = ["make_app", "WebApp", "SESSION_COOKIE", "PAGE_SIZE"]

log = logging.getLogger("postoffice.web")
_SAFE_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
_INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


class WebApp(WritingPages, MediaPages):
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
        self.templates.filters["size"] = human_size
        self.templates.filters["date"] = human_date
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
            *self.media_routes(),
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
        if not tokens_match(form_text(form, "csrf"), request.cookies.get(LOGIN_COOKIE)):
            raise FormRefused()
        client = request.client.host if request.client else None
        try:
            user = await self.web.sign_in(
                form_text(form, "address"),
                form_text(form, "password"),
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
        response = RedirectResponse(safe_next(form_text(form, "next")), status_code=303)
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
    async def folder(self, request: Request) -> Response:
        user = await self._signed_in(request)
        name = request.path_params["name"]
        mailbox = await self.mail.get_mailbox(user.account, name)
        before = parse_int(request.query_params.get("before"))
        threads = request.query_params.get("threads") == "1"
        if threads:
            # Conversations of the whole folder, paged by conversation (mail.conversations).
            conversations = await self.web.conversation_page(mailbox, before, PAGE_SIZE + 1)
            older = conversations[PAGE_SIZE - 1].newest if len(conversations) > PAGE_SIZE else None
            shown = conversations[:PAGE_SIZE]
            records = await self.mail.get_messages(mailbox, [uid for c in shown for uid in c.uids])
            rows = conversation_rows(await self._rows(records), [c.uids for c in shown])
        else:
            found = await self.web.page(mailbox, before, PAGE_SIZE + 1)
            older = found[PAGE_SIZE - 1].uid if len(found) > PAGE_SIZE else None
            records = found[:PAGE_SIZE]
            rows = await self._rows(records)
        await self.add_durations(records, rows)
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
            players=await self.players(user, content),
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
        mail = self.mail
        try:
            size = await mail.part_size(content, section)
        except KeyError:
            # Not a leaf of the part store (an attached message): its stored octets.
            offset, length = int(node["body"][0]), int(node["body"][1])

            async def read_stored(position: int, n: int) -> bytes:
                return await mail.read(content, offset + position, n)

            size, read = length, read_stored
        else:

            async def read_part(position: int, n: int) -> bytes:
                # Only the bytes sent are read: of the part's own blob when it has one.
                return await mail.read_part(content, section, position, n)

            read = read_part
        return ranged_response(
            request,
            size=size,
            etag=mail.part_tag(content, section),
            media_type=content_type,
            headers=headers,
            read=read,
            max_ranges=mail.config.limits.http.max_ranges,
        )

    # ---- acting on messages -----------------------------------------------------------
    async def actions(self, request: Request) -> Response:
        user = await self._signed_in(request)
        form = await self._form(request, user)
        mailbox = await self.mail.get_mailbox(user.account, form_text(form, "folder") or "INBOX")
        uids = [u for u in (parse_int(v) for v in form.getlist("uid") if isinstance(v, str)) if u is not None]
        action = form_text(form, "action")
        if uids:
            await self._act(user, mailbox, uids, action, form_text(form, "dest"))
        back = form_text(form, "back")
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
    async def folders_action(self, request: Request) -> Response:
        user = await self._signed_in(request)
        form = await self._form(request, user)
        action, name = form_text(form, "action"), form_text(form, "name").strip()
        if compose.has_line_break(name):
            raise MailError(Kind.INVALID, "A line break is not allowed in this field.")
        new = form_text(form, "new").strip()
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
        since, before = parse_day(request.query_params.get("since")), parse_day(request.query_params.get("before"))
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
        if form_text(form, "action") == "all":
            await self.web.sign_out_everywhere(user.account)
            response = RedirectResponse("/login", status_code=303)
            response.delete_cookie(SESSION_COOKIE, path="/")
            return response
        await self.web.revoke(user.account, form_text(form, "session"))
        return RedirectResponse("/sessions", status_code=303)

    async def language(self, request: Request) -> Response:
        user = await self._signed_in(request)
        form = await self._form(request, user)
        language = form_text(form, "lang")
        response = RedirectResponse(safe_next(form_text(form, "back")), status_code=303)
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

