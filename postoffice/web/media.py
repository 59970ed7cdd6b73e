"""Audio and video in the webmail: inline players, their media endpoint, and where each
user stopped (mail/media.py keeps it; ``$Played`` is set at 90%).

- ``GET|HEAD /message/{uid}/media/{section}``: the part's seekable rendition when it is
  ready (mail/media.py), else the original part; ranged as RFC 9110 §14 says
  (web/ranges.py). The original stays at ``/message/{uid}/part/{section}`` (downloads).
  Bounded waste (``[limits.http]``): an open-ended range gets at most ``media_cap_video``
  or ``media_cap_audio`` octets, and after a first burst of ``media_burst`` seconds of
  media the viewer's requests for the part share one budget refilled at ``media_pace``
  times its bitrate (web/pacing.py). ``?download=1``: the original as an attachment,
  neither capped nor paced. Metrics (players' answers, not downloads): the media octets
  sent, and the octets an answer announced but never sent because the viewer stopped
  first (what the cap and the pacing saved).
- ``POST /message/{uid}/media/{section}/position``: ``seconds``, with the form token.
- ``players(...)``: what the message page shows for each media part: ``<audio>`` or
  ``<video preload="metadata">``, its duration before playing, a voice-message badge,
  the position to resume at. The page's URL names the file it plays (``source=``), so a
  rendition made while a page plays the original does not replace it under the player.
"""

from __future__ import annotations

import asyncio
import math
import re
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from postoffice.errors import Kind, MailError
from postoffice.mail.media import MediaService, PartMedia
from postoffice.mail.web import SignedIn
from postoffice.observe import metrics
from postoffice.store.api import Content, MessageRecord
from postoffice.web.base import PageBase, form_text
from postoffice.web.pacing import Pacer
from postoffice.web.ranges import Reader, ranged_response
from postoffice.web.security import download_headers

__all__ = ["MediaPages", "Player", "clock_text"]

_MEDIA_TYPE = re.compile(r"(audio|video)/[a-z0-9][a-z0-9!#$&^_.+-]*")


def clock_text(seconds: float | None) -> str:
    """1:05, 1:02:03; "" when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(frozen=True, slots=True)
class Player:
    section: str
    kind: str  # "audio" or "video": the element used
    duration: float | None
    duration_text: str
    position: float  # where this user stopped (0: from the start)
    voice: bool  # a voice message (RFC 3458 Message-Context), shown as a badge
    # "rendition" or "original": pinned in the page's media URL, so a rendition finished
    # while the page plays never swaps the octets under the player's ranges
    source: str


_PACED_CHUNK = 32 * 1024  # octets sent per budget check when paced


class MediaPages(PageBase):
    """The media routes and the players of the message page."""

    _pacer: Pacer | None = None

    def media_routes(self) -> list[BaseRoute]:
        return [
            Route("/message/{uid:int}/media/{section}", self.media_part, methods=["GET", "HEAD"]),
            Route("/message/{uid:int}/media/{section}/position", self.media_position, methods=["POST"]),
        ]

    @property
    def _media(self) -> MediaService:
        if self.mail.media is None:
            raise MailError(Kind.NOT_FOUND, "media are not served here")
        return self.mail.media

    async def _part(self, content: Content, section: str) -> PartMedia:
        part = await self._media.part_media(content, section)
        if part is None:
            raise MailError(Kind.NOT_FOUND, "no such audio or video part")
        return part

    async def players(self, user: SignedIn, content: Content) -> list[Player]:
        if self.mail.media is None:
            return []
        media = await self.mail.media.media_of(content)
        if not media.parts:
            return []
        positions = await self.mail.media.positions(user.account.id, content)
        voice = media.context == "voice-message"
        return [
            Player(
                p.section,
                p.kind,
                p.duration,
                clock_text(p.duration),
                positions.get(p.section, 0.0),
                voice and p.kind == "audio",
                "original" if p.rendition is None else "rendition",
            )
            for p in media.parts
        ]

    async def add_durations(self, records: list[MessageRecord], rows: list[dict[str, Any]]) -> None:
        """Each listed message with a recording of known duration (probed, or declared in its
        headers) gets it (``row["duration"]``)."""
        if self.mail.media is None or not any(row.get("attachment") for row in rows):
            return
        contents = await self.mail.get_contents([r.content_id for r in records])
        durations = await self.mail.media.durations(list(contents.values()))
        by_uid = {r.uid: durations.get(r.content_id) for r in records}
        for row in rows:
            seconds = by_uid.get(row["uid"])
            if seconds is not None:
                row["duration"] = clock_text(seconds)

    async def media_part(self, request: Request) -> Response:
        user = await self._signed_in(request)
        _, _, content = await self._record(
            user, request.query_params.get("folder", "INBOX"), request.path_params["uid"]
        )
        section = request.path_params["section"]
        part = await self._part(content, section)
        media, mail = self._media, self.mail
        limits = mail.config.limits.http
        download = request.query_params.get("download") == "1"
        headers = download_headers(f"{part.kind}-{section}", inline=not download)
        read: Reader
        rendition = part.rendition
        if rendition is not None and not download and request.query_params.get("source") != "original":
            chosen = rendition

            async def read_rendition(offset: int, length: int) -> bytes:
                return await media.read_rendition(chosen, offset, length)

            size, etag, media_type, read = (
                await media.rendition_size(rendition),
                rendition.tag,
                rendition.media_type,
                read_rendition,
            )
        else:  # a download, or the rendition is not ready yet (or none is needed): the original
            node = mail.bodystructure(content).sections.get(section)
            media_type = f"{node.type}/{node.subtype}".lower() if node is not None else ""
            if not _MEDIA_TYPE.fullmatch(media_type):
                media_type = f"{part.kind}/octet-stream"

            async def read_original(offset: int, length: int) -> bytes:
                return await mail.read_part(content, section, offset, length)

            size, etag, read = await mail.part_size(content, section), mail.part_tag(content, section), read_original
        if download:
            return ranged_response(
                request,
                size=size,
                etag=etag,
                media_type=media_type,
                headers=headers,
                read=read,
                max_ranges=limits.max_ranges,
            )
        duration = part.duration
        chunk = 256 * 1024
        if duration and limits.media_pace > 0:
            byte_rate = size / duration  # of the file served: the rendition's own rate when it is one
            if self._pacer is None:
                self._pacer = Pacer()
            budget = self._pacer.budget(
                (user.session.token_hash, content.id, section),
                limits.media_pace * byte_rate,
                limits.media_burst * byte_rate,
            )
            unpaced = read
            chunk = _PACED_CHUNK

            async def paced(offset: int, length: int) -> bytes:
                wait = budget.take(length)
                if wait > 0:
                    await asyncio.sleep(wait)  # the pacing itself: this viewer's share of the rate
                return await unpaced(offset, length)

            read = paced
        cap = limits.media_cap_video if part.kind == "video" else limits.media_cap_audio
        kind = part.kind

        def tally(announced: int, sent: int) -> None:
            metrics.M.media_sent.labels(kind).inc(sent)
            # What the viewer stopped before (a paced or capped answer cut short): never read, never sent.
            metrics.M.media_saved.labels(kind).inc(announced - sent)

        return ranged_response(
            request,
            size=size,
            etag=etag,
            media_type=media_type,
            headers=headers,
            read=read,
            max_ranges=limits.max_ranges,
            chunk=chunk,
            open_cap=cap,
            tally=tally,
        )

    async def media_position(self, request: Request) -> Response:
        user = await self._signed_in(request)
        form = await self._form(request, user)
        mailbox, record, content = await self._record(
            user, form_text(form, "folder") or "INBOX", request.path_params["uid"]
        )
        part = await self._part(content, request.path_params["section"])
        try:
            seconds = float(form_text(form, "seconds"))
        except ValueError:
            raise MailError(Kind.INVALID, "seconds: a number expected")
        if not math.isfinite(seconds) or seconds < 0:
            raise MailError(Kind.INVALID, "seconds: a position expected")
        await self._media.remember_position(mailbox, record, part, seconds)
        return Response(status_code=204)
