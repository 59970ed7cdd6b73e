"""Media facts at ingestion (mail/'s hook into ``postoffice.media``).

After a message is stored durably by any road (delivery, APPEND, the import), each
audio or video leaf part kept as a blob of its own
(the part store's large parts) is probed in a worker thread, in the background, and its
facts stored once per blob (``store.media``): a second delivery of the same recording
finds them already there. Reading a message combines those facts with what its headers
say: ``Content-Duration`` of the part (RFC 3803), ``Message-Context`` (RFC 3458) and
``X-VoiceMessageDuration`` of the message.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

from postoffice.mail.codec import decode_bodystructure, decode_layout
from postoffice.mail.parts import SkeletonSegment, StoredMessage
from postoffice.media.containers import mp4_faststart
from postoffice.media.headers import parse_content_duration, parse_message_context, parse_voice_message_duration
from postoffice.media.probe import probe
from postoffice.media.rendition import make_rendition, plan_for
from postoffice.message.headers import split_header_block
from postoffice.message.structure import BodyPart
from postoffice.store.api import Content, FlagUpdate, Mailbox, MessageRecord, NewContent
from postoffice.store.media import MediaFacts, MediaFactsStore, Rendition

if TYPE_CHECKING:
    from postoffice.mail.service import MailService

__all__ = ["MediaService", "MessageMedia", "PartMedia", "MEDIA_TYPES", "PLAYED", "PLAYED_FRACTION"]

log = logging.getLogger(__name__)

MEDIA_TYPES = frozenset({"audio", "video"})
PLAYED = "$Played"  # keyword set once most of a message's media was played (seen over IMAP too)
PLAYED_FRACTION = 0.9


@dataclass(frozen=True, slots=True)
class PartMedia:
    section: str
    kind: str  # "audio" or "video", from the part's Content-Type
    blob_id: str  # the decoded part's blob ("" when the part store keeps it inline)
    facts: MediaFacts | None  # None until probed (or when FFmpeg cannot read it)
    declared_duration: int | None  # Content-Duration of the part (RFC 3803), else X-VoiceMessageDuration
    rendition: Rendition | None  # None until made (the original plays meanwhile), or when none is needed

    @property
    def duration(self) -> float | None:
        if self.facts is not None and self.facts.duration:
            return self.facts.duration
        return None if self.declared_duration is None else float(self.declared_duration)


@dataclass(frozen=True, slots=True)
class MessageMedia:
    context: str | None  # Message-Context (RFC 3458), or "voice-message" for X-VoiceMessageDuration
    voice_duration: int | None  # X-VoiceMessageDuration
    parts: tuple[PartMedia, ...]


def _media_leaves(root: BodyPart) -> list[BodyPart]:
    found: list[BodyPart] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_leaf and node.type.lower() in MEDIA_TYPES:
            found.append(node)
        stack.extend(reversed(node.children))
    return found


def _section_key(node: BodyPart) -> list[int]:
    return [int(x) for x in node.section.split(".") if x.isdigit()]


def _blob_of(stored: StoredMessage, section: str) -> str:
    leaf = stored.leaves.get(section)
    if leaf is None or leaf.segment < 0 or leaf.decoded_size < 0:
        return ""
    seg = stored.segments[leaf.segment]
    return "" if isinstance(seg, SkeletonSegment) else seg.blob_id


class MediaService:
    """Probes media parts after delivery and answers what a message's media are."""

    def __init__(self, mail: MailService, facts: MediaFactsStore) -> None:
        self.mail = mail
        self.facts = facts
        self._tasks: set[asyncio.Task[None]] = set()
        self._probing = asyncio.Lock()  # one FFmpeg demuxer at a time: it reads the whole part

    def ingested(self, content_id: int, content: NewContent) -> None:
        """A content was just stored (durably): probe its media parts in the background.
        A message without an audio or video part kept as a blob costs nothing here."""
        if not content.blob_ids:
            return
        structure = decode_bodystructure(content.bodystructure, content.size)
        stored = StoredMessage(decode_layout(content.layout), self.mail.blobs)
        if not any(_blob_of(stored, n.section) for n in _media_leaves(structure.root)):
            return
        task = asyncio.get_running_loop().create_task(self._probe_content(content_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait for the probes started so far (tests; shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _probe_content(self, content_id: int) -> None:
        try:
            content = await self.mail.get_content(content_id)
            stored = self.mail._stored(content)
            leaves = _media_leaves(self.mail.bodystructure(content).root)
            blobs = {b for b in (_blob_of(stored, n.section) for n in leaves) if b}
            for blob_id in sorted(blobs):
                # One blob at a time, and what is known is read inside: the same recording
                # delivered many times at once is probed and remuxed once, not per message.
                async with self._probing:
                    facts = (await self.facts.get_media_facts([blob_id])).get(blob_id)
                    if facts is None:
                        facts = await asyncio.to_thread(self._probe_blob, blob_id)
                        if facts is None:
                            continue
                        await self.facts.put_media_facts(facts)
                    if blob_id not in await self.facts.get_renditions([blob_id]):
                        rendition = await asyncio.to_thread(self._render, facts)
                        if rendition is not None:
                            await self.facts.put_rendition(rendition)  # its blob is durable: finish() synced it
        except Exception:  # a probe is an optimisation: the message is stored and readable
            log.exception("media probe of content %d failed", content_id)

    def _probe_blob(self, blob_id: str) -> MediaFacts | None:
        size = self.mail.blobs.size(blob_id)
        with self.mail.blobs.open(blob_id) as f:
            return probe(f, blob_id, size)

    def _render(self, facts: MediaFacts) -> Rendition | None:
        """The seekable rendition of one blob, stored as a blob of its own (so deduplicated
        like any part), or None when the part needs none or FFmpeg cannot make it."""
        plan = plan_for(facts)
        if plan is None:
            return None
        blobs = self.mail.blobs
        if plan.format == "mp4":
            # The index moved to the front, the media data shared with the original: the
            # rendition costs the store its index, not a second copy of the part.
            with blobs.open(facts.blob_id) as src:
                moved = mp4_faststart(src, blobs.size(facts.blob_id))
            if moved is not None:
                writer = blobs.writer()
                try:
                    writer.write(moved.head)
                    head_blob = writer.finish()
                except BaseException:
                    writer.abort()
                    raise
                return Rendition(facts.blob_id, head_blob, plan.media_type, moved.spans)
        fd, name = tempfile.mkstemp(dir=self.mail.config.spool_dir, prefix="rendition-", suffix="." + plan.format)
        os.close(fd)
        try:
            with blobs.open(facts.blob_id) as src:
                if not make_rendition(src, name, plan):
                    return None
            writer = blobs.writer()
            try:
                with open(name, "rb") as made:
                    while chunk := made.read(1024 * 1024):
                        writer.write(chunk)
                blob_id = writer.finish()
            except BaseException:
                writer.abort()
                raise
        finally:
            os.unlink(name)
        return Rendition(facts.blob_id, blob_id, plan.media_type)

    async def measure(self, data: bytes) -> float | None:
        """The duration in seconds of a recording the user is sending (the webmail's
        compose writes it as Content-Duration), None when FFmpeg cannot read it."""
        facts = await asyncio.to_thread(probe, io.BytesIO(data), "", len(data))
        return None if facts is None else facts.duration

    async def rendition_blob_ids(self, referenced: set[str]) -> set[str]:
        """Blobs of the renditions of referenced parts: alive as long as their source."""
        return await self.facts.rendition_blob_ids(referenced)

    async def rendition_size(self, rendition: Rendition) -> int:
        head = await asyncio.to_thread(self.mail.blobs.size, rendition.blob_id)
        return head + sum(length for _, length in rendition.spans)

    async def read_rendition(self, rendition: Rendition, offset: int, length: int) -> bytes:
        """Octets [offset, offset+length) of a rendition: reads of that range of its blob
        and of the spans of its source it shares, never of anything before it."""
        return await asyncio.to_thread(self._read_rendition, rendition, offset, length)

    def _read_rendition(self, rendition: Rendition, offset: int, length: int) -> bytes:
        blobs = self.mail.blobs
        pieces = [(rendition.blob_id, 0, blobs.size(rendition.blob_id))]
        pieces += [(rendition.source_blob_id, at, n) for at, n in rendition.spans]
        out: list[bytes] = []
        start = 0  # where the current piece begins in the rendition
        end = offset + length
        for blob_id, at, n in pieces:
            lo, hi = max(offset, start), min(end, start + n)
            if lo < hi:
                out.append(blobs.read(blob_id, at + lo - start, hi - lo))
            start += n
            if start >= end:
                break
        return b"".join(out)

    async def part_media(self, content: Content, section: str) -> PartMedia | None:
        """One audio or video part of a message, None when that section is not one."""
        return next((p for p in (await self.media_of(content)).parts if p.section == section), None)

    async def durations(self, contents: list[Content]) -> dict[int, float]:
        """The duration of the first audio or video part of each content that has one (a
        message list): probed facts, one store query for the whole page; for a part
        without them, what its headers declare (``Content-Duration``, RFC 3803, or the
        message's ``X-VoiceMessageDuration``), read from the header blocks only."""
        first: dict[int, tuple[Content, BodyPart, str, bool]] = {}
        for content in contents:
            leaves = sorted(_media_leaves(self.mail.bodystructure(content).root), key=_section_key)
            if not leaves:
                continue
            stored = self.mail._stored(content)
            blobs = [(n, _blob_of(stored, n.section)) for n in leaves]
            node, blob_id = next(((n, b) for n, b in blobs if b), blobs[0])  # a probed part first
            first_audio = next((n.section for n in leaves if n.type.lower() == "audio"), None)
            first[content.id] = (content, node, blob_id, node.section == first_audio)
        known = await self.facts.get_media_facts(sorted({b for _, _, b, _ in first.values() if b}))
        found: dict[int, float] = {}
        unprobed: list[tuple[int, Content, BodyPart, bool]] = []
        for content_id, (content, node, blob_id, recording) in first.items():
            facts = known.get(blob_id)
            if facts is not None and facts.duration:
                found[content_id] = facts.duration
            else:
                unprobed.append((content_id, content, node, recording))
        if unprobed:
            ranges: list[tuple[Content, int, int]] = []
            for _, content, node, _ in unprobed:
                root = self.mail.bodystructure(content).root
                ranges += [(content, root.header_offset, root.header_length), (content, node.header_offset, node.header_length)]
            blocks = await self.mail.read_many(ranges)
            for n, (content_id, _, _, recording) in enumerate(unprobed):
                top, part = _fields(blocks[2 * n]), _fields(blocks[2 * n + 1])
                declared = _or_voice(
                    parse_content_duration(part.get("content-duration")),
                    parse_voice_message_duration(top.get("x-voicemessageduration")),
                    recording,
                )
                if declared is not None:
                    found[content_id] = float(declared)
        return found

    async def positions(self, account_id: int, content: Content) -> dict[str, float]:
        """Where this user stopped in each media part of the message, by section."""
        return await self.facts.get_positions(account_id, content.id)

    async def remember_position(self, mailbox: Mailbox, record: MessageRecord, part: PartMedia, seconds: float) -> bool:
        """Store where the mailbox's owner stopped playing ``part``; once that is at least
        90% of its duration, the message gets the ``$Played`` keyword (True then)."""
        if seconds < 0 or seconds != seconds:  # negative or NaN: nothing a player reports
            raise ValueError("not a position")
        duration = part.duration
        if duration is not None:
            seconds = min(seconds, duration)
        await self.facts.put_position(
            mailbox.account_id, record.content_id, part.section, seconds, self.mail.clock.now()
        )
        if duration is None or seconds < PLAYED_FRACTION * duration:
            return False
        if PLAYED not in record.flags:
            await self.mail.update_flags(mailbox, [record.uid], FlagUpdate("add", frozenset({PLAYED})))
        return True

    async def media_of(self, content: Content) -> MessageMedia:
        """The message's audio and video parts with their facts and declared durations."""
        structure = self.mail.bodystructure(content)
        stored = self.mail._stored(content)
        leaves = sorted(_media_leaves(structure.root), key=_section_key)
        ranges = [(content, structure.root.header_offset, structure.root.header_length)]
        ranges += [(content, n.header_offset, n.header_length) for n in leaves]
        blocks = await self.mail.read_many(ranges)
        top = _fields(blocks[0])
        blob_ids = {n.section: _blob_of(stored, n.section) for n in leaves}
        known = await self.facts.get_media_facts(sorted(b for b in blob_ids.values() if b))
        made = await self.facts.get_renditions(sorted(b for b in blob_ids.values() if b))
        voice = parse_voice_message_duration(top.get("x-voicemessageduration"))
        # Outlook's X-VoiceMessageDuration is the time of the message's recording: its
        # first audio part, when that part declares none of its own (RFC 3803).
        first_audio = next((n.section for n in leaves if n.type.lower() == "audio"), None)
        parts = tuple(
            PartMedia(
                n.section,
                n.type.lower(),
                blob_ids[n.section],
                known.get(blob_ids[n.section]),
                _or_voice(parse_content_duration(_fields(block).get("content-duration")), voice, n.section == first_audio),
                made.get(blob_ids[n.section]),
            )
            for n, block in zip(leaves, blocks[1:], strict=True)
        )
        context = parse_message_context(top.get("message-context"))
        if context is None and voice is not None:
            context = "voice-message"
        return MessageMedia(context, voice, parts)


def _or_voice(declared: int | None, voice: int | None, recording: bool) -> int | None:
    return voice if declared is None and recording else declared


def _fields(block: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in split_header_block(block):
        fields.setdefault(name.lower(), value.decode("latin-1"))
    return fields
