"""Writing mail in the browser: the compose form, sending, drafts, address completion.

Sending takes the road of SMTP submission, under the same rules (``mail/submission.py``:
only the user's own addresses as sender, the per-user limits of ``[limits.smtp]``):
local recipients get the message at once, remote ones through the outbound queue
(``MailService.outbound``, one ingestion, durable before the page answers), with
Return-Path and Received prepended; a copy goes to Sent. Without an outbound queue
(``[relay] enabled = false``) a message for another domain is refused with an error
page and nothing is stored. Drafts go to Drafts as the user writes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from postoffice.errors import Kind, MailError
from postoffice.mail import submission
from postoffice.mail.service import UnknownRecipients
from postoffice.mail.web import SignedIn
from postoffice.message.address import parse_address_list
from postoffice.store.api import Content, FlagUpdate
from postoffice.store.queue import NewQueueRecipient
from postoffice.web import compose, reading
from postoffice.web.base import (
    PageBase,
    form_text,
    human_date,
    parse_int,
)
from postoffice.web.i18n import translator

__all__ = ["WritingPages"]


class WritingPages(PageBase):
    """The compose page and its form's actions (send, save draft)."""

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
            uid = parse_int(request.query_params.get("uid"))
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
                    f"From: {header.from_}\nDate: {human_date(header.date)}\nSubject: {header.subject}\nTo: {header.to}\n\n{text}"
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
        uid = parse_int(form_text(form, "draft_uid"))
        drafts = await self._special(user, "\\Drafts")
        if uid is not None and drafts is not None:
            await self.mail.update_flags(drafts, [uid], FlagUpdate("add", frozenset({"\\Deleted"})))
            await self.mail.expunge(drafts, [uid])

    async def send(self, request: Request) -> Response:
        """Send the compose form, or (``action=draft``) save it to Drafts.

        Sending takes the road of SMTP submission: local recipients at once, remote
        ones into the outbound queue (Return-Path and Received prepended), a copy in Sent."""
        user = await self._signed_in(request)
        form = await self._form(request, user)
        saving = form_text(form, "action") == "draft"
        fetched = request.headers.get("x-requested-with") == "fetch"
        fields = {k: form_text(form, k) for k in ("to", "cc", "bcc", "subject", "in_reply_to", "references")}
        body = form_text(form, "body")
        forward: dict[str, Any] | None = None
        forward_uid = parse_int(form_text(form, "forward_uid"))
        if forward_uid is not None:
            forward = {"folder": form_text(form, "forward_folder") or "INBOX", "uid": forward_uid, "attachments": []}

        async def again(error: str, status: int) -> Response:
            draft = {
                **fields, "body": body, "reply_folder": form_text(form, "reply_folder"), "reply_uid": form_text(form, "reply_uid"),
                "draft_uid": form_text(form, "draft_uid"),
            }
            if fetched:
                return JSONResponse({"error": translator(self._language(request))(error)}, status_code=status)
            return self.render(
                request, "compose.html", status, user=user, folders=await self._folders(user), draft=draft,
                forward=forward, error=error, query="", search_folder="", addresses=await self._addresses(user), notice="",
                senders=await self._senders(user), sender=form_text(form, "from"),
            )

        if any(compose.has_line_break(v) for v in (*fields.values(), form_text(form, "from"))):
            return await again("A line break is not allowed in this field.", 400)
        sender = form_text(form, "from") or user.account.address
        if not await submission.may_send_as(self.mail, user.account, sender):
            # The same rule as SMTP submission (553 5.7.1): only the user's own addresses.
            return await again("You cannot send as this address.", 403)
        try:
            recipients = [a for k in ("to", "cc", "bcc") for a in compose.parse_recipients(fields[k])]
        except MailError as exc:
            return await again(exc.text, 400)
        if not saving:
            if not recipients:
                return await again("No recipient.", 400)
            # The per-user submission limits of SMTP submission (450 4.7.0, 452 4.5.3).
            if await submission.rate_limit_reached(self.mail, user.account) is not None:
                return await again("You have sent as many messages as allowed in one hour; try again later.", 429)
            most = submission.max_recipients_per_message(self.mail)
            if most and len(recipients) > most:
                return await again("Too many recipients for one message.", 400)
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
        stored: list[compose.StoredAttachment] = []
        sections: list[str] = []
        original: Content | None = None
        if forward is not None and forward_uid is not None:
            # The original's attachments go along by reference to its stored parts: never
            # uploaded again, never held whole; streamed from the part store below.
            _, _, original = await self._record(user, str(forward["folder"]), forward_uid)
            for attachment in (await reading.read_message(self.mail, original)).attachments:
                try:
                    await self.mail.part_size(original, attachment.section)
                except KeyError:
                    continue  # not a leaf of the part store (an attached message)
                stored.append(compose.StoredAttachment(attachment.filename, attachment.content_type))
                sections.append(attachment.section)
        if self.mail.media is not None and not saving:
            # RFC 3803: a recording goes out with its Content-Duration (and the message
            # with Message-Context when it is a voice or video message, RFC 3458). Not
            # for a draft: the autosave would probe every recording again each time.
            for n, upload in enumerate(uploads):
                if upload.content_type.lower().startswith(("audio/", "video/")):
                    uploads[n] = replace(upload, duration=await self.mail.media.measure(upload.data))
        draft = compose.Draft(sender, body=body, attachments=uploads, stored=stored, **fields)
        try:
            pieces = compose.build_pieces(
                draft, hostname=self.mail.config.hostname, now=self.mail.clock.now(), keep_bcc=saving
            )
        except MailError as exc:
            return await again(exc.text, 400)
        mail = self.mail

        def message() -> AsyncIterator[bytes] | bytes:
            """The message's octets; a fresh stream on each call (it is stored twice:
            for the recipients, and in Sent or Drafts)."""
            if original is None:
                return b"".join(p for p in pieces if isinstance(p, bytes))
            source = original

            async def stream() -> AsyncIterator[bytes]:
                for piece in pieces:
                    if isinstance(piece, bytes):
                        yield piece
                    else:
                        async for lines in mail.part_base64(source, sections[piece]):
                            yield lines

            return stream()

        if saving:
            drafts = await self._special(user, "\\Drafts")
            if drafts is None:
                raise MailError(Kind.NOT_FOUND, "no Drafts folder")
            saved = await self.mail.append(user.account, drafts.name, message(), flags=frozenset({"\\Draft", "\\Seen"}))
            await self._drop_draft(user, form)
            if fetched:
                return JSONResponse({"draft_uid": saved.uid, "folder": drafts.name})
            target = "/compose?" + urlencode({"mode": "draft", "folder": drafts.name, "uid": saved.uid, "notice": "Draft saved."})
            return RedirectResponse(target, status_code=303)
        local, remote = await submission.split_recipients(self.mail, recipients)
        outbound = self.mail.outbound
        if remote and outbound is None:
            # As SMTP submission without an outbound queue (451 4.3.0): refused, nothing stored.
            return await again("This server does not send mail to other domains; remove the recipients outside this server.", 400)
        known = [a for a in local if await self.mail.resolve_recipient(a)]
        unknown = [a for a in local if a not in known]
        if unknown:
            return await again(f"No such user: {', '.join(unknown)}", 400)
        received = _received(user.account.address, self.mail.config.hostname, self.mail.clock.now())
        prepend = f"Return-Path: <{sender}>\r\n".encode() + received
        try:
            if outbound is not None and remote:
                # One ingestion: the local copies and the queue entry are durable on return.
                await outbound.submit(
                    message(), sender=sender, local=known, remote=[NewQueueRecipient(a) for a in remote], prepend=prepend,
                    max_size=self.mail.config.limits.smtp.max_message_size + len(prepend),
                )
            else:
                await self.mail.deliver(message(), known, prepend=prepend)
        except UnknownRecipients as exc:  # deleted since the check above: nothing was stored
            return await again(f"No such user: {', '.join(exc.addresses)}", 400)
        await submission.count_submission(self.mail, user.account)
        sent = await self._special(user, "\\Sent")
        if sent is not None:
            await self.mail.append(user.account, sent.name, message(), flags=frozenset({"\\Seen"}))
        await self._drop_draft(user, form)
        reply_uid = parse_int(form_text(form, "reply_uid"))
        if reply_uid is not None:
            # RFC 9051 §2.3.2: \Answered on the message replied to.
            original_box = await self.mail.get_mailbox(user.account, form_text(form, "reply_folder") or "INBOX")
            await self.mail.update_flags(original_box, [reply_uid], FlagUpdate("add", frozenset({"\\Answered"})))
        return RedirectResponse("/folder/INBOX?" + urlencode({"notice": "Sent."}), status_code=303)


def _received(address: str, hostname: str, now: float) -> bytes:
    import email.utils

    # RFC 5321 §4.4: a trace field for the hop the message took into the server.
    return f"Received: from webmail by {hostname} with HTTP; {email.utils.formatdate(now)}\r\n".encode()


