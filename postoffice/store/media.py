"""The media role of the store: what ingestion learnt about an audio or video part.

Facts belong to a blob (the decoded octets of a large part, content-addressed), not to
a message: the same recording delivered to fifty mailboxes is probed and stored once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["Cue", "MediaFacts", "MediaFactsStore", "Rendition"]


@dataclass(frozen=True, slots=True)
class Cue:
    """A keyframe: where playback can start. ``offset`` is the octet where its packet
    begins in the part (-1 when the container does not say)."""

    seconds: float
    offset: int


@dataclass(frozen=True, slots=True)
class MediaFacts:
    blob_id: str  # SHA-256 of the decoded part
    container: str  # the demuxer's name, e.g. "matroska,webm", "mov,mp4,m4a,3gp,3g2,mj2", "wav"
    audio_codec: str  # "" when there is no audio stream
    video_codec: str  # "" when there is no video stream
    duration: float | None  # seconds; None when neither the container nor its packets say
    bitrate: int  # bits per second over the whole part (0 when unknown)
    cues: tuple[Cue, ...]  # keyframes in time order, at most about one a second
    # A browser can start it early and seek in it as it is: an MP4 with its index (moov)
    # before the media data, a WebM with Duration and Cues. False: a rendition is made.
    seekable: bool = False


@dataclass(frozen=True, slots=True)
class Rendition:
    """A seekable rendition of the part stored as ``source_blob_id``."""

    source_blob_id: str
    blob_id: str
    media_type: str  # e.g. "video/webm", "audio/webm", "video/mp4"
    # (offset, length) spans of the source blob that follow the octets of ``blob_id``, in
    # order: an MP4 whose index was moved to its front shares its media data with the
    # original (media/containers.py). Empty: the rendition is ``blob_id`` alone.
    spans: tuple[tuple[int, int], ...] = ()

    @property
    def tag(self) -> str:
        """A strong validator of the rendition's octets (its ETag)."""
        return self.blob_id if not self.spans else f"{self.blob_id}-{self.source_blob_id[:32]}"


class MediaFactsStore(Protocol):
    async def put_media_facts(self, facts: MediaFacts) -> None:
        """Store (or replace) the facts of one blob."""
        ...

    async def get_media_facts(self, blob_ids: list[str]) -> dict[str, MediaFacts]:
        """The facts known for these blobs (absent ones are left out)."""
        ...

    async def put_rendition(self, rendition: Rendition) -> None:
        """Record a rendition whose blob is durable."""
        ...

    async def get_renditions(self, source_blob_ids: list[str]) -> dict[str, Rendition]:
        """The renditions made of these source blobs, by source."""
        ...

    async def rendition_blob_ids(self, source_blob_ids: set[str]) -> set[str]:
        """The blobs of the renditions of these sources (the garbage collector keeps them)."""
        ...

    async def put_position(self, account_id: int, content_id: int, section: str, seconds: float, now: float) -> None:
        """Where ``account_id`` stopped playing a part."""
        ...

    async def get_positions(self, account_id: int, content_id: int) -> dict[str, float]:
        """The positions of that user in the parts of one content, by section."""
        ...
